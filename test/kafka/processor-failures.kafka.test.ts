// The processor runtime's failure policy on the real broker: a record that makes process() throw
// in the middle of a batch goes to the dead-letter topic with its reason and coordinates while
// every other record is processed exactly once and the partition keeps flowing; a failure that
// is not the record's fault is retried, reported on health() and processor_stalled, and
// recovers without losing the record.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import {
  Consumer,
  FetchIsolationLevels,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka'
import { Registry } from 'prom-client'
import { ErrorCodes, LookoutError } from '../../src/errors.ts'
import { connectAdmin, ensureTopics } from '../../src/kafka/admin.ts'
import { type InputRecord, type OutputRecord, type Processor, ProcessorRuntime } from '../../src/kafka/processor.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { deleteTopicsWithPrefix, readTopic, testBrokers, testContext, uniqueName } from '../helpers/kafka.ts'

interface Event {
  n: number
}

const context = testContext()
const deadLetterTopic = topicName(context.topicPrefix, 'deadLetters')
after(() => deleteTopicsWithPrefix(context.topicPrefix))

async function createTopics(names: string[], partitions: number): Promise<void> {
  const admin = await connectAdmin(context)
  try {
    await ensureTopics(
      admin,
      names.map((name) => ({ name, partitions, replicationFactor: 1, compacted: false })),
    )
  } finally {
    await admin.close()
  }
}

async function produce(topic: string, from: number, to: number): Promise<void> {
  const producer = new Producer({
    clientId: 'test-input',
    bootstrapBrokers: testBrokers(),
    serializers: stringSerializers,
    idempotent: true,
    acks: ProduceAcks.ALL,
  })
  const messages = []
  for (let n = from; n < to; n++) messages.push({ topic, key: `k${n % 7}`, value: JSON.stringify({ n }) })
  await producer.send({ messages })
  await producer.close()
}

/**
 * Counts events per key in the store and emits {n, key, count}. `fail(n)` returns the error to
 * throw for event n (after the store write, which must not survive) or undefined.
 */
function counting(name: string, output: string, fail: (n: number) => Error | undefined): Processor<Event> {
  return {
    name,
    decode: (value) => JSON.parse(value.toString()) as Event,
    process(records: InputRecord<Event>[], { store }): OutputRecord[] {
      return records.map((record) => {
        const key = record.key ?? 'none'
        const count = (store.get<number>(key) ?? 0) + 1
        store.put(key, count)
        const error = fail(record.value.n)
        if (error) throw error
        return { topic: output, key, value: JSON.stringify({ n: record.value.n, key, count }) }
      })
    },
  }
}

/** Every output once, and each key's counts 1..m: no record counted twice, none lost from state. */
function checkExactlyOnce(records: { value: string }[], expected: number[]) {
  const values = records.map((r) => JSON.parse(r.value) as { n: number; key: string; count: number })
  const ns = values.map((v) => v.n).sort((a, b) => a - b)
  assert.deepEqual(ns, expected, 'each record processed exactly once')
  const counts = new Map<string, number[]>()
  for (const v of values) counts.set(v.key, [...(counts.get(v.key) ?? []), v.count])
  for (const [key, list] of counts)
    assert.deepEqual(
      list.sort((a, b) => a - b),
      list.map((_, i) => i + 1),
      `counts of ${key} run 1..m: the failed record's store write was discarded`,
    )
}

async function readDeadLetters(): Promise<{ value: string; headers: Map<string, string> }[]> {
  const consumer = new Consumer({
    clientId: 'lookout-test-dead-letters',
    groupId: uniqueName('dead-letters'),
    bootstrapBrokers: testBrokers(),
    deserializers: stringDeserializers,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 200,
  })
  const records: { value: string; headers: Map<string, string> }[] = []
  const stream = await consumer.consume({ topics: [deadLetterTopic], mode: 'earliest', autocommit: false })
  const timeout = setTimeout(() => void stream.close(), 3_000)
  try {
    for await (const message of stream) {
      records.push({ value: message.value, headers: new Map(message.headers) })
    }
  } finally {
    clearTimeout(timeout)
    await stream.close().catch(() => {})
    await consumer.close(true).catch(() => {})
  }
  return records
}

async function metric(registry: Registry, name: string): Promise<number> {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? []
  return values.reduce((sum, v) => sum + v.value, 0)
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

test('a record that makes process() throw mid-batch is dead-lettered; the rest exactly once; the partition flows on', async () => {
  const input = `${context.topicPrefix}poison-input`
  const output = `${context.topicPrefix}poison-output`
  await createTopics([input, output, deadLetterTopic], 1)
  // all produced before the runtime starts: the first batch holds every record, the poison in the middle
  await produce(input, 0, 500)
  const poison = 250
  let poisonCalls = 0
  const processor = counting('poison', output, (n) => {
    if (n !== poison) return undefined
    poisonCalls++
    return new Error(`cannot score event ${n}`)
  })
  const registry = new Registry()
  const runtime = new ProcessorRuntime(context, processor, {
    inputTopics: [input],
    instanceId: 'a',
    registry,
    retryBaseDelayMs: 50,
  })
  await runtime.start()
  try {
    const seen = await readTopic(output, { count: 499, timeoutMs: 30_000 })
    assert.equal(seen.length, 499)

    const [deadLetter, ...others] = await readDeadLetters()
    assert.equal(others.length, 0)
    assert.ok(deadLetter, 'the poison record is in the dead-letter topic')
    assert.deepEqual(JSON.parse(deadLetter.value), { n: poison }, 'with its original value')
    assert.match(deadLetter.headers.get('lookout.reason') ?? '', /cannot score event 250/)
    assert.equal(deadLetter.headers.get('lookout.processor'), 'poison')
    assert.equal(deadLetter.headers.get('lookout.source.topic'), input)
    assert.equal(deadLetter.headers.get('lookout.source.partition'), '0')
    assert.equal(deadLetter.headers.get('lookout.source.offset'), String(poison))
    // a whole-batch attempt, its retry, then the record on its own
    assert.equal(poisonCalls, 3)
    assert.equal(await metric(registry, 'processor_record_failures_total'), 1)
    assert.equal(await metric(registry, 'processor_dead_letters_total'), 1)
    assert.equal(await metric(registry, 'processor_transactions_aborted_total'), 2)
    assert.equal(await metric(registry, 'processor_stalled'), 0)
    assert.deepEqual(runtime.health(), { ok: true })

    // the partition keeps flowing
    await produce(input, 500, 600)
    await readTopic(output, { count: 599, timeoutMs: 30_000 })
  } finally {
    await runtime.stop()
  }
  const all = await readTopic(output, { timeoutMs: 3_000 })
  checkExactlyOnce(
    all,
    Array.from({ length: 600 }, (_, n) => n).filter((n) => n !== poison),
  )
  assert.equal(poisonCalls, 3, 'the dead-lettered record is not processed again')
})

test('a retryable failure is retried, reported as a stall, and recovers without losing the record', async () => {
  const input = `${context.topicPrefix}flaky-input`
  const output = `${context.topicPrefix}flaky-output`
  await createTopics([input, output, deadLetterTopic], 1)
  await produce(input, 0, 100)
  let available = false
  let attempts = 0
  const processor = counting('flaky', output, (n) => {
    if (n !== 40 || available) return undefined
    attempts++
    return new LookoutError(ErrorCodes.KAFKA_UNREACHABLE, 'the feature service is unreachable', { retryable: true })
  })
  const registry = new Registry()
  const runtime = new ProcessorRuntime(context, processor, {
    inputTopics: [input],
    instanceId: 'a',
    registry,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 200,
    stallAfterFailures: 3,
  })
  await runtime.start()
  try {
    await waitFor(() => !runtime.health().ok, 30_000, 'the runtime to report a stall')
    const health = runtime.health()
    assert.equal(health.ok, false)
    assert.match(
      health.reason ?? '',
      /^processor flaky \(instance a\) makes no progress: \d+ failed attempts in a row.*feature service is unreachable/,
    )
    assert.equal(await metric(registry, 'processor_stalled'), 1)
    assert.ok(attempts >= 3)

    available = true
    const seen = await readTopic(output, { count: 100, timeoutMs: 30_000 })
    assert.equal(seen.length, 100, 'nothing was dead-lettered or lost')
    await waitFor(() => runtime.health().ok, 10_000, 'the runtime to recover')
    assert.equal(await metric(registry, 'processor_stalled'), 0)
    assert.equal(await metric(registry, 'processor_record_failures_total'), 0)
  } finally {
    await runtime.stop()
  }
  checkExactlyOnce(
    await readTopic(output, { timeoutMs: 3_000 }),
    Array.from({ length: 100 }, (_, n) => n),
  )
})
