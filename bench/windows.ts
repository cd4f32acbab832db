// Throughput of the aggregate service's processors, in process (no broker): payments through
// aggregate-route and aggregate, as the runtime calls them (decode each record, process a
// partition's batch with its state store, serialise the store's changes as changelog records,
// commit). One aggregation at a time, each with 10,000 distinct group keys, so the three
// built-in aggregations are measured apart; in the same run, two references on the same events:
// the identity processor (decode and re-encode only) and a plain Map-based windowed count and
// sum (no store, changelog, watermark or late-event handling). Then the memory of an open
// window: heap and changelog bytes per window with windows held open.
// Run: node --expose-gc bench/windows.ts [events] [keys]

import { paymentRuleDefaults } from '../src/core/anomaly/rules.ts'
import type { Payment } from '../src/core/events.ts'
import { PaymentGenerator } from '../src/core/sources/payments.ts'
import { type AggregationDefinition, builtInAggregations, fieldValue } from '../src/core/windows/aggregation.ts'
import { velocityWindow, windowStarts } from '../src/core/windows/window.ts'
import type { InputRecord, OutputRecord, Processor } from '../src/kafka/processor.ts'
import { StateStore } from '../src/kafka/state-store.ts'
import { aggregateProcessor, routeProcessor } from '../src/services/aggregate.ts'

const events = Number(process.argv[2] ?? 200_000)
const keys = Number(process.argv[3] ?? 10_000)
const batchSize = 5_000
const gc = (globalThis as { gc?: () => void }).gc

const builtIn = builtInAggregations({ velocity: velocityWindow(paymentRuleDefaults), graceMs: 0 })

// payments 10 ms apart in event time (100/s), group fields spread over `keys` values each
const t0 = Date.UTC(2026, 0, 1)
const generator = new PaymentGenerator({ seed: 42, startTimeMs: t0, merchants: 50, customers: 1_000 })
const payments: Buffer[] = []
for (let i = 0; i < events; i++) {
  const payment = generator.next(t0 / 1000)
  const k = (i * 7_919) % keys
  const spread: Payment = {
    ...payment,
    timestamp: new Date(t0 + i * 10).toISOString(),
    merchant_id: `merch_${k}`,
    customer_id: `cust_${k}`,
    merchant_category: `category_${k}` as Payment['merchant_category'],
  }
  payments.push(Buffer.from(JSON.stringify(spread)))
}

/** Runs `processor` over `values` as the runtime does: decode, process per batch, serialise the changelog, commit. */
function drive<T>(processor: Processor<T>, values: readonly Buffer[], timestamps?: readonly number[]) {
  const store = new StateStore()
  const outputs: OutputRecord[] = []
  let changelogBytes = 0
  for (let from = 0; from < values.length; from += batchSize) {
    const records: InputRecord<T>[] = []
    for (let i = from; i < Math.min(values.length, from + batchSize); i++)
      records.push({
        topic: 'in',
        partition: 0,
        offset: BigInt(i),
        key: undefined,
        value: processor.decode(values[i]!, undefined, 'in'),
        timestamp: timestamps?.[i] ?? i,
        headers: new Map(),
      })
    for (const output of processor.process(records, { partition: 0, store })) outputs.push(output)
    for (const [, value] of store.pendingChanges())
      changelogBytes += value === undefined ? 0 : JSON.stringify(value).length
    store.commitPending()
  }
  return { outputs, store, changelogBytes }
}

/** Wall seconds, and CPU seconds of this process (steadier than wall time on a shared machine). */
function timed<R>(run: () => R): { result: R; seconds: number; cpuSeconds: number } {
  gc?.()
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  const result = run()
  const used = process.cpuUsage(cpu)
  return {
    result,
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    cpuSeconds: (used.user + used.system) / 1e6,
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const identity: Processor<unknown> = {
  name: 'identity',
  decode: (value) => JSON.parse(value.toString()),
  process: (records) => records.map((record) => ({ topic: 'out', value: JSON.stringify(record.value) })),
}

/** The reference: windowed count and sum in a Map, windows assigned by the same function. */
function mapAggregation(definition: AggregationDefinition, values: readonly Buffer[]): number {
  const windows = new Map<string, { count: number; sum: number }>()
  for (const value of values) {
    const payment = JSON.parse(value.toString()) as Payment
    const key = String(fieldValue(payment, definition.key))
    for (const start of windowStarts(Date.parse(payment.timestamp), definition.window)) {
      const id = `${key}|${start}`
      const window = windows.get(id)
      if (window) {
        window.count++
        window.sum += payment.amount
      } else windows.set(id, { count: 1, sum: payment.amount })
    }
  }
  return windows.size
}

const rounds = 3
const rows: string[][] = []
const options = { sources: 1, latenessMs: 10_000, idleTimeoutMs: 1e12, maxOpenWindows: 10_000_000 }
for (const definition of builtIn) {
  const single = [{ ...definition }]
  const route = routeProcessor('', single, 1)
  const routed = drive(route, payments).outputs.map((output) => Buffer.from(String(output.value)))
  const routeRates: number[] = []
  const aggregateRates: number[] = []
  const bothRates: number[] = []
  const mapRates: number[] = []
  const bothCpuRates: number[] = []
  let results = 0
  for (let round = 0; round < rounds; round++) {
    const r = timed(() => drive(routeProcessor('', single, 1), payments))
    const a = timed(() => drive(aggregateProcessor('', single, options), routed))
    const m = timed(() => mapAggregation(definition, payments))
    routeRates.push(events / r.seconds)
    aggregateRates.push(events / a.seconds)
    bothRates.push(events / (r.seconds + a.seconds))
    mapRates.push(events / m.seconds)
    bothCpuRates.push(events / (r.cpuSeconds + a.cpuSeconds))
    results = a.result.outputs.length
  }
  const window =
    definition.window.slideMs === definition.window.sizeMs
      ? `${definition.window.sizeMs / 60_000} min tumbling`
      : `${definition.window.sizeMs / 1000} s sliding by ${definition.window.slideMs / 1000} s`
  rows.push([
    definition.name,
    window,
    definition.emit,
    Math.round(median(routeRates)).toLocaleString('en'),
    Math.round(median(aggregateRates)).toLocaleString('en'),
    Math.round(median(bothRates)).toLocaleString('en'),
    Math.round(median(bothCpuRates)).toLocaleString('en'),
    Math.round(median(mapRates)).toLocaleString('en'),
    results.toLocaleString('en'),
  ])
}
const identityRates: number[] = []
for (let round = 0; round < rounds; round++) identityRates.push(events / timed(() => drive(identity, payments)).seconds)

console.log(
  `bench/windows: ${events.toLocaleString('en')} payments (100/s of event time, ${keys.toLocaleString('en')} keys per aggregation), batches of ${batchSize}, median of ${rounds}`,
)
console.log('')
console.log(
  '| aggregation | window | emit | route, events/s | aggregate, events/s | route + aggregate, events/s | route + aggregate, events per CPU second | Map reference, events/s | results written |',
)
console.log('|---|---|---|---:|---:|---:|---:|---:|---:|')
for (const row of rows) console.log(`| ${row.join(' | ')} |`)
console.log(
  `| identity processor (reference) | | | ${Math.round(median(identityRates)).toLocaleString('en')} | | | | | |`,
)

// memory: windows held open (a second input partition never heard from holds the watermark
// back); the heap growth from a store of half the events to one of all of them, per window
console.log('')
console.log('| aggregation | open windows | heap per open window | changelog bytes per open window |')
console.log('|---|---:|---:|---:|')
for (const definition of builtIn) {
  const single = [{ ...definition }]
  const routed = drive(routeProcessor('', single, 1), payments).outputs.map((o) => Buffer.from(String(o.value)))
  const hold = (count: number) => {
    const held = drive(aggregateProcessor('', single, { ...options, sources: 2 }), routed.slice(0, count))
    held.outputs.length = 0
    let open = 0
    let bytes = 0
    for (const [key, value] of held.store.entries()) {
      if (key.startsWith('w|')) open += (value as { w: unknown[] }).w.length
      bytes += key.length + JSON.stringify(value).length
    }
    return { store: held.store, open, bytes }
  }
  const heap = () => {
    gc?.()
    gc?.()
    return process.memoryUsage().heapUsed
  }
  const half = hold(Math.floor(routed.length / 2))
  const before = heap()
  const all = hold(routed.length)
  const after = heap()
  console.log(
    `| ${definition.name} | ${all.open.toLocaleString('en')} | ${Math.round((after - before) / all.open)} B | ${Math.round(all.bytes / all.open)} B |`,
  )
  void half.store.size
  void all.store.size
}
if (!gc) console.log('\n(run with node --expose-gc for steadier heap figures)')
