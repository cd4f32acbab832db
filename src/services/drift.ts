import { Gauge, type Registry } from 'prom-client'
import {
  type DriftEvent,
  DriftMonitor,
  type DriftMonitorOptions,
  type DriftMonitorState,
} from '../core/drift/monitor.ts'
import type { EventKind } from '../core/features/index.ts'
import { decodeWithLabels, joinEvent, joinLabel, type WithLabels } from '../core/feedback-join.ts'
import { decodeScored, type ScoredEvent } from '../core/pipeline/events.ts'
import type { OutputRecord, Processor } from '../kafka/processor.ts'
import { changelogTopic, topicName } from '../kafka/topics.ts'
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

/** What the drift service remembers of a flagged event without ground truth, for a later mark. */
interface Markable {
  kind: EventKind
  flagged: boolean
  modelVersion: string | null
  eventTime: number
}

/** The drift service's gauges of its monitors' committed state. */
export function driftMetrics(registry?: Registry): Gauge<'kind' | 'partition' | 'source'> {
  return new Gauge({
    name: 'drift_ddm_labels',
    help: "labels DDM counted (source: the event's own ground truth, or an analyst's mark joined later), per stream and partition",
    labelNames: ['kind', 'partition', 'source'],
    registers: registry ? [registry] : [],
  })
}

/**
 * drift: anomaly-scores and labels → drift-events, retraining-triggers. One DriftMonitor per
 * stream (event kind) and input partition, kept in the partition's store (so it survives
 * restarts and moves with the partition). Each partition's detectors watch its share of the
 * stream; the trainer merges the triggers of several partitions raised by one shift into one
 * retrain. Analysts' marks (the labels topic, co-partitioned by entity) join the flagged events
 * without ground truth in the same store (see feedback-join.ts) and feed DDM their error.
 */
export function driftProcessor(
  options: DriftServiceOptions,
  labelled?: Gauge<'kind' | 'partition' | 'source'>,
): Processor<WithLabels<ScoredEvent>> {
  const driftTopic = topicName(options.topicPrefix, 'driftEvents')
  const triggerTopic = topicName(options.topicPrefix, 'retrainingTriggers')
  const changelog = changelogTopic(options.topicPrefix, 'lookout-drift', 'state')
  return {
    name: 'drift',
    decode: decodeWithLabels(topicName(options.topicPrefix, 'labels'), (value) => decodeScored(value.toString())),
    process(records, { partition, store }) {
      const outputs: OutputRecord[] = []
      const monitors = new Map<EventKind, DriftMonitor>()
      const monitorOf = (kind: EventKind) => {
        let monitor = monitors.get(kind)
        if (!monitor) {
          monitor = new DriftMonitor(options.monitor, store.get<DriftMonitorState>(monitorKey(kind)))
          monitors.set(kind, monitor)
        }
        return monitor
      }
      const publish = (kind: EventKind, { drift, request }: ReturnType<DriftMonitor['update']>) => {
        if (drift) {
          const value: DriftRecord = { ...drift, kind, partition }
          outputs.push({ topic: driftTopic, key: kind, value: JSON.stringify(value) })
        }
        if (request) {
          const trigger: RetrainingTrigger = {
            reason: request.reason,
            kind,
            range: request.range,
            drift: { ...request.drift, kind, partition },
            partition,
            requestedAt: new Date().toISOString(),
          }
          outputs.push({ topic: triggerTopic, key: kind, value: JSON.stringify(trigger) })
        }
      }
      const markError = (event: Markable, label: 0 | 1) =>
        publish(event.kind, monitorOf(event.kind).updateLabel({ ...event, error: event.flagged !== (label === 1) }))
      for (const record of records) {
        if ('label' in record.value) {
          const joined = joinLabel<Markable>(store, record.value.label)
          if (joined.outcome === 'joined') markError(joined.event, record.value.label.label)
          continue
        }
        const event = record.value.event
        publish(event.kind, monitorOf(event.kind).update(event))
        // an event with ground truth keeps it: a mark of it is never joined
        if (event.label !== undefined) continue
        const flagged = event.score >= options.monitor.threshold
        const markable: Markable & { id: string } = {
          id: event.id,
          kind: event.kind,
          flagged,
          modelVersion: event.modelVersion,
          eventTime: event.eventTime,
        }
        const waiting = joinEvent(store, event.entity, markable, flagged)
        if (waiting) markError(markable, waiting.label)
      }
      for (const [kind, monitor] of monitors) store.put(monitorKey(kind), monitor.toJSON())
      return outputs
    },
    afterCommit(outputs) {
      if (!labelled) return
      for (const output of outputs) {
        if (output.topic !== changelog || !output.key?.startsWith('monitor:') || !output.value.length) continue
        const state = JSON.parse(output.value.toString()) as DriftMonitorState
        const labels = { kind: output.key.slice('monitor:'.length), partition: String(output.partition) }
        labelled.set({ ...labels, source: 'event' }, state.labelled?.event ?? 0)
        labelled.set({ ...labels, source: 'analyst' }, state.labelled?.analyst ?? 0)
      }
    },
  }
}

export const driftService: ServiceDefinition = {
  name: 'drift',
  description:
    'anomaly-scores and analysts’ labels → drift-events and retraining-triggers, per event kind and partition',
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
    const labelled = driftMetrics(context.registry)
    return { runtimes: context.processorRuntimes(['anomalyScores', 'labels'], () => driftProcessor(options, labelled)) }
  },
}
