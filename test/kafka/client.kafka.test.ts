// The Kafka guarantees Lookout builds on, checked on the real broker.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import {
  Admin,
  Consumer,
  type Message,
  ProduceAcks,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka'
import { createTopic, deleteTopics, readTopic, testBrokers, uniqueName } from '../helpers/kafka.ts'

const topics: string[] = []
after(() => deleteTopics(topics))

async function newTopic(partitions = 3): Promise<string> {
  const name = uniqueName('client')
  topics.push(name)
  await createTopic(name, partitions)
  return name
}

test('a produced record round-trips with its key, value and headers', async () => {
  const topic = await newTopic(1)
  const producer = new Producer({ clientId: 'test', bootstrapBrokers: testBrokers(), serializers: stringSerializers })
  try {
    await producer.send({ messages: [{ topic, key: 'user-1', value: '{"amount":12.5}', headers: { source: 'test' } }] })
  } finally {
    await producer.close()
  }
  const [record] = await readTopic(topic, { count: 1 })
  assert.equal(record?.key, 'user-1')
  assert.equal(record?.value, '{"amount":12.5}')
})

test('an idempotent producer gets a producer id and writes each record once, in order per key', async () => {
  const topic = await newTopic(3)
  const producer = new Producer({
    clientId: 'test-idempotent',
    bootstrapBrokers: testBrokers(),
    serializers: stringSerializers,
    idempotent: true,
    acks: ProduceAcks.ALL,
  })
  try {
    await producer.initIdempotentProducer({})
    assert.ok(producer.producerId !== undefined && producer.producerId >= 0n, 'producer id assigned')
    for (let batch = 0; batch < 10; batch++) {
      await producer.send({
        messages: Array.from({ length: 50 }, (_, i) => ({
          topic,
          key: `user-${i % 5}`,
          value: String(batch * 50 + i),
        })),
      })
    }
  } finally {
    await producer.close()
  }
  const records = await readTopic(topic, { count: 500 })
  assert.equal(records.length, 500)
  assert.equal(new Set(records.map((r) => r.value)).size, 500, 'no duplicates')
  for (let user = 0; user < 5; user++) {
    const values = records.filter((r) => r.key === `user-${user}`).map((r) => Number(r.value))
    assert.deepEqual(
      values,
      [...values].sort((a, b) => a - b),
      `user-${user} in order`,
    )
    assert.equal(new Set(records.filter((r) => r.key === `user-${user}`).map((r) => r.partition)).size, 1)
  }
})

test('a committed transaction is visible to read_committed consumers and an aborted one is not', async () => {
  const topic = await newTopic(2)
  const producer = new Producer({
    clientId: 'test-tx',
    bootstrapBrokers: testBrokers(),
    serializers: stringSerializers,
    idempotent: true,
    transactionalId: uniqueName('tx'),
    acks: ProduceAcks.ALL,
  })
  try {
    const committed = await producer.beginTransaction()
    await committed.send({
      messages: [
        { topic, key: 'a', value: 'committed-1' },
        { topic, key: 'b', value: 'committed-2' },
      ],
    })
    await committed.commit()

    const aborted = await producer.beginTransaction()
    await aborted.send({
      messages: [
        { topic, key: 'a', value: 'aborted-1' },
        { topic, key: 'b', value: 'aborted-2' },
      ],
    })
    await aborted.abort()

    const last = await producer.beginTransaction()
    await last.send({ messages: [{ topic, key: 'c', value: 'committed-3' }] })
    await last.commit()
  } finally {
    await producer.close()
  }
  const committedView = await readTopic(topic, { count: 3, readCommitted: true })
  assert.deepEqual(committedView.map((r) => r.value).sort(), ['committed-1', 'committed-2', 'committed-3'])
  const uncommittedView = await readTopic(topic, { count: 5, readCommitted: false })
  assert.ok(
    uncommittedView.some((r) => r.value.startsWith('aborted')),
    'read_uncommitted sees the aborted records',
  )
})

test('one transaction commits the offsets of several topics and partitions in one request (addOffsets), or none when aborted', async () => {
  // the processor runtime commits a batch's offsets this way (patches/@platformatic+kafka+2.12.1.patch)
  const three = await newTopic(3)
  const one = await newTopic(1)
  const output = await newTopic(1)
  const groupId = uniqueName('group')
  const input = new Producer({
    clientId: 'test-input',
    bootstrapBrokers: testBrokers(),
    serializers: stringSerializers,
  })
  const messages = []
  for (let i = 0; i < 30; i++) messages.push({ topic: three, key: `k${i}`, value: String(i), partition: i % 3 })
  for (let i = 0; i < 4; i++) messages.push({ topic: one, key: `k${i}`, value: String(i), partition: 0 })
  await input.send({ messages })
  await input.close()

  const consumer = new Consumer({
    clientId: 'test-offsets',
    groupId,
    bootstrapBrokers: testBrokers(),
    deserializers: stringDeserializers,
    maxWaitTime: 200,
  })
  const producer = new Producer({
    clientId: 'test-offsets-tx',
    bootstrapBrokers: testBrokers(),
    serializers: stringSerializers,
    idempotent: true,
    transactionalId: uniqueName('tx'),
    acks: ProduceAcks.ALL,
  })
  const admin = new Admin({ clientId: 'test-offsets-admin', bootstrapBrokers: testBrokers() })
  const committed = async () => {
    const [group] = await admin.listConsumerGroupOffsets({
      groups: [
        {
          groupId,
          topics: [
            { name: three, partitionIndexes: [0, 1, 2] },
            { name: one, partitionIndexes: [0] },
          ],
        },
      ],
      requireStable: true,
    })
    const offsets: Record<string, number> = {}
    for (const topic of group?.topics ?? [])
      for (const partition of topic.partitions)
        offsets[`${topic.name === three ? 'three' : 'one'}:${partition.partitionIndex}`] = Number(
          partition.committedOffset,
        )
    return offsets
  }
  try {
    const stream = await consumer.consume({ topics: [three, one], mode: 'earliest', autocommit: false })
    const last = new Map<string, Message<string, string, string, string>>()
    let seen = 0
    const deadline = Date.now() + 20_000
    for await (const message of stream) {
      last.set(`${message.topic}:${message.partition}`, message)
      if (++seen === 34 || Date.now() > deadline) break
    }
    assert.equal(seen, 34)
    assert.equal(last.size, 4, 'a record of every partition')
    const member = {
      groupId,
      generationId: consumer.generationId,
      memberId: consumer.memberId,
      coordinatorId: consumer.coordinatorId!,
    }
    const lastMessages = [...last.values()].map((message) => ({ ...message, metadata: { consumer: member } }))

    const aborted = await producer.beginTransaction()
    await aborted.addConsumer(consumer)
    await aborted.send({ messages: [{ topic: output, value: 'aborted' }] })
    await aborted.addOffsets(lastMessages)
    await aborted.abort()
    const afterAbort = await committed()
    assert.ok(
      Object.values(afterAbort).every((offset) => offset < 0),
      `no offset committed by an aborted transaction: ${JSON.stringify(afterAbort)}`,
    )

    const transaction = await producer.beginTransaction()
    await transaction.addConsumer(consumer)
    await transaction.send({ messages: [{ topic: output, value: 'committed' }] })
    await transaction.addOffsets(lastMessages)
    await transaction.commit()
    assert.deepEqual(await committed(), { 'three:0': 10, 'three:1': 10, 'three:2': 10, 'one:0': 4 })
    await stream.close()
  } finally {
    await producer.close()
    await consumer.close(true)
    await admin.close()
  }
})

test('two consumers in one group split the partitions between them', async () => {
  const topic = await newTopic(4)
  const groupId = uniqueName('group')
  const consumers = [0, 1].map(
    (i) =>
      new Consumer({
        clientId: `test-member-${i}`,
        groupId,
        bootstrapBrokers: testBrokers(),
        deserializers: stringDeserializers,
        sessionTimeout: 10_000,
        heartbeatInterval: 500,
        maxWaitTime: 200,
      }),
  )
  try {
    const streams = []
    for (const consumer of consumers) {
      streams.push(await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: true }))
    }
    // wait for the group to settle with both members
    const deadline = Date.now() + 20_000
    const assigned = () =>
      consumers.map((c) => (c.assignments ?? []).flatMap((a) => (a.topic === topic ? a.partitions : [])).sort())
    while (Date.now() < deadline) {
      const [first, second] = assigned()
      if (first && second && first.length > 0 && second.length > 0 && first.length + second.length === 4) break
      await new Promise((r) => setTimeout(r, 200))
    }
    const [first, second] = assigned()
    assert.ok(first && second)
    assert.equal(first.length + second.length, 4, `assignments ${JSON.stringify(assigned())}`)
    assert.ok(first.length > 0 && second.length > 0, 'both members own partitions')
    assert.deepEqual(new Set([...first, ...second]), new Set([0, 1, 2, 3]), 'no partition owned twice')
    for (const stream of streams) await stream.close()
  } finally {
    await Promise.all(consumers.map((c) => c.close(true)))
  }
})
