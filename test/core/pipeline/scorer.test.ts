import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Payment } from '../../../src/core/events.ts'
import { builtInKinds, detectorNames, kindOf, labelOf } from '../../../src/core/kinds.ts'
import { enrich } from '../../../src/core/pipeline/events.ts'
import { PartitionScorer } from '../../../src/core/pipeline/scorer.ts'
import { PaymentGenerator } from '../../../src/core/sources/payments.ts'
import { PhasedGenerator } from '../../../src/core/sources/phased.ts'
import { OfflinePipeline } from '../../../src/offline/offline.ts'

const start = Date.UTC(2025, 0, 1)
const template = new PaymentGenerator({ seed: 7, startTimeMs: start }).next(0)

/** One customer's payments: the amounts given, `gapSeconds` apart. */
function payments(amounts: readonly number[], gapSeconds: number): Payment[] {
  return amounts.map((amount, i) => ({
    ...template,
    transaction_id: `p${i}`,
    customer_id: 'customer-1',
    timestamp: new Date(start + i * gapSeconds * 1000).toISOString(),
    amount,
    is_fraud: false,
  }))
}

function rulesFired(events: readonly Payment[], options = {}): string[][] {
  const pipeline = new OfflinePipeline({ partitions: 1, ...options })
  return events.map((event) => pipeline.process(event).rules)
}

test('a burst of high-value payments alerts once: on the payment that completes it, not on the ones after', () => {
  // three payments over 1,000,000 among the last ten, then ordinary ones an hour apart
  const fired = rulesFired(payments([2_000_000, 2_000_000, 2_000_000, 500, 600, 700, 800, 900, 1000, 1100], 3600))
  assert.deepEqual(
    fired.map((rules, i) => (rules.includes('high_value_burst') ? i : -1)).filter((i) => i >= 0),
    [2],
  )
})

test('the payment rules run with the thresholds they are given (score.* settings)', () => {
  const events = payments([600, 700, 800], 3600)
  assert.deepEqual(rulesFired(events).flat(), [])
  const fired = rulesFired(events, { rules: { payment: { highValueAmount: 500, highValueCount: 2 } } })
  assert.deepEqual(fired, [[], ['high_value_burst'], ['high_value_burst']])
})

test('rapid_fire: five payments within a minute fire it, rated medium by the tested rules', () => {
  const events = payments([10, 20, 30, 40, 50], 5)
  const fired = rulesFired(events)
  assert.deepEqual(fired[4], ['rapid_fire'])
  assert.deepEqual(fired.slice(0, 4).flat(), [])
})

test("the payment rule state is part of the scorer's checkpoint: a restored scorer continues the burst", () => {
  const events = payments([2_000_000, 2_000_000, 2_000_000], 3600)
  const enriched = []
  let state: unknown
  for (const event of events) {
    const step = enrich(event, state)
    state = step.nextState
    enriched.push(step.enriched)
  }
  const first = new PartitionScorer(() => undefined, 1)
  first.score(enriched[0]!)
  first.score(enriched[1]!)
  const restored = new PartitionScorer(() => undefined, 1, JSON.parse(JSON.stringify(first.toJSON())))
  assert.deepEqual(restored.score(enriched[2]!).rules, ['high_value_burst'])
})

test('transactions: the scorer reports the label rules the phased generator labelled with', () => {
  const generator = new PhasedGenerator({ seed: 3 })
  generator.fastForward(200_000)
  const pipeline = new OfflinePipeline({ partitions: 2 })
  for (let i = 0; i < 2_000; i++) {
    const event = generator.next(0)
    const scored = pipeline.process(event)
    const ruleOfLabel = event.label_rule >= 1 && event.label_rule <= 5 ? event.label_rule : 0
    assert.equal(scored.rules.length > 0, ruleOfLabel > 0, `event ${event.event_number}`)
    assert.equal(scored.label, labelOf(event))
    assert.equal(scored.phase, 'attack')
  }
})

test('every kind has a registry entry whose detectors are reported names', () => {
  for (const entry of builtInKinds.map(kindOf)) {
    if (entry.entityDetector) assert.ok(detectorNames.includes(entry.entityDetector.name))
    assert.equal(typeof entry.truth, 'function')
  }
})
