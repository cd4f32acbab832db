import { entityKeyOf } from '../../src/core/features/index.ts'
import { type EnrichedEvent, enrich } from '../../src/core/pipeline/events.ts'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import type { KafkaContext } from '../../src/kafka/context.ts'
import { ModelRegistry, waitForLive } from '../../src/services/models.ts'
import { trainAndPublish } from '../../src/services/train.ts'

/** Enriched phased transactions, as the enrich service would write them. */
export function enrichedPhased(seed: number, count: number): EnrichedEvent[] {
  const generator = new PhasedGenerator({ seed })
  const state = new Map<string, unknown>()
  return Array.from({ length: count }, () => {
    const event = generator.next(Date.now() / 1000)
    const entity = entityKeyOf(event)
    const { enriched, nextState } = enrich(event, state.get(entity))
    state.set(entity, nextState)
    return enriched
  })
}

/**
 * Trains and publishes two transaction models through the trainer's own code: v1 goes live
 * (the first version of the kind), v2 (its child) into shadow.
 */
export async function publishTwoModels(context: KafkaContext, dataDir: string): Promise<void> {
  const registry = new ModelRegistry(context)
  await registry.start()
  try {
    const events = enrichedPhased(3, 3_000)
    for (const [index, slice] of [events.slice(0, 1_500), events.slice(1_500)].entries()) {
      await trainAndPublish(context, dataDir, registry, {
        kind: 'transaction',
        events: slice,
        source: 'test',
        from: index * 1_500,
        to: (index + 1) * 1_500,
        reason: `test model ${index + 1}`,
        train: { nTrees: 20, sampleSize: 128 },
      })
      // the next one is trained beside the live one, once the registry has read its pointer back
      if (index === 0 && !(await waitForLive(registry, 'transaction', 'transaction-v1')))
        throw new Error('transaction-v1 did not become live')
    }
  } finally {
    await registry.stop()
  }
}
