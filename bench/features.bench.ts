// Throughput of the phased transactions' features (the `transactions` template, compiled) as the
// enrich stage uses them: look up the user's state, extract, keep the next state, serialise it
// to JSON (the changelog record).
// Run: node bench/features.bench.ts [events] [users]

import type { PhasedTransaction } from '../src/core/events.ts'
import { kindOf } from '../src/core/kinds.ts'
import { Random } from '../src/core/random.ts'

const events = Number(process.argv[2] ?? 1_000_000)
const users = Number(process.argv[3] ?? 1000)
const categories = ['grocery', 'restaurant', 'retail', 'gas', 'travel', 'online', 'crypto', 'wire_transfer']

const { extract } = kindOf('transaction').features
type TransactionState = unknown
const random = new Random(42)
const pool: PhasedTransaction[] = []
for (let i = 0; i < 100_000; i++) {
  const amount = Math.max(1, Math.round(random.normal(150, 50) * 100) / 100)
  pool.push({
    kind: 'transaction',
    transaction_id: `tx-${i}`,
    user_id: `user-${random.integer(0, users - 1)}`,
    event_number: i,
    timestamp: '',
    ingestion_timestamp: 0,
    amount,
    merchant_category: categories[random.integer(0, categories.length - 1)]!,
    hour_of_day: random.integer(0, 23),
    location_match: random.bernoulli(0.95),
    device_known: random.bernoulli(0.9),
    transactions_last_hour: random.integer(1, 4),
    user_avg_amount: 150,
    amount_vs_user_avg: amount / 150,
    phase: 'normal',
    phase_number: 0,
    drift_injected: false,
    anomaly_label: 0,
    label_rule: 0,
  })
}

interface Result {
  label: string
  /** Events per second of wall time. */
  perSecond: number
  /** Events per second of this process's CPU time: steadier than wall time on a shared machine. */
  perCpuSecond: number
  stateBytes: number
}

function run(label: string, serialise: boolean, reparse: boolean): Result {
  const store = new Map<string, TransactionState>()
  const start0 = Date.UTC(2025, 0, 1)
  let bytes = 0
  let checksum = 0
  const cpu = process.cpuUsage()
  const started = process.hrtime.bigint()
  for (let i = 0; i < events; i++) {
    const event = pool[i % pool.length]!
    // 100 simulated events per second overall: ~one every 10 s per user with 1,000 users
    const t = start0 + i * 10
    const { features, nextState } = extract(event, store.get(event.user_id), t)
    checksum += features[0]!
    if (serialise) {
      const json = JSON.stringify(nextState)
      bytes += json.length
      store.set(event.user_id, reparse ? JSON.parse(json) : nextState)
    } else store.set(event.user_id, nextState)
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const used = process.cpuUsage(cpu)
  const cpuSeconds = (used.user + used.system) / 1e6
  if (checksum === -1) console.log('unreachable')
  return {
    label,
    perSecond: events / seconds,
    perCpuSecond: events / cpuSeconds,
    stateBytes: serialise ? bytes / events : 0,
  }
}

for (const [label, serialise, reparse] of [
  ['extract only', false, false],
  ['extract + JSON.stringify(state)', true, false],
  ['extract + stringify + JSON.parse (restore path)', true, true],
] as const) {
  run(label, serialise, reparse) // warm-up
  const r = run(label, serialise, reparse)
  const size = r.stateBytes > 0 ? `, mean state ${r.stateBytes.toFixed(0)} bytes` : ''
  const rate = (x: number) => Math.round(x).toLocaleString('en')
  console.log(
    `${r.label}: ${rate(r.perSecond)} events/s wall, ${rate(r.perCpuSecond)} events/CPU-s (${events} events, ${users} users${size})`,
  )
}
