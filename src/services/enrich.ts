import type { LookoutEvent } from '../core/events.ts'
import { type FeatureKind, featureKinds } from '../core/features/index.ts'
import { decodeEvent, enrich, entityKeyOf } from '../core/pipeline/events.ts'
import type { OutputRecord, Processor } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'
import type { ServiceDefinition } from './service.ts'

/**
 * Largest magnitude a number in an event may have: beyond it numbers are no longer exact
 * integers, and one such amount would swamp its entity's running mean and variance for good.
 */
export const maxEventNumber = Number.MAX_SAFE_INTEGER

/** Throws (a dead-letter reason) for a number in the event beyond ±`maxEventNumber`. */
function checkMagnitudes(value: unknown, path: string): void {
  if (typeof value === 'number') {
    if (Math.abs(value) > maxEventNumber)
      throw new Error(`field ${path} is out of range: ${value} (numbers must be within ±${maxEventNumber})`)
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) checkMagnitudes(value[i], `${path}.${i}`)
  } else if (value !== null && typeof value === 'object') {
    for (const key in value) checkMagnitudes((value as Record<string, unknown>)[key], path ? `${path}.${key}` : key)
  }
}

/**
 * enrich: raw events → per-entity features. The entity's state (running averages, windows,
 * known devices) lives in the partition's store and its changelog, keyed by entity.
 */
export function enrichProcessor(topicPrefix: string): Processor<LookoutEvent> {
  const output = topicName(topicPrefix, 'enrichedFeatures')
  return {
    name: 'enrich',
    decode(value) {
      const event = decodeEvent(value.toString())
      checkMagnitudes(event, '')
      // validates the event time now, so a malformed timestamp is a dead letter, not a crash
      ;(featureKinds[event.kind] as unknown as FeatureKind<LookoutEvent, unknown>).eventTimeMs(event)
      return event
    },
    process(records, { store }) {
      const outputs: OutputRecord[] = new Array(records.length)
      for (let i = 0; i < records.length; i++) {
        const event = records[i]!.value
        const entity = entityKeyOf(event)
        const { enriched, nextState } = enrich(event, store.get(entity))
        // a feature that is not finite would travel as null and break the entity's state
        const bad = enriched.features.findIndex((feature) => !Number.isFinite(feature))
        if (bad >= 0)
          throw new Error(`feature ${bad} of ${enriched.id} is ${enriched.features[bad]}, not a finite number`)
        store.put(entity, nextState)
        outputs[i] = { topic: output, key: entity, value: JSON.stringify(enriched) }
      }
      return outputs
    },
  }
}

export const enrichService: ServiceDefinition = {
  name: 'enrich',
  description: 'raw events → per-entity features (raw-transactions → enriched-features)',
  section: 'enrich',
  async start(context) {
    const prefix = context.kafka.topicPrefix
    return { runtimes: context.processorRuntimes('rawTransactions', () => enrichProcessor(prefix)) }
  },
}
