// Poison messages: malformed records interleaved with valid phased events in raw-transactions,
// through enrich → score (two instances each, in this process, with their /health watched).
// Every malformed record must land in dead-letters with its reason and coordinates, no
// processor may stall, and every valid event must be scored exactly once.
import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { type LocalBrokerOptions, startBroker, stopBroker } from '../../src/broker/local.ts'
import { loadConfig } from '../../src/config/load.ts'
import { Random } from '../../src/core/random.ts'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { catalogueTopics, connectAdmin, ensureTopics } from '../../src/kafka/admin.ts'
import type { KafkaContext } from '../../src/kafka/context.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { PatientProducer, readToEnd } from './kafka-io.ts'

export interface PoisonOptions {
  poison: number
  valid: number
  seed: number
  /** Broker port (a fresh single node); or `brokers` to use running ones. */
  port?: number
  brokers?: string[]
  dataDir: string
  log: (line: string) => void
}

export interface PoisonReport {
  poison: number
  valid: number
  byCategory: Record<string, number>
  deadLetters: number
  deadLettersByCategory: Record<string, number>
  /** Malformed records not found in dead-letters (by source partition and offset). */
  missing: number
  /** Dead letters without a reason or source coordinates. */
  withoutReason: number
  /** Dead letters of valid events. */
  validDeadLettered: number
  scored: number
  scoredMissing: number
  scoredDuplicates: number
  /** Health checks answered not ok, with the first reason. */
  unhealthyChecks: number
  healthChecks: number
  firstUnhealthy: string | undefined
  sampleReasons: Record<string, string>
  seconds: number
  problems: string[]
}

/** The malformed-record categories, in the order they are interleaved. */
export const poisonCategories = [
  'invalid JSON',
  'wrong types',
  'missing fields',
  '1 MB value',
  'binary',
  'unknown kind',
  'huge number',
  'overflows to Infinity',
  'throws in processing',
] as const
type Category = (typeof poisonCategories)[number]

/** The 1 MB categories are 2% of the records each (one 1 MB record per 50); the rest take turns. */
function categoryOfPoison(n: number): Category {
  if (n % 50 === 0) return '1 MB value'
  if (n % 50 === 25) return 'throws in processing'
  const small = poisonCategories.filter((c) => c !== '1 MB value' && c !== 'throws in processing')
  return small[n % small.length]!
}

/** The broker's record limit (message.max.bytes, 1 MB), less room for the record's framing. */
const nearLimit = 1_048_588 - 400

/** A malformed record of `category`, built from a valid event (with the seed's randomness). */
function poisonRecord(category: Category, event: Record<string, unknown>, rng: Random, n: number): Buffer {
  const id = `poison-${n}`
  switch (category) {
    case 'invalid JSON': {
      const text = JSON.stringify({ ...event, transaction_id: id })
      const cuts = [text.slice(0, rng.integer(1, text.length - 2)), `${text.slice(0, -1)},}`, `{'kind': 'transaction'}`]
      return Buffer.from(cuts[n % cuts.length]!)
    }
    case 'wrong types': {
      const field = ['amount', 'user_id', 'hour_of_day', 'location_match', 'timestamp'][n % 5]!
      const wrong = { amount: '12.50', user_id: 42, hour_of_day: '13', location_match: 'yes', timestamp: 'yesterday' }
      return Buffer.from(JSON.stringify({ ...event, transaction_id: id, [field]: wrong[field as keyof typeof wrong] }))
    }
    case 'missing fields': {
      const copy: Record<string, unknown> = { ...event, transaction_id: id }
      delete copy[['user_id', 'amount', 'timestamp', 'transaction_id', 'merchant_category'][n % 5]!]
      return Buffer.from(JSON.stringify(copy))
    }
    case '1 MB value': {
      // not JSON at all, or JSON that is not an event, just under the broker's record limit
      if (n % 2 === 0) return Buffer.alloc(nearLimit, 'x')
      return Buffer.from(JSON.stringify({ kind: 'transaction', transaction_id: id, blob: 'y'.repeat(nearLimit - 200) }))
    }
    case 'binary': {
      const bytes = Buffer.alloc(rng.integer(1, 512))
      for (let i = 0; i < bytes.length; i++) bytes[i] = rng.integer(0, 255)
      bytes[0] = 0xff // never valid UTF-8 JSON
      return bytes
    }
    case 'unknown kind': {
      const kinds = ['refund', 'TRANSACTION', '', 42, null]
      return Buffer.from(JSON.stringify({ ...event, transaction_id: id, kind: kinds[n % kinds.length] }))
    }
    case 'huge number': {
      const field = ['amount', 'hour_of_day', 'transactions_last_hour', 'user_avg_amount'][n % 4]!
      const huge = [1e308, -1e300, 1.2e29, 2 ** 60][n % 4]!
      return Buffer.from(JSON.stringify({ ...event, transaction_id: id, [field]: huge }))
    }
    case 'overflows to Infinity': {
      // valid JSON whose number parses to ±Infinity
      const text = JSON.stringify({ ...event, transaction_id: id, amount: 0 })
      return Buffer.from(text.replace('"amount":0', `"amount":${n % 2 ? '-' : ''}1e400`))
    }
    case 'throws in processing': {
      // a valid event (it decodes) that enrich cannot write: its id, which the enriched record
      // carries, is as long as the input record allows, past what an enriched record holds
      // (65,535 bytes) and what the broker takes (1 MB)
      const padded = { ...event, transaction_id: id }
      const size = Buffer.byteLength(JSON.stringify(padded))
      padded.transaction_id = `${id}-${'z'.repeat(nearLimit - size - 1)}`
      return Buffer.from(JSON.stringify(padded))
    }
  }
}

export async function runPoison(options: PoisonOptions): Promise<PoisonReport> {
  const started = Date.now()
  const log = options.log
  let brokerOptions: LocalBrokerOptions | undefined
  let brokers = options.brokers
  if (!brokers) {
    brokerOptions = {
      dataDir: options.dataDir,
      port: options.port!,
      controllerPort: 0,
      kafkaVersion: '4.1.1',
      heap: '1g',
      startTimeoutMs: 120_000,
      stopTimeoutMs: 20_000,
    }
    await stopBroker(brokerOptions)
    rmSync(resolve(options.dataDir, `broker-${options.port}`), { recursive: true, force: true })
    brokers = [(await startBroker(brokerOptions)).bootstrap]
  }
  const context: KafkaContext = {
    brokers,
    clientId: 'lookout-poison',
    retry: { attempts: 10, baseDelayMs: 250, maxDelayMs: 2_000 },
    topicPrefix: `poison-${options.seed}-${Date.now().toString(36)}.`,
    partitions: 3,
    replicationFactor: 1,
  }
  const admin = await connectAdmin(context)
  try {
    await ensureTopics(admin, catalogueTopics(context))
  } finally {
    await admin.close()
  }
  const config = loadConfig({
    env: {},
    flags: { 'enrich.port': 0, 'score.port': 0, 'alert.console': 'false', 'topics.prefix': context.topicPrefix },
  })
  const services: RunningService[] = []
  let healthChecks = 0
  let unhealthyChecks = 0
  let firstUnhealthy: string | undefined
  let watching = true
  try {
    for (const name of ['enrich', 'score']) services.push(await startService(name, config, context, { instances: 2 }))
    const watch = (async () => {
      while (watching) {
        for (const service of services) {
          healthChecks++
          const health = service.health()
          if (!health.ok) {
            unhealthyChecks++
            firstUnhealthy ??= `${service.name}: ${JSON.stringify(health)}`
          }
        }
        await sleep(200)
      }
    })()

    // valid events and malformed records, interleaved, on every partition
    const rng = new Random(options.seed)
    const generator = new PhasedGenerator({ seed: options.seed, users: 300 })
    const producer = new PatientProducer(brokers, 'poison-source')
    const raw = topicName(context.topicPrefix, 'rawTransactions')
    const validIds = new Set<string>()
    const byCategory: Record<string, number> = {}
    const poisonAt = new Map<string, Category>() // partition:offset → category, filled from the topic
    const total = options.valid + options.poison
    let poisonMade = 0
    let batch: { topic: string; key?: Buffer; value: Buffer; partition?: number }[] = []
    let batchBytes = 0
    const categoryOf = new Map<number, Category>() // index in the stream → category
    let index = 0
    for (let i = 0; i < total; i++) {
      const event = generator.next(Date.now() / 1000)
      // poison at evenly spread positions
      const isPoison = Math.floor(((i + 1) * options.poison) / total) > Math.floor((i * options.poison) / total)
      const partition = i % 3
      if (isPoison) {
        poisonMade++
        const category = categoryOfPoison(poisonMade)
        byCategory[category] = (byCategory[category] ?? 0) + 1
        const value = poisonRecord(category, event as unknown as Record<string, unknown>, rng, poisonMade)
        categoryOf.set(index, category)
        batch.push({ topic: raw, key: Buffer.from(event.user_id), value, partition })
        batchBytes += value.length
      } else {
        validIds.add(event.transaction_id)
        const value = Buffer.from(JSON.stringify(event))
        batch.push({ topic: raw, key: Buffer.from(event.user_id), value, partition })
        batchBytes += value.length
      }
      index++
      if (batch.length >= 500 || batchBytes >= 700_000 || i === total - 1) {
        // large records one at a time (a produce request must stay under the broker's limit)
        if (batchBytes >= 700_000) for (const message of batch) await producer.send([message])
        else await producer.send(batch)
        batch = []
        batchBytes = 0
      }
    }
    await producer.close()
    log(`poison: produced ${options.valid} valid events and ${poisonMade} malformed records`)

    // which offsets hold the malformed records: read raw-transactions back
    const rawRecords = await readToEnd(brokers, raw)
    const perPartition = new Map<number, number>()
    const streamIndex = (partition: number, position: number) => position * 3 + partition
    for (const record of rawRecords) {
      const position = perPartition.get(record.partition) ?? 0
      perPartition.set(record.partition, position + 1)
      const category = categoryOf.get(streamIndex(record.partition, position))
      if (category) poisonAt.set(`${record.partition}:${record.offset}`, category)
    }

    // wait until every valid event is scored and every malformed record dead-lettered
    const scoresTopic = topicName(context.topicPrefix, 'anomalyScores')
    const deadTopic = topicName(context.topicPrefix, 'deadLetters')
    const deadline = Date.now() + 600_000
    let scoredRecords = await readToEnd(brokers, scoresTopic)
    let deadRecords = await readToEnd(brokers, deadTopic)
    while ((scoredRecords.length < validIds.size || deadRecords.length < poisonMade) && Date.now() < deadline) {
      await sleep(2_000)
      scoredRecords = await readToEnd(brokers, scoresTopic)
      deadRecords = await readToEnd(brokers, deadTopic)
      log(`poison: scored ${scoredRecords.length}/${validIds.size}, dead letters ${deadRecords.length}/${poisonMade}`)
    }
    await sleep(2_000) // anything more would be a duplicate: give it time to show
    scoredRecords = await readToEnd(brokers, scoresTopic)
    deadRecords = await readToEnd(brokers, deadTopic)
    watching = false
    await watch

    const found = new Set<string>()
    const deadLettersByCategory: Record<string, number> = {}
    const sampleReasons: Record<string, string> = {}
    let withoutReason = 0
    let validDeadLettered = 0
    for (const record of deadRecords) {
      const reason = record.headers.get('lookout.reason')
      const where = `${record.headers.get('lookout.source.partition')}:${record.headers.get('lookout.source.offset')}`
      if (!reason || record.headers.get('lookout.source.topic') !== raw) withoutReason++
      const category = poisonAt.get(where)
      if (!category) {
        validDeadLettered++
        continue
      }
      found.add(where)
      deadLettersByCategory[category] = (deadLettersByCategory[category] ?? 0) + 1
      sampleReasons[category] ??= reason ?? ''
    }
    const missing = [...poisonAt.keys()].filter((where) => !found.has(where)).length
    const scoredIds = new Map<string, number>()
    for (const record of scoredRecords) {
      const id = (JSON.parse(record.value.toString()) as { id: string }).id
      scoredIds.set(id, (scoredIds.get(id) ?? 0) + 1)
    }
    let scoredMissing = 0
    for (const id of validIds) if (!scoredIds.has(id)) scoredMissing++
    const scoredDuplicates = [...scoredIds.values()].reduce((sum, n) => sum + n - 1, 0)

    const problems: string[] = []
    if (poisonAt.size !== poisonMade)
      problems.push(`${poisonMade} malformed records produced, ${poisonAt.size} found in the topic`)
    if (missing) problems.push(`${missing} malformed records not in dead-letters`)
    if (deadRecords.length !== poisonMade)
      problems.push(`${deadRecords.length} dead letters for ${poisonMade} malformed records`)
    if (withoutReason) problems.push(`${withoutReason} dead letters without a reason or source`)
    if (validDeadLettered) problems.push(`${validDeadLettered} dead letters that are not malformed records`)
    if (scoredMissing) problems.push(`${scoredMissing} valid events not scored`)
    if (scoredDuplicates) problems.push(`${scoredDuplicates} valid events scored twice`)
    if (scoredIds.size !== validIds.size) problems.push(`${scoredIds.size} distinct ids scored for ${validIds.size}`)
    if (unhealthyChecks) problems.push(`${unhealthyChecks} health checks not ok: ${firstUnhealthy}`)
    return {
      poison: poisonMade,
      valid: validIds.size,
      byCategory,
      deadLetters: deadRecords.length,
      deadLettersByCategory,
      missing,
      withoutReason,
      validDeadLettered,
      scored: scoredRecords.length,
      scoredMissing,
      scoredDuplicates,
      unhealthyChecks,
      healthChecks,
      firstUnhealthy,
      sampleReasons,
      seconds: (Date.now() - started) / 1000,
      problems,
    }
  } finally {
    watching = false
    for (const service of services.reverse()) await service.stop().catch(() => {})
    if (brokerOptions) await stopBroker(brokerOptions)
  }
}

export function formatPoisonReport(report: PoisonReport): string {
  const lines = [
    `poison run: ${report.poison.toLocaleString('en')} malformed records interleaved with ${report.valid.toLocaleString('en')} valid events, enrich×2 and score×2, ${report.seconds.toFixed(0)} s`,
    '',
    '| category | produced | in dead-letters | a reason given |',
    '|---|---:|---:|---|',
  ]
  for (const category of poisonCategories)
    lines.push(
      `| ${category} | ${report.byCategory[category] ?? 0} | ${report.deadLettersByCategory[category] ?? 0} | ${(report.sampleReasons[category] ?? '-').slice(0, 110).replaceAll('|', '/')} |`,
    )
  lines.push('')
  lines.push(
    `dead letters ${report.deadLetters} (missing ${report.missing}, without reason or source ${report.withoutReason}, of valid events ${report.validDeadLettered})`,
  )
  lines.push(`valid events scored ${report.scored}: missing ${report.scoredMissing}, twice ${report.scoredDuplicates}`)
  lines.push(
    `health checks ${report.healthChecks}, not ok ${report.unhealthyChecks}${report.firstUnhealthy ? ` (first: ${report.firstUnhealthy})` : ''}`,
  )
  lines.push(report.problems.length ? `PROBLEMS:\n  ${report.problems.join('\n  ')}` : 'every check passed')
  return lines.join('\n')
}
