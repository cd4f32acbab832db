// The aggregate service through the real broker: the payments source with a 7-day backfill,
// the aggregator (its own process) killed with SIGKILL mid-stream and started again; every
// final window equals the brute force over the payments (less those reported late for it),
// and no window is closed twice. And an aggregation over a schema declared in the config,
// read from the schema's own topic with the schema's event time.
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { after, test } from 'node:test'
import loginsTemplate from '../../schemas/logins.json' with { type: 'json' }
import { loadConfig } from '../../src/config/load.ts'
import type { Payment } from '../../src/core/events.ts'
import { fieldValue, passesFilter } from '../../src/core/windows/aggregation.ts'
import { windowStarts } from '../../src/core/windows/window.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { configuredAggregations } from '../../src/services/aggregate.ts'
import { root, runCli } from '../helpers/cli.ts'
import { deleteTopicsWithPrefix, readTopic, testBrokers, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics } from '../helpers/pipeline.ts'

const context = testContext()
// the declared-schema test's own topics, groups and state (the other test's aggregator state would be restored)
const declaredContext = testContext()
const children: ChildProcess[] = []
after(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL')
  await deleteTopicsWithPrefix(context.topicPrefix)
  await deleteTopicsWithPrefix(declaredContext.topicPrefix)
})

const latenessMs = 10_000
const idleTimeoutMs = 5_000
const common = ['--brokers', testBrokers().join(','), '--topics-prefix', context.topicPrefix]

function startAggregator(env: Record<string, string> = {}, prefix = context.topicPrefix): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      resolve(root, 'src/cli/main.ts'),
      'run',
      'aggregate',
      '--brokers',
      testBrokers().join(','),
      '--topics-prefix',
      prefix,
      '--aggregate-port',
      '0',
      '--processor-max-batch',
      '1000',
      '--aggregate-lateness-ms',
      String(latenessMs),
      '--aggregate-idle-timeout-ms',
      String(idleTimeoutMs),
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } },
  )
  const index = children.length
  logTails[index] = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    if (process.env.TEST_VERBOSE) process.stderr.write(`[aggregate] ${chunk}`)
    logTails[index] = `${logTails[index] ?? ''}${chunk}`.slice(-3_000)
  })
  children.push(child)
  return child
}

/** The end of each aggregator's log, for a failure's message (the log is shown with TEST_VERBOSE only). */
const logTails: string[] = []
const aggregatorLogs = () => logTails.map((tail, i) => `--- aggregator ${i + 1}, last lines:\n${tail}`).join('\n')

async function waitForLog(child: ChildProcess, pattern: RegExp, timeoutMs = 60_000): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    let text = ''
    const timer = setTimeout(() => reject(new Error(`no ${pattern} in time:\n${text.slice(-2000)}`)), timeoutMs)
    child.stderr?.on('data', (chunk: Buffer) => {
      text += chunk
      if (pattern.test(text)) {
        clearTimeout(timer)
        resolvePromise()
      }
    })
  })
}

/** Reads `topic` from the beginning (read_committed) until `done` says so or `timeoutMs` passed. */
async function follow(topic: string, timeoutMs: number, done: (value: string) => boolean): Promise<void> {
  const { Consumer, FetchIsolationLevels, stringDeserializers } = await import('@platformatic/kafka')
  const consumer = new Consumer({
    clientId: 'lookout-test-follower',
    groupId: `follower-${Date.now()}`,
    bootstrapBrokers: testBrokers(),
    deserializers: stringDeserializers,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 200,
  })
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
  const timeout = setTimeout(() => void stream.close(), timeoutMs)
  try {
    for await (const message of stream) if (done(message.value)) break
  } finally {
    clearTimeout(timeout)
    await stream.close().catch(() => {})
    await consumer.close(true).catch(() => {})
  }
}

interface Final {
  aggregation: string
  key: string
  windowStart: string
  windowEnd: string
  values: Record<string, number | null>
  final: boolean
}

test('payments with a 7-day backfill through aggregate, SIGKILLed mid-stream: final windows equal the brute force', {
  timeout: 540_000,
}, async () => {
  await ensurePipelineTopics(context)
  const aggregations = configuredAggregations(loadConfig({ env: {} }))
  let aggregator = startAggregator()
  await waitForLog(aggregator, /running/)

  const produced = runCli(
    [
      'produce',
      'payments',
      ...common,
      '--init-mode',
      'flush',
      '--backfill',
      '10000',
      '--count',
      '1',
      '--rate',
      'max',
      '--port',
      '0',
    ],
    { timeoutMs: 120_000 },
  )
  const windowTopic = topicName(context.topicPrefix, 'windowAggregates')
  // part of the stream aggregated: kill the aggregator without warning, then start it again
  await readTopic(windowTopic, { count: 2_000, timeoutMs: 120_000 })
  aggregator.kill('SIGKILL')
  await new Promise((r) => setTimeout(r, 1_000))
  const result = await produced
  assert.equal(result.code, 0, result.stderr)
  aggregator = startAggregator()
  await waitForLog(aggregator, /running/)

  const payments = (
    await readTopic(topicName(context.topicPrefix, 'rawTransactions'), { count: 10_001, timeoutMs: 60_000 })
  ).map((record) => JSON.parse(record.value) as Payment)
  assert.equal(payments.length, 10_001)
  const startedMs = Date.now()

  // brute force: every window of every aggregation over all the payments
  const expected = new Map<string, { count: number; sum: number; ids: Set<string> }>()
  for (const payment of payments)
    for (const aggregation of aggregations) {
      if (!passesFilter(payment, aggregation.filter)) continue
      for (const start of windowStarts(Date.parse(payment.timestamp), aggregation.window)) {
        const key = `${aggregation.name}|${fieldValue(payment, aggregation.key)}|${new Date(start).toISOString()}`
        const entry = expected.get(key) ?? { count: 0, sum: 0, ids: new Set() }
        entry.count++
        entry.sum += payment.amount
        entry.ids.add(payment.transaction_id)
        expected.set(key, entry)
      }
    }
  // windows that must be closed: those ending before the wall clock (less the lateness) once the stream is idle
  const mustClose = [...expected.keys()].filter((key) => {
    const [name, , start] = key.split('|')
    const definition = aggregations.find((d) => d.name === name)!
    return Date.parse(start!) + definition.window.sizeMs + definition.graceMs < startedMs - latenessMs - 1_000
  })
  assert.ok(mustClose.length > 5_000, `${mustClose.length} windows to close`)

  const finals = new Map<string, Final>()
  const twice: string[] = []
  const pending = new Set(mustClose)
  let read = 0
  await follow(windowTopic, 180_000, (text) => {
    read++
    const value = JSON.parse(text) as Final
    if (!value.final) return false
    const key = `${value.aggregation}|${value.key}|${value.windowStart}`
    if (finals.has(key)) twice.push(key)
    finals.set(key, value)
    pending.delete(key)
    return pending.size === 0
  })
  assert.deepEqual(twice, [], 'no window closed twice')
  const missing = mustClose.filter((key) => !finals.has(key))
  assert.deepEqual(
    missing.slice(0, 5),
    [],
    `${missing.length} windows never closed (${read} window records read, ${finals.size} final)\n${aggregatorLogs()}`,
  )

  const late = (await readTopic(topicName(context.topicPrefix, 'lateEvents'), { timeoutMs: 5_000 })).map(
    (record) => JSON.parse(record.value) as { aggregation: string; key: string; windowStart: string; id: string },
  )
  const lateIds = new Map<string, Set<string>>()
  for (const entry of late) {
    const key = `${entry.aggregation}|${entry.key}|${entry.windowStart}`
    const ids = lateIds.get(key) ?? new Set()
    assert.ok(!ids.has(entry.id), `${entry.id} reported late twice for ${key}`)
    ids.add(entry.id)
    lateIds.set(key, ids)
  }
  for (const [key, final] of finals) {
    const entry = expected.get(key)
    assert.ok(entry, `${key} has payments`)
    const missed = lateIds.get(key) ?? new Set<string>()
    let sum = 0
    for (const payment of payments)
      if (entry.ids.has(payment.transaction_id) && !missed.has(payment.transaction_id)) sum += payment.amount
    assert.equal(final.values.count, entry.count - missed.size, `${key}: count = brute force less its late events`)
    if (final.values.sum !== undefined) assert.equal(final.values.sum, sum, `${key}: sum`)
  }
  process.stderr.write(
    `aggregate failover: ${payments.length} payments, ${finals.size} final windows, ${late.length} late (event, window) pairs\n`,
  )
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM')
})

test("an aggregation over a declared schema reads the schema's topic, on the schema's event time", {
  timeout: 240_000,
}, async () => {
  await ensurePipelineTopics(declaredContext)
  const topic = `${declaredContext.topicPrefix}logins`
  // the shipped template, on this test's own topic
  const schema = { ...loginsTemplate, topic }
  const aggregation = {
    name: 'logins-per-user',
    kind: 'logins',
    key: 'user',
    sizeMs: 60_000,
    aggregates: ['count', 'sum:network.latency_ms'],
  }
  const aggregator = startAggregator(
    {
      LOOKOUT_SCHEMAS: JSON.stringify([schema]),
      LOOKOUT_AGGREGATE_AGGREGATIONS: JSON.stringify([aggregation]),
    },
    declaredContext.topicPrefix,
  )
  // the service creates the schema's topic
  await waitForLog(aggregator, /running/)

  // 2,000 logins of 10 users over 1,000 s of event time (epoch seconds, as the schema allows)
  const t0 = Date.UTC(2026, 0, 1) / 1000
  const logins = Array.from({ length: 2_000 }, (_, i) => ({
    login_id: `l-${i}`,
    user: `u${i % 10}`,
    at: t0 + i / 2,
    country: 'NL',
    device: 'd',
    network: { latency_ms: (i * 7) % 31 },
    fraud: false,
  }))
  const producer = createProducer(declaredContext, { name: 'test-logins' })
  try {
    await producer.send({
      messages: logins.map((login) => ({
        topic,
        key: Buffer.from(login.user),
        value: Buffer.from(JSON.stringify(login)),
      })),
    })
  } finally {
    await producer.close()
  }

  const expected = new Map<string, { count: number; sum: number }>()
  for (const login of logins) {
    const start = Math.floor((login.at * 1000) / 60_000) * 60_000
    const key = `${login.user}|${new Date(start).toISOString()}`
    const entry = expected.get(key) ?? { count: 0, sum: 0 }
    entry.count++
    entry.sum += login.network.latency_ms
    expected.set(key, entry)
  }
  // the stream stops: every window closes within the idle timeout
  const finals = new Map<string, Final>()
  const twice: string[] = []
  await follow(topicName(declaredContext.topicPrefix, 'windowAggregates'), 120_000, (text) => {
    const value = JSON.parse(text) as Final
    if (value.aggregation !== aggregation.name || !value.final) return false
    const key = `${value.key}|${value.windowStart}`
    if (finals.has(key)) twice.push(key)
    finals.set(key, value)
    return finals.size >= expected.size
  })
  aggregator.kill('SIGTERM')
  assert.deepEqual(twice, [])
  assert.equal(expected.size, 170)
  assert.deepEqual(
    [...finals].map(([key, final]) => [key, final.values]).sort(),
    [...expected].map(([key, values]) => [key, values]).sort(),
  )
})
