// The aggregate service's two processors through the broker-free harness: a day of payments
// from three input partitions → aggregate-route → re-keyed by group into three aggregator
// partitions → aggregate, restarted from its changelog part-way; the final windows of the
// built-in aggregations equal a brute-force computation over the payments.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'
import type { Payment } from '../../src/core/events.ts'
import { PaymentGenerator } from '../../src/core/sources/payments.ts'
import { fieldValue, passesFilter } from '../../src/core/windows/aggregation.ts'
import { windowStarts } from '../../src/core/windows/window.ts'
import type { OutputRecord } from '../../src/kafka/processor.ts'
import { aggregateProcessor, configuredAggregations, routeProcessor } from '../../src/services/aggregate.ts'
import { keyed, restoredStore, runProcessor } from '../helpers/processor.ts'

const config = loadConfig({ env: {} })
const aggregations = configuredAggregations(config)
const partitions = 3

function hash(text: string): number {
  let h = 0
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0
  return h
}

test('a day of payments through route and aggregate (restarted part-way) gives the brute-force final windows', async () => {
  const nowMs = Date.UTC(2026, 0, 2)
  const payments = new PaymentGenerator({ seed: 5, startTimeMs: nowMs }).backfill({
    nowMs,
    wallClockSeconds: nowMs / 1000,
    count: 3_000,
    days: 1,
  })
  // the source: keyed by customer, in time order within each input partition
  const sources: Payment[][] = Array.from({ length: partitions }, () => [])
  for (const payment of payments) sources[hash(payment.customer_id) % partitions]!.push(payment)

  // route each input partition; its outputs go to the aggregator partition of their key (marks name theirs)
  const repartitioned: OutputRecord[][] = Array.from({ length: partitions }, () => [])
  let wall = 0
  const stamped = new Map<OutputRecord, number>()
  for (let source = 0; source < partitions; source++) {
    const { outputs, deadLetters } = await runProcessor(
      routeProcessor('', aggregations, partitions),
      sources[source]!.map((p) => keyed(p.customer_id, p)),
      undefined,
      { partition: source, batchSize: 250 },
    )
    assert.equal(deadLetters.length, 0)
    for (const output of outputs) {
      stamped.set(output, wall++)
      repartitioned[output.partition ?? hash(output.key!) % partitions]!.push(output)
    }
  }

  const options = { sources: partitions, latenessMs: 0, idleTimeoutMs: 1e12, maxOpenWindows: 1e9 }
  const finals = new Map<string, Record<string, number | null>>()
  for (let partition = 0; partition < partitions; partition++) {
    const records = repartitioned[partition]!.map((o) => keyed(o.key, o.value, stamped.get(o)))
    records.push(keyed('~tick', { tick: true }, 2e12)) // everything idle: the last windows close
    const half = Math.floor(records.length / 2)
    const first = await runProcessor(aggregateProcessor('', aggregations, options), records.slice(0, half), undefined, {
      partition,
      batchSize: 500,
    })
    // a new instance restores the partition's store from the changelog and goes on
    const second = await runProcessor(
      aggregateProcessor('', aggregations, options),
      records.slice(half),
      restoredStore(first.changelog),
      { partition, batchSize: 500 },
    )
    for (const output of [...first.outputs, ...second.outputs]) {
      assert.notEqual(output.topic, 'late-events', 'in-order partitions have no late events')
      const value = JSON.parse(String(output.value))
      if (!value.final) continue
      const key = `${value.aggregation}|${value.key}|${value.windowStart}`
      assert.ok(!finals.has(key), `${key} closed once`)
      finals.set(key, value.values)
    }
  }

  const expected = new Map<string, { count: number; sum: number }>()
  for (const payment of payments)
    for (const aggregation of aggregations) {
      if (!passesFilter(payment, aggregation.filter)) continue
      for (const start of windowStarts(Date.parse(payment.timestamp), aggregation.window)) {
        const key = `${aggregation.name}|${fieldValue(payment, aggregation.key)}|${new Date(start).toISOString()}`
        const entry = expected.get(key) ?? { count: 0, sum: 0 }
        entry.count++
        entry.sum += payment.amount
        expected.set(key, entry)
      }
    }
  assert.equal(finals.size, expected.size, 'every window closed once')
  for (const [key, { count, sum }] of expected) {
    const values = finals.get(key)
    assert.ok(values, key)
    assert.equal(values.count, count, key)
    if (!key.startsWith('customer-velocity')) assert.equal(values.sum, sum, key)
    if (key.startsWith('category-revenue')) assert.ok(Math.abs(values.mean! - sum / count) < 1e-6, key)
  }
  assert.ok([...expected.keys()].some((key) => key.startsWith('category-revenue|food_service')))
})

test('records of other kinds are skipped by the route, not dead-lettered (enrich owns those)', async () => {
  const { outputs, deadLetters } = await runProcessor(routeProcessor('', aggregations, 3), [
    { kind: 'point', id: 1, data: [0, 0], current_time: '2026-01-01T00:00:00Z', anomaly_label: 0 },
    'not json',
  ])
  assert.deepEqual(outputs, [])
  assert.deepEqual(deadLetters, [])
})
