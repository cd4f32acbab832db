// The fault run's window check: the final results of its aggregation (phased transactions per
// user, in hopping windows of event time) against a brute-force recomputation from the events
// of raw-transactions, with the events reported late taken out of the windows they missed.
import type { ReadRecord } from './kafka-io.ts'

/**
 * The run's aggregation: the phased transactions per user in hopping windows of event time
 * (each event in two windows), count, sum and largest amount, final results only.
 */
export const faultAggregation = {
  name: 'user-spend',
  kind: 'transaction',
  key: 'user_id',
  sizeMs: 60_000,
  slideMs: 30_000,
  aggregates: ['count', 'sum:amount', 'max:amount'],
  emit: 'final',
} as const

/** What the reconciliation found in window-aggregates and late-events against the brute force. */
export interface WindowCheck {
  /** Windows the brute force finds (events of raw-transactions, less those reported late for the window). */
  expected: number
  /** Final results in window-aggregates, and how many of them repeat a window. */
  results: number
  duplicates: number
  /** Expected windows without a final result; results of windows the brute force does not have. */
  missing: number
  unexpected: number
  /** Windows whose count, sum or max differ from the brute force. */
  mismatches: number
  /** Late-event reports, and those not borne out: no such event in the window, or the window was not closed yet. */
  late: number
  lateInvalid: number
}

/** Starts of the windows of `faultAggregation` holding event time `t`, by brute force. */
function windowStartsOf(t: number): number[] {
  const { sizeMs, slideMs } = faultAggregation
  const starts: number[] = []
  for (let start = Math.floor(t / slideMs) * slideMs; start > t - sizeMs; start -= slideMs) starts.push(start)
  return starts
}

/**
 * The window check: the final results of `faultAggregation` against a brute-force
 * recomputation from raw-transactions as read back (an event the source wrote twice counts
 * twice, as it does in the service), taken per input partition in offset order (the order the
 * service sums in, so sums compare exactly). An event reported in late-events for a window is
 * not in that window's result, and every other event is; each report must name an event of
 * raw-transactions in that window, with a watermark past the window's end (grace 0).
 */
export function checkWindows(
  rawRecords: readonly ReadRecord[],
  resultRecords: readonly ReadRecord[],
  lateRecords: readonly ReadRecord[],
): WindowCheck {
  const name = faultAggregation.name
  // late reports by window and event id, as many as reported
  const lateLeft = new Map<string, number>()
  let late = 0
  let lateInvalid = 0
  for (const record of lateRecords) {
    const report = JSON.parse(record.value.toString()) as {
      aggregation: string
      key: string
      windowStart: string
      windowEnd: string
      eventTime: string
      watermark: string
      id?: string
    }
    if (report.aggregation !== name) continue
    late++
    const id = `${report.key}|${Date.parse(report.windowStart)}|${report.id}`
    lateLeft.set(id, (lateLeft.get(id) ?? 0) + 1)
    // the window was still open
    if (Date.parse(report.watermark) < Date.parse(report.windowStart) + faultAggregation.sizeMs) lateInvalid++
  }

  const expected = new Map<string, { count: number; sum: number; max: number }>()
  const ordered = [...rawRecords].sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : 1))
  for (const record of ordered) {
    const event = JSON.parse(record.value.toString()) as {
      transaction_id: string
      user_id: string
      timestamp: string
      amount: number
    }
    const t = Date.parse(event.timestamp)
    for (const start of windowStartsOf(t)) {
      const lateId = `${event.user_id}|${start}|${event.transaction_id}`
      const left = lateLeft.get(lateId) ?? 0
      if (left > 0) {
        lateLeft.set(lateId, left - 1)
        continue
      }
      const window = `${event.user_id}|${start}`
      const values = expected.get(window)
      if (values) {
        values.count++
        values.sum += event.amount
        values.max = Math.max(values.max, event.amount)
      } else expected.set(window, { count: 1, sum: event.amount, max: event.amount })
    }
  }
  // a report left over names no event of raw-transactions in that window
  for (const left of lateLeft.values()) lateInvalid += left

  const seen = new Set<string>()
  let results = 0
  let duplicates = 0
  let unexpected = 0
  let mismatches = 0
  for (const record of resultRecords) {
    const result = JSON.parse(record.value.toString()) as {
      aggregation: string
      key: string
      windowStart: string
      values: { count: number; sum: number; max: number }
      final: boolean
    }
    if (result.aggregation !== name || !result.final) continue
    results++
    const window = `${result.key}|${Date.parse(result.windowStart)}`
    if (seen.has(window)) {
      duplicates++
      continue
    }
    seen.add(window)
    const values = expected.get(window)
    if (!values) unexpected++
    else if (
      values.count !== result.values.count ||
      values.sum !== result.values.sum ||
      values.max !== result.values.max
    )
      mismatches++
  }
  let missing = 0
  for (const window of expected.keys()) if (!seen.has(window)) missing++
  return { expected: expected.size, results, duplicates, missing, unexpected, mismatches, late, lateInvalid }
}
