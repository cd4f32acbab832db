// The fault run's window check (scripts/faults/harness.ts) on hand-made records: it passes
// exactly when the final results equal the brute force over raw-transactions less the events
// reported late, and it counts each kind of difference.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReadRecord } from '../../scripts/faults/kafka-io.ts'
import { checkWindows, faultAggregation } from '../../scripts/faults/windows.ts'

const t0 = Date.UTC(2025, 0, 1)
let offset = 0n
function record(value: unknown, partition = 0): ReadRecord {
  return {
    topic: 't',
    partition,
    offset: offset++,
    key: undefined,
    value: Buffer.from(JSON.stringify(value)),
    headers: new Map(),
  }
}
const raw = (id: string, user: string, atMs: number, amount: number, partition = 0) =>
  record({ transaction_id: id, user_id: user, timestamp: new Date(t0 + atMs).toISOString(), amount }, partition)
const result = (user: string, startMs: number, values: { count: number; sum: number; max: number }) =>
  record({
    aggregation: faultAggregation.name,
    key: user,
    windowStart: new Date(t0 + startMs).toISOString(),
    windowEnd: new Date(t0 + startMs + faultAggregation.sizeMs).toISOString(),
    values,
    final: true,
  })
const late = (id: string, user: string, startMs: number, atMs: number, watermarkMs: number) =>
  record({
    aggregation: faultAggregation.name,
    key: user,
    windowStart: new Date(t0 + startMs).toISOString(),
    windowEnd: new Date(t0 + startMs + faultAggregation.sizeMs).toISOString(),
    eventTime: new Date(t0 + atMs).toISOString(),
    watermark: new Date(t0 + watermarkMs).toISOString(),
    lateCount: 1,
    id,
  })

// windows of 60 s every 30 s: an event at 40 s is in [0, 60) and [30, 90)
const events = [raw('a', 'u1', 10_000, 5), raw('b', 'u1', 40_000, 7), raw('c', 'u2', 45_000, 1.5, 1)]
const correct = [
  result('u1', -30_000, { count: 1, sum: 5, max: 5 }),
  result('u1', 0, { count: 2, sum: 12, max: 7 }),
  result('u1', 30_000, { count: 1, sum: 7, max: 7 }),
  result('u2', 0, { count: 1, sum: 1.5, max: 1.5 }),
  result('u2', 30_000, { count: 1, sum: 1.5, max: 1.5 }),
]

test('results equal to the brute force pass, with the counts', () => {
  assert.deepEqual(checkWindows(events, correct, []), {
    expected: 5,
    results: 5,
    duplicates: 0,
    missing: 0,
    unexpected: 0,
    mismatches: 0,
    late: 0,
    lateInvalid: 0,
  })
})

test('a wrong value, a window twice, a window missing and one too many are each counted', () => {
  const check = checkWindows(
    events,
    [
      result('u1', -30_000, { count: 1, sum: 5, max: 5 }),
      result('u1', 0, { count: 2, sum: 12.000001, max: 7 }),
      result('u2', 0, { count: 1, sum: 1.5, max: 1.5 }),
      result('u2', 0, { count: 1, sum: 1.5, max: 1.5 }),
      result('u3', 0, { count: 1, sum: 1, max: 1 }),
    ],
    [],
  )
  assert.equal(check.mismatches, 1)
  assert.equal(check.duplicates, 1)
  assert.equal(check.missing, 2) // u1 [30, 90), u2 [30, 90)
  assert.equal(check.unexpected, 1)
})

test('an event reported late is out of that window only; a report not borne out is counted', () => {
  // b late for [0, 60) (the watermark had passed 60 s), still in [30, 90)
  const reports = [late('b', 'u1', 0, 40_000, 61_000)]
  const lateResults = [
    result('u1', -30_000, { count: 1, sum: 5, max: 5 }),
    result('u1', 0, { count: 1, sum: 5, max: 5 }),
    result('u1', 30_000, { count: 1, sum: 7, max: 7 }),
    result('u2', 0, { count: 1, sum: 1.5, max: 1.5 }),
    result('u2', 30_000, { count: 1, sum: 1.5, max: 1.5 }),
  ]
  assert.deepEqual(
    { ...checkWindows(events, lateResults, reports), expected: 0 },
    { expected: 0, results: 5, duplicates: 0, missing: 0, unexpected: 0, mismatches: 0, late: 1, lateInvalid: 0 },
  )
  // the same results without the report: the window lacks b
  assert.equal(checkWindows(events, lateResults, []).mismatches, 1)
  // a report while the window was open (watermark before its end), and one of an event not in the window
  const wrong = checkWindows(events, correct, [late('a', 'u1', 0, 10_000, 59_999), late('c', 'u1', 0, 45_000, 90_000)])
  assert.equal(wrong.lateInvalid, 2)
})
