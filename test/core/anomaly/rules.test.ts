import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  evaluatePaymentRules,
  evaluateTransactionRules,
  firstTransactionRule,
  type PaymentPatternState,
  paymentPatternStep,
  type TransactionLike,
  transactionRuleNames,
  updatePaymentPatternState,
} from '../../../src/core/anomaly/rules.ts'
import { PhasedGenerator } from '../../../src/core/sources/phased.ts'

/** An ordinary daytime grocery purchase that fires nothing. */
const quiet: TransactionLike = {
  amount: 120,
  user_avg_amount: 150,
  transactions_last_hour: 2,
  location_match: true,
  device_known: true,
  merchant_category: 'grocery',
  hour_of_day: 14,
}

const transactionTable: { rule: string; change: Partial<TransactionLike> }[] = [
  { rule: 'amount_over_5x_user_avg', change: { amount: 800, user_avg_amount: 150 } },
  { rule: 'over_10_tx_last_hour', change: { transactions_last_hour: 11 } },
  { rule: 'location_and_device_unknown', change: { location_match: false, device_known: false } },
  {
    rule: 'high_risk_merchant_over_1000',
    change: { merchant_category: 'wire_transfer', amount: 1000.01, user_avg_amount: 900 },
  },
  { rule: 'night_over_500', change: { hour_of_day: 3, amount: 501, user_avg_amount: 400 } },
]

for (const [index, { rule, change }] of transactionTable.entries()) {
  test(`transaction rule ${index + 1} ${rule} fires alone on its own event`, () => {
    const hits = evaluateTransactionRules({ ...quiet, ...change })
    assert.deepEqual(
      hits.map((hit) => hit.rule),
      [rule],
    )
    assert.ok(hits[0]!.reason.length > 10)
    assert.equal(firstTransactionRule({ ...quiet, ...change }), index + 1)
  })
}

test('nothing fires on an ordinary transaction, nor exactly at the limits', () => {
  assert.deepEqual(evaluateTransactionRules(quiet), [])
  assert.equal(firstTransactionRule(quiet), 0)
  const atLimits: TransactionLike = {
    amount: 750, // exactly 5× of 150: the rule is strictly greater
    user_avg_amount: 150,
    transactions_last_hour: 10,
    location_match: false,
    device_known: true,
    merchant_category: 'crypto',
    hour_of_day: 5,
  }
  assert.deepEqual(evaluateTransactionRules(atLimits), [])
  assert.deepEqual(evaluateTransactionRules({ ...atLimits, amount: 1000, user_avg_amount: 900 }), [])
  assert.deepEqual(evaluateTransactionRules({ ...quiet, hour_of_day: 0, amount: 600, user_avg_amount: 500 }), [])
})

test('all firing rules are returned in label order; the first is the label rule', () => {
  const hits = evaluateTransactionRules({
    amount: 5000,
    user_avg_amount: 150,
    transactions_last_hour: 25,
    location_match: false,
    device_known: false,
    merchant_category: 'crypto',
    hour_of_day: 2,
  })
  assert.deepEqual(
    hits.map((hit) => hit.rule),
    [...transactionRuleNames],
  )
  assert.deepEqual(
    hits.map((hit) => hit.severity),
    ['high', 'medium', 'medium', 'high', 'low'],
  )
})

test('on generated transactions the rules reproduce label rules 1–5 (rule 6 is a coin flip)', () => {
  const generator = new PhasedGenerator({ seed: 5 })
  const seen = new Set<number>()
  for (const start of [0, 100_000, 200_000]) {
    generator.fastForward(start)
    for (let i = 0; i < 3000; i++) {
      const tx = generator.next(0)
      seen.add(tx.label_rule)
      const expected = tx.label_rule === 6 ? 0 : tx.label_rule
      assert.equal(firstTransactionRule(tx), expected, `event ${tx.event_number}: ${JSON.stringify(tx)}`)
    }
  }
  for (const rule of [0, 1, 2, 3, 4, 5]) assert.ok(seen.has(rule), `label rule ${rule} never occurred: ${[...seen]}`)
})

// ── payments ──

const t0 = Date.parse('2024-01-15T10:00:00Z')
const at = (seconds: number) => new Date(t0 + seconds * 1000).toISOString()

function history(payments: { amount: number; timestamp: string }[]): PaymentPatternState | undefined {
  let state: PaymentPatternState | undefined
  for (const payment of payments) state = updatePaymentPatternState(state, payment)
  return state
}

test('high_value_burst: the third high-value payment among the last ten fires', () => {
  const state = history([
    { amount: 1_500_000, timestamp: at(0) },
    { amount: 200_000, timestamp: at(600) },
    { amount: 1_200_000, timestamp: at(1200) },
  ])
  const hits = evaluatePaymentRules(state, { amount: 1_000_001, timestamp: at(1800) })
  assert.deepEqual(
    hits.map((hit) => hit.rule),
    ['high_value_burst'],
  )
  assert.equal(hits[0]!.severity, 'high')
  assert.match(hits[0]!.reason, /3 of the customer's last 4 payments/)
  // exactly 1,000,000 is not high-value, and a small payment does not complete a burst
  assert.deepEqual(evaluatePaymentRules(state, { amount: 1_000_000, timestamp: at(1800) }), [])
})

test('high_value_burst: high-value payments older than the last ten do not count', () => {
  const payments = [
    { amount: 1_500_000, timestamp: at(0) },
    { amount: 1_500_000, timestamp: at(600) },
    ...Array.from({ length: 8 }, (_, i) => ({ amount: 100_000, timestamp: at(1200 + i * 600) })),
  ]
  const state = history(payments)
  assert.equal(state?.amounts.length, 10, 'keeps the last ten')
  // the next payment's last ten drop the first high-value one: only 2 remain
  assert.deepEqual(evaluatePaymentRules(state, { amount: 2_000_000, timestamp: at(9000) }), [])
  assert.deepEqual(evaluatePaymentRules(history(payments.slice(1)), { amount: 2_000_000, timestamp: at(9000) }), [])
  assert.deepEqual(
    evaluatePaymentRules(history([payments[0]!, ...payments.slice(2, 9)]), { amount: 2_000_000, timestamp: at(9000) }),
    [],
  )
  assert.equal(
    evaluatePaymentRules(history([...payments.slice(0, 2), ...payments.slice(3)]), {
      amount: 2_000_000,
      timestamp: at(9000),
    })[0]?.rule,
    'high_value_burst',
  )
})

test('rapid_fire: five payments within 60 seconds fire; spanning 60 s or more does not', () => {
  const four = history([0, 10, 20, 30].map((s) => ({ amount: 50_000, timestamp: at(s) })))
  const hits = evaluatePaymentRules(four, { amount: 50_000, timestamp: at(59.9) })
  assert.deepEqual(
    hits.map((hit) => hit.rule),
    ['rapid_fire'],
  )
  assert.match(hits[0]!.reason, /5 payments in the velocity window 2024-01-15T10:00:00\.000Z–2024-01-15T10:01:00\.000Z/)
  assert.deepEqual(evaluatePaymentRules(four, { amount: 50_000, timestamp: at(60) }), [])
  assert.deepEqual(evaluatePaymentRules(history([]), { amount: 50_000, timestamp: at(0) }), [])
})

test("rapid_fire counts in the customer's velocity windows (60 s starting every 10 s): a burst within 50 s always fires", () => {
  // 5 payments within 56 s that no window holds together: [0, 60) has 4, [10, 70) has 4
  const spread = history([5, 20, 35, 50].map((s) => ({ amount: 50_000, timestamp: at(s) })))
  assert.deepEqual(evaluatePaymentRules(spread, { amount: 50_000, timestamp: at(61) }), [])
  // any 5 within 50 s share a window, wherever the burst starts
  for (let offset = 0; offset < 10; offset += 0.5) {
    const burst = history([0, 12.5, 25, 37.5].map((s) => ({ amount: 50_000, timestamp: at(offset + s) })))
    assert.equal(evaluatePaymentRules(burst, { amount: 50_000, timestamp: at(offset + 50) })[0]?.rule, 'rapid_fire')
  }
})

test('rapid_fire uses event time: a late payment that is hours old does not look rapid', () => {
  const recent = history([0, 10, 20, 30].map((s) => ({ amount: 50_000, timestamp: at(s) })))
  // subtracting first from last in arrival order would let a negative span pass as rapid
  assert.deepEqual(evaluatePaymentRules(recent, { amount: 50_000, timestamp: at(-7200) }), [])
  // a late payment that does fall inside the burst counts
  assert.equal(evaluatePaymentRules(recent, { amount: 50_000, timestamp: at(5) })[0]?.rule, 'rapid_fire')
})

test('both payment rules can fire together; the step returns hits and a JSON state', () => {
  let state: PaymentPatternState | undefined
  let last: string[] = []
  for (let i = 0; i < 5; i++) {
    const step = paymentPatternStep(state, { amount: 1_500_000, timestamp: t0 + i * 1000 })
    last = step.hits.map((hit) => hit.rule)
    state = JSON.parse(JSON.stringify(step.nextState)) as PaymentPatternState
  }
  assert.deepEqual(last, ['high_value_burst', 'rapid_fire'])
  assert.deepEqual(
    state?.timestamps,
    [0, 1, 2, 3, 4].map((i) => t0 + i * 1000),
  )
})

test('an unparseable payment timestamp is rejected with a hint', () => {
  assert.throws(() => evaluatePaymentRules(undefined, { amount: 1, timestamp: 'yesterday' }), /not a time/)
})
