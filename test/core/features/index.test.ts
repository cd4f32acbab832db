import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { LookoutEvent } from '../../../src/core/events.ts'
import { entityKeyOf, extractFeatures, featureKindOf, isEventKind } from '../../../src/core/features/index.ts'
import { builtInKinds, kindOf } from '../../../src/core/kinds.ts'

const events: LookoutEvent[] = [
  {
    kind: 'transaction',
    transaction_id: 't1',
    user_id: 'u1',
    event_number: 1,
    timestamp: '2025-01-01T03:00:00Z',
    ingestion_timestamp: 1735700400,
    amount: 120,
    merchant_category: 'grocery',
    hour_of_day: 3,
    location_match: true,
    device_known: true,
    transactions_last_hour: 1,
    user_avg_amount: 150,
    amount_vs_user_avg: 0.8,
    phase: 'normal',
    phase_number: 0,
    drift_injected: false,
    anomaly_label: 0,
    label_rule: 0,
  },
  {
    kind: 'payment',
    transaction_id: 'p1',
    timestamp: '2025-01-01T12:30:00',
    ingestion_timestamp: 1735734600,
    customer_id: 'c1',
    merchant_id: 'm1',
    merchant_category: 'government',
    payment_method: 'online',
    amount: 150_000,
    location: { lat: 35.7, lng: 51.4 },
    device_info: { os: 'ios', app_version: '2.0' },
    status: 'approved',
    failure_reason: null,
    commission_type: 'tiered',
    commission_amount: 1000,
    vat_amount: 900,
    total_amount: 151_900,
    customer_type: 'business',
    risk_level: 1,
    is_fraud: false,
  },
  { kind: 'point', id: 1, data: [0.5, -0.5], current_time: '2025-01-01T00:00:01.5Z', anomaly_label: 0 },
  { kind: 'metric', host: 'db-2', metric: 'cpu', timestamp: '2025-01-01T00:05:00Z', value: 37.5 },
  {
    kind: 'record',
    id: 'r1',
    description: 'groceries',
    amount: 42.1,
    timestamp: '2025-01-01T08:00:00Z',
    merchant: 'Tesco',
    operation_type: 'debit',
    side: 'outgoing',
  },
]

test('every built-in kind is registered from its template in schemas/', () => {
  assert.deepEqual([...builtInKinds].sort(), ['metric', 'payment', 'point', 'record', 'transaction'])
  const templates = {
    transaction: 'transactions',
    payment: 'payments',
    point: 'points',
    metric: 'metrics',
    record: 'records',
  }
  for (const kind of builtInKinds) {
    assert.equal(featureKindOf(kind)!.kind, kind)
    assert.equal(kindOf(kind).schema.name, templates[kind])
    assert.ok(featureKindOf(kind)!.schema.names.length > 0)
  }
  assert.equal(isEventKind('payment'), true)
  assert.equal(isEventKind('toString'), false)
})

test('extractFeatures runs the declared features of the kind, keyed by entity, on event time', () => {
  const keys = events.map((event) => extractFeatures(event, undefined).entityKey)
  assert.deepEqual(keys, ['u1', 'c1', 'points', 'db-2/cpu', 'Tesco'])
  assert.deepEqual(keys, events.map(entityKeyOf))
  const times = events.map((event) => extractFeatures(event, undefined).eventTimeMs)
  assert.deepEqual(times, [
    Date.UTC(2025, 0, 1, 3),
    Date.UTC(2025, 0, 1, 12, 30),
    Date.UTC(2025, 0, 1, 0, 0, 1, 500),
    Date.UTC(2025, 0, 1, 0, 5),
    Date.UTC(2025, 0, 1, 8),
  ])
  for (const event of events) {
    const first = extractFeatures(event, undefined)
    assert.equal(first.features.length, featureKindOf(event.kind)!.schema.names.length)
    const stored = JSON.parse(JSON.stringify(first.nextState)) as unknown
    const second = extractFeatures(event, stored)
    assert.ok(second.features.every(Number.isFinite))
    assert.notDeepEqual(second.nextState, first.nextState)
  }
})

test('a malformed timestamp is an error naming the field', () => {
  const bad = { ...events[2]!, current_time: 'soon' } as LookoutEvent
  assert.throws(() => extractFeatures(bad, undefined), /current_time/)
  assert.throws(() => kindOf('point').validate(bad), /current_time/)
})

test('the phased transaction features of the template: the values the rules and detectors read', () => {
  const entry = kindOf('transaction')
  const { features } = extractFeatures(events[0]!, undefined)
  const at = (name: string) => features[entry.schema.featureNames.indexOf(name)]
  assert.equal(at('amount'), 120)
  assert.equal(at('hour_of_day'), 3)
  assert.ok(Math.abs(at('hour_sin')! - Math.sin((2 * Math.PI * 3) / 24)) < 1e-12)
  assert.equal(at('is_night'), 1)
  assert.equal(at('merchant_risk'), 0.05)
  assert.equal(at('user_event_count'), 1)
  assert.equal(at('location_match'), 1)
  assert.deepEqual(entry.truth(events[0]!), { label: 0, phase: 'normal', eventNumber: 1, amount: 120 })
  assert.deepEqual(entry.rules?.names.length, 5)
})

test('declared parts: the payment rule set, the metric series detector on its value, composite entity keys', () => {
  assert.deepEqual(kindOf('payment').rules?.names, ['high_value_burst', 'rapid_fire'])
  assert.equal(kindOf('payment').entityDetector, undefined)
  const metric = kindOf('metric')
  assert.equal(metric.entityDetector?.name, 'series')
  assert.equal(metric.entityDetector?.value(events[3]!), 37.5)
  assert.equal(metric.rules, undefined)
  assert.equal(entityKeyOf(events[3]!), 'db-2/cpu')
  assert.deepEqual(metric.truth(events[3]!), {})
  assert.deepEqual(kindOf('record').truth(events[4]!), { amount: 42.1 })
})
