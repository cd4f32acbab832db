import type { LookoutEvent } from '../core/events.ts'
import { type FeatureKind, featureKinds } from '../core/features/index.ts'
import { decodeEvent, enrich, entityKeyOf } from '../core/pipeline/events.ts'
import type { OutputRecord, Processor } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'
import type { ServiceDefinition } from './service.ts'

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
