import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PhasedTransaction } from '../../../src/core/events.ts'
import { maxGapSeconds } from '../../../src/core/features/event-time.ts'
import { merchantRisk } from '../../../src/core/features/merchant-risk.ts'
import { extractTransaction, transactionSchema } from '../../../src/core/features/transaction.ts'
import { zScoreLimit } from '../../../src/core/features/welford.ts'
import { extractorContract, feature, runStream } from './contract.ts'

const t0 = Date.UTC(2025, 0, 1, 12, 0, 0)

function transaction(amount: number, overrides: Partial<PhasedTransaction> = {}): PhasedTransaction {
  return {
    kind: 'transaction',
    transaction_id: 'tx',
    user_id: 'user-1',
    event_number: 0,
    timestamp: new Date(t0).toISOString(),
    ingestion_timestamp: t0 / 1000,
    amount,
    merchant_category: 'grocery',
    hour_of_day: 14,
    location_match: true,
    device_known: true,
    transactions_last_hour: 2,
    user_avg_amount: 150,
    amount_vs_user_avg: 1,
    phase: 'normal',
    phase_number: 0,
    drift_injected: false,
    anomaly_label: 0,
    label_rule: 0,
    ...overrides,
  }
}

const get = (features: Float64Array, name: string) => feature(transactionSchema, features, name)

extractorContract('transaction', {
  schema: transactionSchema,
  extract: extractTransaction,
  stream: [
    { event: transaction(0), t: t0 },
    { event: transaction(0), t: t0 },
    { event: transaction(0, { hour_of_day: 3, location_match: false }), t: t0 + 1000 },
    { event: transaction(150, { merchant_category: 'crypto' }), t: t0 + 2000 },
    { event: transaction(150), t: t0 - 5000 },
    { event: transaction(1e9, { device_known: false }), t: t0 + 3 * 3600_000 },
    ...Array.from({ length: 40 }, (_, i) => ({ event: transaction(100 + i), t: t0 + 4 * 3600_000 + i * 7000 })),
  ],
})

test('first event: defaults instead of history', () => {
  const { features } = extractTransaction(transaction(120), undefined, t0)
  assert.equal(get(features, 'amount'), 120)
  assert.equal(get(features, 'log_amount'), Math.log1p(120))
  assert.equal(get(features, 'amount_vs_user_avg'), 1)
  assert.equal(get(features, 'amount_zscore'), 0)
  assert.equal(get(features, 'amount_robust_zscore'), 0)
  assert.equal(get(features, 'seconds_since_last'), maxGapSeconds)
  assert.equal(get(features, 'tx_count_last_hour'), 1)
  assert.equal(get(features, 'tx_count_last_minute'), 1)
  assert.equal(get(features, 'user_event_count'), 1)
})

test('amount comparisons use the state before the event', () => {
  const out = runStream(extractTransaction, [
    { event: transaction(100), t: t0 },
    { event: transaction(200), t: t0 + 1000 },
    { event: transaction(300), t: t0 + 2000 },
    { event: transaction(600), t: t0 + 3000 },
  ])
  assert.deepEqual(
    out.map((o) => get(o.features, 'amount_vs_user_avg')),
    [1, 2, 2, 3], // 200/100, 300/150, 600/200
  )
  // z of 600 against [100, 200, 300]: mean 200, sample std 100
  assert.equal(get(out[3]!.features, 'amount_zscore'), 4)
  assert.equal(out[3]!.state.amount.n, 4)
  assert.equal(out[3]!.state.amount.mean, 300)
  assert.deepEqual(out[3]!.state.recent, [10000, 20000, 30000, 60000])
  assert.deepEqual(
    out.map((o) => get(o.features, 'user_event_count')),
    [1, 2, 3, 4],
  )
})

test('zero spread in the history gives a clipped, finite z-score', () => {
  const out = runStream(extractTransaction, [
    { event: transaction(100), t: t0 },
    { event: transaction(100), t: t0 + 1000 },
    { event: transaction(100), t: t0 + 2000 },
    { event: transaction(100), t: t0 + 3000 },
    { event: transaction(100), t: t0 + 4000 },
    { event: transaction(250), t: t0 + 5000 },
  ])
  assert.equal(get(out[4]!.features, 'amount_zscore'), 0)
  assert.equal(get(out[5]!.features, 'amount_zscore'), zScoreLimit)
  assert.equal(get(out[5]!.features, 'amount_robust_zscore'), zScoreLimit)
})

test('robust z-score shrugs off one earlier outlier that inflates the plain z-score', () => {
  const amounts = [100, 104, 98, 102, 5000, 101, 99, 103, 97, 100]
  const out = runStream(
    extractTransaction,
    [...amounts, 130].map((a, i) => ({ event: transaction(a), t: t0 + i * 1000 })),
  )
  const last = out.at(-1)!.features
  assert.ok(get(last, 'amount_robust_zscore') > 5)
  assert.ok(get(last, 'amount_zscore') < 1)
})

test('counts and gaps on event time', () => {
  const out = runStream(extractTransaction, [
    { event: transaction(10), t: t0 },
    { event: transaction(10), t: t0 + 30_000 },
    { event: transaction(10), t: t0 + 60_000 },
    { event: transaction(10), t: t0 + 59 * 60_000 + 30_000 },
  ])
  assert.deepEqual(
    out.map((o) => get(o.features, 'tx_count_last_minute')),
    [1, 2, 2, 1],
  )
  assert.deepEqual(
    out.map((o) => get(o.features, 'tx_count_last_hour')),
    [1, 2, 3, 4],
  )
  assert.deepEqual(
    out.map((o) => get(o.features, 'seconds_since_last')),
    [maxGapSeconds, 30, 30, 58 * 60 + 30],
  )
})

test('event fields: hour, night, flags, merchant risk, reported count', () => {
  const event = transaction(900, {
    hour_of_day: 2,
    location_match: false,
    device_known: true,
    merchant_category: 'wire_transfer',
    transactions_last_hour: 17,
  })
  const { features } = extractTransaction(event, undefined, t0)
  assert.equal(get(features, 'hour_of_day'), 2)
  assert.ok(Math.abs(get(features, 'hour_sin') - Math.sin(Math.PI / 6)) < 1e-12)
  assert.ok(Math.abs(get(features, 'hour_cos') - Math.cos(Math.PI / 6)) < 1e-12)
  assert.equal(get(features, 'is_night'), 1)
  assert.equal(get(features, 'location_match'), 0)
  assert.equal(get(features, 'device_known'), 1)
  assert.equal(get(features, 'merchant_risk'), merchantRisk('wire_transfer'))
  assert.equal(get(features, 'reported_tx_last_hour'), 17)
})

test('state stays small and bounded per user', () => {
  const out = runStream(
    extractTransaction,
    Array.from({ length: 5000 }, (_, i) => ({ event: transaction(100 + (i % 37)), t: t0 + i * 3000 })),
  )
  const bytes = JSON.stringify(out.at(-1)!.state).length
  assert.ok(bytes < 1000, `${bytes} bytes`)
  assert.equal(out.at(-1)!.state.recent.length, 32)
})
