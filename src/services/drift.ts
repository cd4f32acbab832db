import {
  type DriftEvent,
  DriftMonitor,
  type DriftMonitorOptions,
  type DriftMonitorState,
} from '../core/drift/monitor.ts'
import type { EventKind } from '../core/features/index.ts'
import { decodeScored, type ScoredEvent } from '../core/pipeline/events.ts'
import type { OutputRecord, Processor } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'
import type { ServiceDefinition } from './service.ts'

export interface DriftServiceOptions {
  topicPrefix: string
  monitor: DriftMonitorOptions
}

/** A drift as written to `drift-events` (keyed by kind). */
export interface DriftRecord extends DriftEvent {
  kind: EventKind
  /** The input partition whose share of the stream the detectors watched. */
  partition: number
}

/** A request as written to `retraining-triggers` (keyed by kind). */
export interface RetrainingTrigger {
  reason: string
  kind: EventKind
  /** The data to train on: from the drift to the trigger, in event time (and event number when known). */
  range: { fromEventTime: number; toEventTime: number; fromEventNumber?: number; toEventNumber?: number }
  drift: DriftRecord
  partition: number
  requestedAt: string
}

const monitorKey = (kind: EventKind) => `monitor:${kind}`

/**
 * drift: anomaly-scores → drift-events, retraining-triggers. One DriftMonitor per stream (event
 * kind) and input partition, kept in the partition's store (so it survives restarts and moves
 * with the partition). Each partition's detectors watch its share of the stream; the trainer
 * merges the triggers of several partitions raised by one shift into one retrain.
 */
export function driftProcessor(options: DriftServiceOptions): Processor<ScoredEvent> {
  const driftTopic = topicName(options.topicPrefix, 'driftEvents')
  const triggerTopic = topicName(options.topicPrefix, 'retrainingTriggers')
  return {
    name: 'drift',
    decode: (value) => decodeScored(value.toString()),
    process(records, { partition, store }) {
      const outputs: OutputRecord[] = []
      const monitors = new Map<EventKind, DriftMonitor>()
      for (const record of records) {
        const event = record.value
        let monitor = monitors.get(event.kind)
        if (!monitor) {
          const saved = store.get<DriftMonitorState>(monitorKey(event.kind))
          monitor = new DriftMonitor(options.monitor, saved)
          monitors.set(event.kind, monitor)
        }
        const { drift, request } = monitor.update(event)
        if (drift) {
          const value: DriftRecord = { ...drift, kind: event.kind, partition }
          outputs.push({ topic: driftTopic, key: event.kind, value: JSON.stringify(value) })
        }
        if (request) {
          const trigger: RetrainingTrigger = {
            reason: request.reason,
            kind: event.kind,
            range: request.range,
            drift: { ...request.drift, kind: event.kind, partition },
            partition,
            requestedAt: new Date().toISOString(),
          }
          outputs.push({ topic: triggerTopic, key: event.kind, value: JSON.stringify(trigger) })
        }
      }
      for (const [kind, monitor] of monitors) store.put(monitorKey(kind), monitor.toJSON())
      return outputs
    },
  }
}

export const driftService: ServiceDefinition = {
  name: 'drift',
  description: 'anomaly-scores → drift-events and retraining-triggers, per event kind and partition',
  section: 'drift',
  async start(context) {
    const { config, kafka } = context
    const options: DriftServiceOptions = {
      topicPrefix: kafka.topicPrefix,
      monitor: {
        threshold: config['score.threshold'],
        cooldownEvents: config['drift.cooldownEvents'],
        trainWindowEvents: config['drift.trainWindowEvents'],
      },
    }
    return { runtimes: context.processorRuntimes('anomalyScores', () => driftProcessor(options)) }
  },
}
