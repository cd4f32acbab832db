// The phased transaction source: keys are user ids, phase changes go to
// phase-transitions, and a restart continues after the last event number this seed produced.

import { Gauge } from 'prom-client'
import { phaseNumber } from '../core/events.ts'
import { PhasedGenerator, phaseOf, phaseTransitionAt } from '../core/sources/phased.ts'
import { readTail } from '../kafka/tail.ts'
import { type KafkaSide, type PreparedSource, pacingFrom, type SourceDefinition } from './source.ts'

/** Records read back from the end of each partition to find where this seed stopped. */
export const resumeLookback = 2_000
const labelWindow = 1_000

/** Transaction ids of a seed's events start with this (see PhasedGenerator). */
export function transactionIdPrefix(seed: number): string {
  return `txn-${(seed >>> 0).toString(16).padStart(8, '0')}-`
}

/** Event number after the last one this seed produced to `topic`, or 0. */
export async function resumePoint(kafka: KafkaSide, seed: number): Promise<number> {
  const prefix = transactionIdPrefix(seed)
  const records = await readTail(kafka.context, kafka.admin, kafka.topic, resumeLookback)
  let last = -1
  for (const record of records) {
    if (!record.value) continue
    let value: { kind?: unknown; transaction_id?: unknown; event_number?: unknown }
    try {
      value = JSON.parse(record.value.toString('utf8'))
    } catch {
      continue
    }
    if (
      value.kind === 'transaction' &&
      typeof value.transaction_id === 'string' &&
      value.transaction_id.startsWith(prefix) &&
      typeof value.event_number === 'number' &&
      value.event_number > last
    ) {
      last = value.event_number
    }
  }
  return last + 1
}

export const phasedSource: SourceDefinition<undefined> = {
  name: 'phased',
  description: 'card transactions cycling normal → drift → attack every 250,000 events, with ground-truth labels',
  sections: ['phased'],
  extraTopics: ['phaseTransitions'],
  load: async () => undefined,
  async prepare(_loaded, kafka): Promise<PreparedSource> {
    const seed = kafka.config['source.seed']
    const generator = new PhasedGenerator({ seed })
    if (kafka.config['phased.resume']) {
      const from = await resumePoint(kafka, seed)
      if (from > 0) {
        const started = performance.now()
        generator.fastForward(from)
        kafka.log.info(`resuming seed ${seed} at event ${from}`, {
          fastForwardMs: Math.round(performance.now() - started),
        })
      }
    }
    const phaseTopic = kafka.topicOf('phaseTransitions')
    const currentPhase = new Gauge({
      name: 'current_phase',
      help: 'phase of the last event: 0 normal, 1 drift, 2 attack',
      registers: [kafka.registry],
    })
    const labelRate = new Gauge({
      name: 'anomaly_label_rate',
      help: 'share of anomaly_label = 1 over the last 1,000 events',
      registers: [kafka.registry],
    })
    const labels = new Uint8Array(labelWindow)
    let labelCount = 0
    let labelled = 0
    currentPhase.set(phaseNumber[phaseOf(generator.eventNumber)])
    return {
      pacing: pacingFrom(kafka.config, { kind: 'rate', eventsPerSecond: 100 }),
      events: {
        next(nowMs) {
          const seconds = nowMs / 1000
          const event = generator.next(seconds)
          const slot = event.event_number % labelWindow
          labelled += event.anomaly_label - labels[slot]!
          labels[slot] = event.anomaly_label
          if (labelCount < labelWindow) labelCount++
          if (slot % 100 === 0) labelRate.set(labelled / labelCount)
          const transition = phaseTransitionAt(event.event_number, seconds)
          if (transition === undefined) return { key: event.user_id, value: event }
          currentPhase.set(event.phase_number)
          kafka.log.info(`phase ${transition.phase} begins at event ${transition.event_number}`)
          return {
            key: event.user_id,
            value: event,
            also: [{ topic: phaseTopic, key: transition.phase, value: transition }],
          }
        },
      },
    }
  },
}
