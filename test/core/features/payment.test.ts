import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Payment } from '../../../src/core/events.ts'
import { maxGapSeconds } from '../../../src/core/features/event-time.ts'
import { extractPayment, greatCircleKm, paymentSchema } from '../../../src/core/features/payment.ts'
import { extractorContract, feature, runStream } from './contract.ts'

const t0 = Date.UTC(2025, 0, 1, 10, 0, 0)

function payment(amount: number, overrides: Partial<Payment> = {}): Payment {
  return {
    kind: 'payment',
    transaction_id: 'p',
    timestamp: new Date(t0).toISOString(),
    ingestion_timestamp: t0 / 1000,
    customer_id: 'c-1',
    merchant_id: 'm-1',
    merchant_category: 'retail',
    payment_method: 'pos',
    amount,
    location: { lat: 35.6892, lng: 51.389 },
    device_info: { os: 'android', app_version: '3.2.1' },
    status: 'approved',
    failure_reason: null,
    commission_type: 'flat',
    commission_amount: 0,
    vat_amount: 0,
    total_amount: amount,
    customer_type: 'individual',
    risk_level: 2,
    is_fraud: false,
    ...overrides,
  }
}

const get = (features: Float64Array, name: string) => feature(paymentSchema, features, name)

extractorContract('payment', {
  schema: paymentSchema,
  extract: extractPayment,
  stream: [
    { event: payment(0), t: t0 },
    { event: payment(0, { status: 'declined', failure_reason: 'insufficient_funds' }), t: t0 },
    { event: payment(2_000_000, { location: { lat: -33.9, lng: 151.2 } }), t: t0 + 1000 },
    { event: payment(50_000, { device_info: { os: 'ios', app_version: '1.0' } }), t: t0 - 60_000 },
    ...Array.from({ length: 40 }, (_, i) => ({ event: payment(50_000 + i * 1000), t: t0 + 3600_000 + i * 20_000 })),
  ],
})

test('first payment: defaults, and counts of one', () => {
  const { features } = extractPayment(payment(80_000, { payment_method: 'nfc', risk_level: 4 }), undefined, t0)
  assert.equal(get(features, 'amount_vs_customer_avg'), 1)
  assert.equal(get(features, 'amount_zscore'), 0)
  assert.equal(get(features, 'seconds_since_last'), maxGapSeconds)
  assert.equal(get(features, 'new_device'), 1)
  assert.equal(get(features, 'new_location'), 1)
  assert.equal(get(features, 'km_from_last_location'), 0)
  assert.equal(get(features, 'count_last_minute'), 1)
  assert.equal(get(features, 'hour_of_day'), 10)
  assert.equal(get(features, 'is_night'), 0)
  assert.equal(get(features, 'risk_level'), 4)
  assert.deepEqual(
    ['method_online', 'method_pos', 'method_mobile', 'method_nfc'].map((name) => get(features, name)),
    [0, 0, 0, 1],
  )
})

test('velocity: five payments within 60 s of event time', () => {
  const out = runStream(
    extractPayment,
    [0, 10, 20, 30, 59, 70].map((s) => ({ event: payment(60_000), t: t0 + s * 1000 })),
  )
  assert.deepEqual(
    out.map((o) => get(o.features, 'count_last_minute')),
    [1, 2, 3, 4, 5, 4], // at 70 s: 20, 30, 59, 70 (10 s is exactly 60 s earlier: out)
  )
  assert.deepEqual(
    out.map((o) => get(o.features, 'count_last_hour')),
    [1, 2, 3, 4, 5, 6],
  )
})

test('high-value payments among the last ten (> 1,000,000), this one included', () => {
  const amounts = [1_500_000, 1_000_000, 2_000_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 60_000, 1_200_000]
  const out = runStream(
    extractPayment,
    amounts.map((amount, i) => ({ event: payment(amount), t: t0 + i * 600_000 })),
  )
  assert.deepEqual(
    out.map((o) => get(o.features, 'high_value_last_10')),
    [1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2], // 1,000,000 is not above; the first leaves the ten at the 11th
  )
})

test('relatively high: at least 3× the mean, after three earlier payments', () => {
  const out = runStream(
    extractPayment,
    [100_000, 400_000, 100_000, 100_000, 600_000, 100_000].map((amount, i) => ({
      event: payment(amount),
      t: t0 + i * 600_000,
    })),
  )
  // 400,000 is 4× but only one earlier payment; 600,000 vs mean 175,000 is 3.4×
  assert.deepEqual(
    out.map((o) => get(o.features, 'relative_high_last_10')),
    [0, 0, 0, 0, 1, 1],
  )
})

test('first-seen device and location cell; distance from the previous payment', () => {
  const tehran = { lat: 35.6892, lng: 51.389 }
  const shiraz = { lat: 29.5918, lng: 52.5837 }
  const android = { os: 'android', app_version: '3.2.1' }
  const ios = { os: 'ios', app_version: '17.1' }
  const out = runStream(extractPayment, [
    { event: payment(1, { location: tehran, device_info: android }), t: t0 },
    { event: payment(1, { location: tehran, device_info: ios }), t: t0 + 1000 },
    { event: payment(1, { location: shiraz, device_info: android }), t: t0 + 2000 },
    { event: payment(1, { location: tehran, device_info: ios }), t: t0 + 3000 },
  ])
  assert.deepEqual(
    out.map((o) => get(o.features, 'new_device')),
    [1, 1, 0, 0],
  )
  assert.deepEqual(
    out.map((o) => get(o.features, 'new_location')),
    [1, 0, 1, 0],
  )
  const km = get(out[2]!.features, 'km_from_last_location')
  assert.ok(Math.abs(km - greatCircleKm(tehran.lat, tehran.lng, shiraz.lat, shiraz.lng)) < 1e-9)
  assert.ok(km > 650 && km < 700, `${km}`)
})

test('declined flag and merchant risk; declined payments still count in the history', () => {
  const first = extractPayment(payment(70_000, { status: 'declined', failure_reason: 'x' }), undefined, t0)
  assert.equal(get(first.features, 'declined'), 1)
  assert.equal(get(first.features, 'merchant_risk'), 0.2)
  const second = extractPayment(payment(70_000), first.nextState, t0 + 1000)
  assert.equal(get(second.features, 'declined'), 0)
  assert.equal(get(second.features, 'customer_event_count'), 2)
})
