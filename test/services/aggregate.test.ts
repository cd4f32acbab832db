// The aggregate service's two processors through the broker-free harness: events from three
// input partitions → aggregate-route → re-keyed by group into three aggregator partitions →
// aggregate, restarted from its changelog part-way; the final windows equal a brute-force
// computation over the events: the built-in aggregations over a day of payments, a declared
// one over phased transactions, and one over a declared schema's own topic.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import loginsTemplate from '../../schemas/logins.json' with { type: 'json' }
import { loadConfig } from '../../src/config/load.ts'
import type { Payment, PhasedTransaction } from '../../src/core/events.ts'
import { registerSchema } from '../../src/core/kinds.ts'
import { compileSchema } from '../../src/core/schemas/compile.ts'
import { validateSchemaDeclaration } from '../../src/core/schemas/declaration.ts'
import { PaymentGenerator } from '../../src/core/sources/payments.ts'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { type AggregationDefinition, fieldValue, passesFilter } from '../../src/core/windows/aggregation.ts'
import { windowStarts } from '../../src/core/windows/window.ts'
import type { OutputRecord } from '../../src/kafka/processor.ts'
import {
  aggregateProcessor,
  configuredAggregations,
  type RouteTopic,
  routeProcessor,
} from '../../src/services/aggregate.ts'
import { keyed, outputValues, restoredStore, runProcessor } from '../helpers/processor.ts'

const config = loadConfig({ env: {} })
const aggregations = configuredAggregations(config)
const partitions = 3

function hash(text: string): number {
  let h = 0
  for (let i = 0; i < text.length; i++) h = (h * 31 + text.charCodeAt(i)) >>> 0
  return h
}

/**
 * Routes each input partition's events (in order) through aggregate-route, repartitions its
 * outputs by key, and runs each aggregator partition (restarted from its changelog half-way)
 * to the end (a last tick lets every window close); returns the final windows by
 * `<aggregation>|<key>|<window start>`.
 */
async function finalWindows(
  definitions: AggregationDefinition[],
  sources: unknown[][],
  topic?: RouteTopic,
): Promise<Map<string, Record<string, number | null>>> {
  const repartitioned: OutputRecord[][] = Array.from({ length: partitions }, () => [])
  let wall = 0
  const stamped = new Map<OutputRecord, number>()
  for (let source = 0; source < sources.length; source++) {
    const { outputs, deadLetters } = await runProcessor(
      routeProcessor('', definitions, partitions, topic),
      sources[source]!.map((event) => keyed(undefined, event)),
      undefined,
      { partition: source, batchSize: 250 },
    )
    assert.equal(deadLetters.length, 0)
    for (const output of outputs) {
      stamped.set(output, wall++)
      repartitioned[output.partition ?? hash(output.key!) % partitions]!.push(output)
    }
  }

  const options = {
    sources: (topic?.firstSource ?? 0) + sources.length,
    latenessMs: 0,
    idleTimeoutMs: 1e12,
    maxOpenWindows: 1e9,
  }
  const finals = new Map<string, Record<string, number | null>>()
  for (let partition = 0; partition < partitions; partition++) {
    const records = repartitioned[partition]!.map((o) => keyed(o.key, o.value, stamped.get(o)))
    records.push(keyed('~tick', { tick: true }, 2e12)) // everything idle: the last windows close
    const half = Math.floor(records.length / 2)
    const first = await runProcessor(aggregateProcessor('', definitions, options), records.slice(0, half), undefined, {
      partition,
      batchSize: 500,
    })
    // a new instance restores the partition's store from the changelog and goes on
    const second = await runProcessor(
      aggregateProcessor('', definitions, options),
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
  return finals
}

/** The same windows by brute force: count and sum of `field` per window of each record of `kind`. */
function bruteForce(
  definitions: AggregationDefinition[],
  kind: string,
  records: { record: object; timeMs: number }[],
  field = 'amount',
) {
  const expected = new Map<string, { count: number; sum: number }>()
  for (const { record, timeMs } of records)
    for (const aggregation of definitions) {
      if (aggregation.kind !== kind) continue
      if (!passesFilter(record, aggregation.filter)) continue
      for (const start of windowStarts(timeMs, aggregation.window)) {
        const key = `${aggregation.name}|${fieldValue(record, aggregation.key)}|${new Date(start).toISOString()}`
        const entry = expected.get(key) ?? { count: 0, sum: 0 }
        entry.count++
        entry.sum += (fieldValue(record, field) as number | null) ?? 0
        expected.set(key, entry)
      }
    }
  return expected
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
  const finals = await finalWindows(aggregations, sources)

  const expected = bruteForce(
    aggregations,
    'payment',
    payments.map((payment) => ({ record: payment, timeMs: Date.parse(payment.timestamp) })),
  )
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

test('an aggregation over phased transactions (another built-in kind) gives the brute-force final windows', async () => {
  const declared = loadConfig({
    env: {
      LOOKOUT_AGGREGATE_AGGREGATIONS: JSON.stringify([
        {
          name: 'user-spend',
          kind: 'transaction',
          key: 'user_id',
          sizeMs: 60_000,
          slideMs: 30_000,
          aggregates: ['count', 'sum:amount'],
          filter: 'location_match = true',
        },
      ]),
    },
  })
  const definitions = configuredAggregations(declared)
  const generator = new PhasedGenerator({ seed: 3, users: 40 })
  const transactions = Array.from({ length: 4_000 }, () => generator.next(0))
  const sources: PhasedTransaction[][] = Array.from({ length: partitions }, () => [])
  for (const transaction of transactions) sources[hash(transaction.user_id) % partitions]!.push(transaction)
  const finals = await finalWindows(definitions, sources)

  const expected = bruteForce(
    definitions,
    'transaction',
    transactions.map((transaction) => ({ record: transaction, timeMs: Date.parse(transaction.timestamp) })),
  )
  assert.ok(expected.size > 100, `${expected.size} windows`)
  assert.ok(
    transactions.some((transaction) => !transaction.location_match),
    'the filter takes some out',
  )
  assert.deepEqual(
    [...finals].sort(([a], [b]) => a.localeCompare(b)),
    [...expected].map(([key, values]) => [key, values]).sort(([a], [b]) => String(a).localeCompare(String(b))),
  )
})

test("an aggregation over a declared schema (the logins template) reads its topic, with the schema's event time", async () => {
  const schema = compileSchema(validateSchemaDeclaration(loginsTemplate, 'schemas/logins.json'))
  registerSchema(schema)
  const definitions = configuredAggregations(
    loadConfig({
      env: {
        LOOKOUT_SCHEMAS: JSON.stringify([loginsTemplate]),
        LOOKOUT_AGGREGATE_AGGREGATIONS: JSON.stringify([
          {
            name: 'logins-per-user',
            kind: 'logins',
            key: 'user',
            sizeMs: 60_000,
            aggregates: ['count', 'sum:network.latency_ms'],
            filter: 'fraud = false',
          },
        ]),
      },
    }),
  )
  const t0 = Date.UTC(2026, 0, 1)
  const logins = Array.from({ length: 600 }, (_, i) => ({
    login_id: `l-${i}`,
    user: `u${i % 7}`,
    // epoch seconds: the schema's time parsing, not Date.parse of text
    at: (t0 + i * 1_000) / 1000,
    country: 'NL',
    device: 'd',
    network: { latency_ms: i % 13 },
    fraud: i % 11 === 0,
  }))
  const sources: (typeof logins)[] = Array.from({ length: partitions }, () => [])
  for (const login of logins) sources[hash(login.user) % partitions]!.push(login)
  // this topic's partitions come after raw-transactions' as watermark sources
  const topic: RouteTopic = { schema, firstSource: partitions }
  const route = await runProcessor(routeProcessor('', definitions, partitions, topic), sources[1]!)
  const routed = outputValues<{ a: string; t: number; p: number; id: string; v: unknown[] }>(route).filter((v) => v.a)
  const taken = sources[1]!.filter((login) => !login.fraud)
  assert.equal(routed.length, taken.length)
  assert.deepEqual(routed[0], {
    ...routed[0],
    a: 'logins-per-user',
    t: taken[0]!.at * 1000,
    id: taken[0]!.login_id,
    v: [null, taken[0]!.network.latency_ms],
  })
  assert.ok(routed.every((v) => v.p === partitions))

  const finals = await finalWindows(definitions, sources, topic)
  const expected = bruteForce(
    definitions,
    'logins',
    logins.map((login) => ({ record: login, timeMs: login.at * 1000 })),
    'network.latency_ms',
  )
  assert.equal(expected.size, 70)
  assert.deepEqual(
    [...finals].sort(([a], [b]) => a.localeCompare(b)),
    [...expected].sort(([a], [b]) => a.localeCompare(b)),
  )
})

test('records of other kinds are skipped by the route, not dead-lettered (enrich owns those)', async () => {
  const { outputs, deadLetters } = await runProcessor(routeProcessor('', aggregations, 3), [
    { kind: 'point', id: 1, data: [0, 0], current_time: '2026-01-01T00:00:00Z', anomaly_label: 0 },
    'not json',
  ])
  assert.deepEqual(outputs, [])
  assert.deepEqual(deadLetters, [])
})
