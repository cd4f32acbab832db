// The processor runtime on the real broker: exactly-once outputs, changelogged state that
// survives a restart and a hand-over, and dead letters for bad input.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { ProduceAcks, Producer, stringSerializers } from '@platformatic/kafka'
import { connectAdmin, ensureTopics } from '../../src/kafka/admin.ts'
import { type InputRecord, type OutputRecord, type Processor, ProcessorRuntime } from '../../src/kafka/processor.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { deleteTopics, readTopic, testBrokers, testContext } from '../helpers/kafka.ts'

interface Event {
  n: number
}

/** Counts events per key; emits {key, n, count}. */
function countingProcessor(output: string, name = 'counter'): Processor<Event> {
  return {
    name,
    decode(value) {
      const parsed = JSON.parse(value.toString()) as Event
      if (typeof parsed.n !== 'number') throw new Error('field n must be a number')
      return parsed
    },
    process(records: InputRecord<Event>[], { store }): OutputRecord[] {
      return records.map((record) => {
        const key = record.key ?? 'none'
        const count = (store.get<{ count: number }>(key)?.count ?? 0) + 1
        store.put(key, { count })
        return { topic: output, key, value: JSON.stringify({ key, n: record.value.n, count }) }
      })
    },
  }
}

async function produce(topic: string, from: number, to: number, extra: { key: string; value: string }[] = []) {
  const producer = new Producer({
    clientId: 'test-input',
    bootstrapBrokers: testBrokers(),
    serializers: stringSerializers,
    idempotent: true,
    acks: ProduceAcks.ALL,
  })
  const messages = []
  for (let n = from; n < to; n++) messages.push({ topic, key: `k${n % 10}`, value: JSON.stringify({ n }) })
  for (const record of extra) messages.push({ topic, ...record })
  await producer.send({ messages })
  await producer.close()
}

const context = testContext()
const input = `${context.topicPrefix}input`
const output = `${context.topicPrefix}output`
const created: string[] = []
after(() => deleteTopics([...new Set(created)]))

async function setup(topics = [input, output, topicName(context.topicPrefix, 'deadLetters')], name = 'counter') {
  const admin = await connectAdmin(context)
  await ensureTopics(
    admin,
    topics.map((name) => ({ name, partitions: 3, replicationFactor: 1, compacted: false })),
  )
  created.push(...topics, `${context.topicPrefix}lookout-${name}-state-changelog`)
  await admin.close()
}

function checkCounts(records: { value: string }[]) {
  const byKey = new Map<string, number[]>()
  for (const record of records) {
    const { key, count } = JSON.parse(record.value) as { key: string; count: number }
    byKey.set(key, [...(byKey.get(key) ?? []), count])
  }
  for (const [key, counts] of byKey) {
    assert.deepEqual(
      counts,
      counts.map((_, i) => i + 1),
      `counts of ${key} run 1..n without gaps or repeats`,
    )
  }
}

test('outputs exactly once, state survives restart and hand-over, bad records go to dead letters', async () => {
  await setup()
  await produce(input, 0, 1_000, [
    { key: 'k1', value: 'not json' },
    { key: 'k2', value: '{"n":"text"}' },
  ])

  const first = new ProcessorRuntime(context, countingProcessor(output), { inputTopics: [input], instanceId: 'a' })
  await first.start()
  let seen = await readTopic(output, { count: 1_000, timeoutMs: 30_000 })
  assert.equal(seen.length, 1_000)
  await first.stop()

  const deadLetters = await readTopic(topicName(context.topicPrefix, 'deadLetters'), { count: 2, timeoutMs: 10_000 })
  assert.equal(deadLetters.length, 2)
  const values = deadLetters.map((r) => r.value).sort()
  assert.deepEqual(values, ['not json', '{"n":"text"}'].sort())

  // a new instance restores the counts from the changelog and carries on
  await produce(input, 1_000, 2_000)
  const second = new ProcessorRuntime(context, countingProcessor(output), { inputTopics: [input], instanceId: 'b' })
  await second.start()
  seen = await readTopic(output, { count: 2_000, timeoutMs: 30_000 })
  assert.equal(seen.length, 2_000)
  assert.deepEqual((second.stateOf<{ count: number }>('k3') ?? { count: 0 }).count, 200)

  // a second instance joins; partitions move; the stream continues exactly once
  const third = new ProcessorRuntime(context, countingProcessor(output), { inputTopics: [input], instanceId: 'c' })
  await third.start()
  await produce(input, 2_000, 3_000)
  seen = await readTopic(output, { count: 3_000, timeoutMs: 40_000 })
  await Promise.all([second.stop(), third.stop()])
  seen = await readTopic(output, { timeoutMs: 3_000 })
  assert.equal(seen.length, 3_000, 'no output lost or duplicated')
  assert.equal(new Set(seen.map((r) => JSON.parse(r.value).n)).size, 3_000)
  checkCounts(seen)
})

test('a rebalance while fetched records wait in the buffer: each record processed once', async () => {
  // the consumer reads again from the committed offsets whenever the group rebalances, also
  // for the partitions an instance keeps, while what it fetched before is still buffered
  const from = `${context.topicPrefix}input-buffered`
  const to = `${context.topicPrefix}output-buffered`
  await setup([from, to], 'slow-counter')
  await produce(from, 0, 3_000)
  const counting = countingProcessor(to, 'slow-counter')
  const slow: Processor<Event> = {
    ...counting,
    process(records, processorContext) {
      const until = Date.now() + 30
      while (Date.now() < until) {} // a slow batch: the buffer fills meanwhile
      return counting.process(records, processorContext)
    },
  }
  const options = { inputTopics: [from], maxBatchRecords: 100 }
  const first = new ProcessorRuntime(context, slow, { ...options, instanceId: 'a' })
  await first.start()
  await readTopic(to, { count: 300, timeoutMs: 60_000 })
  const second = new ProcessorRuntime(context, slow, { ...options, instanceId: 'b' })
  await second.start()
  await readTopic(to, { count: 3_000, timeoutMs: 90_000 })
  await Promise.all([first.stop(), second.stop()])
  const seen = await readTopic(to, { timeoutMs: 3_000 })
  assert.equal(seen.length, 3_000, 'no output lost or duplicated')
  assert.equal(new Set(seen.map((r) => JSON.parse(r.value).n)).size, 3_000)
  checkCounts(seen)
})

test('processor.slowBatchMs 0 logs every batch with where its time went', async () => {
  const slowInput = `${context.topicPrefix}slow-input`
  const slowOutput = `${context.topicPrefix}slow-output`
  await setup([slowInput, slowOutput, topicName(context.topicPrefix, 'deadLetters')], 'timed-counter')
  await produce(slowInput, 0, 50)
  const lines: string[] = []
  const write = process.stderr.write.bind(process.stderr)
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
    if (String(chunk).includes('slow batch')) lines.push(String(chunk))
    return write(chunk, ...rest)
  }) as typeof process.stderr.write
  const runtime = new ProcessorRuntime(context, countingProcessor(slowOutput, 'timed-counter'), {
    inputTopics: [slowInput],
    slowBatchMs: 0,
  })
  try {
    await runtime.start()
    assert.equal((await readTopic(slowOutput, { count: 50, timeoutMs: 30_000 })).length, 50)
  } finally {
    await runtime.stop()
    process.stderr.write = write
  }
  const batches = lines.filter((line) => line.includes('processor=timed-counter'))
  assert.ok(batches.length >= 1, 'at least one batch logged')
  let records = 0
  for (const line of batches) {
    for (const field of ['assignmentMs', 'processMs', 'beginMs', 'sendMs', 'offsetsMs', 'commitMs'])
      assert.match(line, new RegExp(` ${field}=\\d+`), `${field} in ${line}`)
    records += Number(/ records=(\d+)/.exec(line)?.[1])
  }
  assert.equal(records, 50, 'the logged batches hold every record')
})
