// The alert store under a burst, on each of its databases: N alerts raised to `alerts` before
// the console starts (as after a database outage), then the console started: how long until
// every alert is stored (the writer's rate: one row, then one offset commit, per alert), and the
// latency over the API of an acknowledge and of a false-positive mark (its label published to
// Kafka inside the transaction).
//   BENCH_KAFKA_PORT=19414 node bench/alert-store.ts [alerts] [actions]
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { loadConfig } from '../src/config/load.ts'
import type { Alert } from '../src/core/alerts.ts'
import { catalogueTopics, connectAdmin, ensureTopics } from '../src/kafka/admin.ts'
import { kafkaContext } from '../src/kafka/context.ts'
import { createProducer } from '../src/kafka/producer.ts'
import { topicName } from '../src/kafka/topics.ts'
import { startService } from '../src/services/run.ts'
import { startPostgres } from '../test/helpers/postgres.ts'
import { startBenchBroker } from './lib/broker.ts'

const count = Number(process.argv[2] ?? 5_000)
const actions = Number(process.argv[3] ?? 200)
const token = 'bench-alert-store-token-0123456789'

function alert(i: number): Alert {
  return {
    id: `bench-${i}`,
    kind: 'transaction',
    entity: `user_${i % 1_000}`,
    severity: (['medium', 'high', 'critical'] as const)[i % 3]!,
    score: 0.9995,
    eventTime: Date.now(),
    producedAt: Date.now(),
    amount: 100 + (i % 900),
    rules: ['amount_over_5x_user_avg'],
    reasons: ['rule amount_over_5x_user_avg', 'amount_vs_user_avg (40%)'],
    contributions: [{ feature: 'amount_vs_user_avg', weight: 0.4 }],
    modelVersion: 'transaction-v1',
    suppressedBefore: 0,
  }
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

const broker = await startBenchBroker()
const postgres = await startPostgres()
const dataDir = mkdtempSync(join(tmpdir(), 'lookout-bench-store-'))
try {
  for (const databaseUrl of ['', postgres.url]) {
    const name = databaseUrl ? 'PostgreSQL' : 'SQLite'
    const prefix = `bench-store-${Date.now()}.`
    const config = loadConfig({
      env: {},
      flags: {
        'topics.prefix': prefix,
        'console.port': 0,
        'console.token': token,
        'console.databaseUrl': databaseUrl,
        dataDir: join(dataDir, name),
        'log.level': 'warn',
      },
    })
    const context = kafkaContext(config, [broker.bootstrap])
    const admin = await connectAdmin(context)
    await ensureTopics(admin, catalogueTopics(context))
    await admin.close()
    const producer = createProducer(context, { name: 'bench-alerts' })
    for (let from = 0; from < count; from += 1_000) {
      const messages = []
      for (let i = from; i < Math.min(count, from + 1_000); i++) {
        const a = alert(i)
        messages.push({
          topic: topicName(prefix, 'alerts'),
          key: Buffer.from(a.entity),
          value: Buffer.from(JSON.stringify(a)),
        })
      }
      await producer.send({ messages })
    }
    await producer.close()

    const started = performance.now()
    const console_ = await startService('console', config, context)
    const base = `http://127.0.0.1:${console_.port}`
    const total = async () => ((await (await fetch(`${base}/api/alerts?limit=1`)).json()) as { total: number }).total
    while ((await total()) < count) await sleep(100)
    const seconds = (performance.now() - started) / 1000

    const latencies: Record<string, number[]> = { acknowledge: [], false_positive: [] }
    for (let i = 0; i < actions; i++) {
      for (const action of ['acknowledge', 'false_positive'] as const) {
        const t = performance.now()
        const response = await fetch(`${base}/api/alerts/bench-${i}/actions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ action, by: 'bench' }),
        })
        if (response.status !== 200)
          throw new Error(`${action} bench-${i}: ${response.status} ${await response.text()}`)
        latencies[action]!.push(performance.now() - t)
      }
    }
    const listed = performance.now()
    await fetch(`${base}/api/alerts?severity=critical&state=open&limit=50&offset=1000`)
    const listMs = performance.now() - listed
    await console_.stop()
    const line = Object.entries(latencies)
      .map(([action, values]) => {
        const sorted = values.sort((a, b) => a - b)
        return `${action} median ${quantile(sorted, 0.5).toFixed(1)} ms, p99 ${quantile(sorted, 0.99).toFixed(1)} ms`
      })
      .join('; ')
    process.stdout.write(
      `${name}: ${count} alerts stored in ${seconds.toFixed(1)} s from the console's start (${Math.round(count / seconds)} alerts/s); ${actions} actions each: ${line}; a filtered page ${listMs.toFixed(1)} ms\n`,
    )
  }
} finally {
  await postgres.destroy()
  await broker.stop()
  rmSync(dataDir, { recursive: true, force: true })
}
