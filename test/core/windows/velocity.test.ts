// The scorer's rapid_fire rule and the aggregate service's customer-velocity windows agree: the
// rule fires on a payment exactly when a customer-velocity window holding it reaches the rule's
// count as that payment arrives, and a window's final count reaches it exactly when the rule
// fired on one of its payments. Both assign windows with the same code (velocityWindow,
// windowStarts); this test pins the agreement on random streams with bursts.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { type PaymentPatternState, paymentPatternStep, paymentRuleDefaults } from '../../../src/core/anomaly/rules.ts'
import { Random } from '../../../src/core/random.ts'
import { builtInAggregations } from '../../../src/core/windows/aggregation.ts'
import { WindowAggregator, type WindowResult } from '../../../src/core/windows/aggregator.ts'
import { velocityWindow } from '../../../src/core/windows/window.ts'
import { StateStore } from '../../../src/kafka/state-store.ts'

const t0 = 1_767_225_600_000

for (const seed of [11, 12, 13, 14]) {
  test(`seed ${seed}: rapid_fire fires exactly on the payments that bring a customer-velocity window to the limit or beyond`, () => {
    const random = new Random(seed)
    const velocity = velocityWindow(paymentRuleDefaults)
    const customerVelocity = builtInAggregations({ velocity, graceMs: 0 }).find((d) => d.name === 'customer-velocity')!
    // update mode here, to see each window's count as every payment arrives
    const aggregator = new WindowAggregator([{ ...customerVelocity, emit: 'update' }], {
      sources: 1,
      latenessMs: 0,
      idleTimeoutMs: 1e12,
      maxOpenWindows: 1e9,
    })
    const store = new StateStore()
    const states = new Map<string, PaymentPatternState>()
    const fired = new Set<number>()
    const reached = new Set<number>()
    const finals: WindowResult[] = []
    const windowsFiredIn = new Set<string>()
    let clock = t0
    let payments = 0
    for (let n = 0; n < 4_000; n++) {
      // mostly sparse traffic, with bursts of 3–9 payments 1–15 s apart
      const customer = `c${random.integer(0, 19)}`
      clock += random.integer(0, 20_000)
      const times = random.bernoulli(0.1)
        ? Array.from({ length: random.integer(3, 9) }, () => (clock += random.integer(1_000, 15_000)))
        : [clock]
      for (const timeMs of times) {
        const step = paymentPatternStep(states.get(customer), { amount: 1_000, timestamp: timeMs })
        states.set(customer, step.nextState)
        const index = payments++
        if (step.hits.some((hit) => hit.rule === 'rapid_fire')) fired.add(index)
        const outputs = aggregator.process(store, [
          {
            type: 'event',
            aggregation: 'customer-velocity',
            key: customer,
            timeMs,
            inputs: [null],
            source: 0,
            wallMs: 0,
          },
        ])
        store.commitPending()
        for (const output of outputs) {
          if (output.type !== 'result') continue
          if (output.final) finals.push(output)
          else if (
            output.windowStart <= timeMs &&
            timeMs < output.windowEnd &&
            output.values.count! >= paymentRuleDefaults.rapidFireCount
          ) {
            reached.add(index)
            if (step.hits.some((hit) => hit.rule === 'rapid_fire'))
              windowsFiredIn.add(`${customer}|${output.windowStart}`)
          }
        }
        assert.equal(fired.has(index), reached.has(index), `payment of ${customer} at ${timeMs - t0} ms`)
      }
    }
    assert.ok(finals.length > 1000, 'windows closed')
    assert.ok(fired.size > 20, `bursts fired the rule (${fired.size} times)`)
    for (const result of finals)
      assert.equal(
        result.values.count! >= paymentRuleDefaults.rapidFireCount,
        windowsFiredIn.has(`${result.key}|${result.windowStart}`),
        `window ${result.key} ${result.windowStart - t0}`,
      )
  })
}
