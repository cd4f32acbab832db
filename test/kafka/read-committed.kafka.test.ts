// read_committed through the real broker: a committed transaction between an aborted one and a
// later transaction that was aborted without writing to the partition (its produce refused) is
// read whole. The Kafka client's own filter drops it (one range per producer, up to its last
// abort marker in the fetch response); dropAbortedRecords keeps it and drops only the aborted.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { ProduceAcks, Producer } from '@platformatic/kafka'
import { connectAdmin, ensureTopics } from '../../src/kafka/admin.ts'
import { deleteTopicsWithPrefix, readTopic, testContext } from '../helpers/kafka.ts'

const context = testContext()
after(() => deleteTopicsWithPrefix(context.topicPrefix))

test('a committed transaction between aborted ones is read whole; aborted records are not', async () => {
  const topic = `${context.topicPrefix}txn`
  const admin = await connectAdmin(context)
  try {
    await ensureTopics(admin, [{ name: topic, partitions: 1, replicationFactor: 1, compacted: false }])
  } finally {
    await admin.close()
  }
  const newProducer = () =>
    new Producer<Buffer, Buffer, string, string>({
      clientId: 'lookout-test-txn',
      bootstrapBrokers: [...context.brokers],
      idempotent: true,
      acks: ProduceAcks.ALL,
      transactionalId: `${context.topicPrefix}txn-producer`,
      producerId: -1n,
      producerEpoch: -1,
    })
  let producer = newProducer()
  const message = (value: string | Buffer) => ({
    topic,
    partition: 0,
    key: Buffer.from('k'),
    value: typeof value === 'string' ? Buffer.from(value) : value,
  })
  try {
    // 1. aborted, with records
    let transaction = await producer.beginTransaction()
    await transaction.send({ messages: [message('aborted-1'), message('aborted-2')] })
    await transaction.abort()
    // 2. committed
    transaction = await producer.beginTransaction()
    await transaction.send({ messages: [message('committed-1'), message('committed-2'), message('committed-3')] })
    await transaction.commit()
    // 3. the partition joins the transaction, the broker refuses the record (over 1 MB), abort:
    //    an abort marker without records before it
    transaction = await producer.beginTransaction()
    await assert.rejects(transaction.send({ messages: [message(Buffer.alloc(2 * 1024 * 1024, 120))] }))
    await transaction.abort()
    // 4. committed, after it (by a new producer of the transactional id, as the processor does
    //    after a failed transaction: the old one's sequence numbers count the refused record)
    await producer.close()
    producer = newProducer()
    transaction = await producer.beginTransaction()
    await transaction.send({ messages: [message('committed-4')] })
    await transaction.commit()
  } finally {
    await producer.close()
  }
  const values = (await readTopic(topic, { count: 4, timeoutMs: 15_000 })).map((record) => record.value)
  assert.deepEqual(values, ['committed-1', 'committed-2', 'committed-3', 'committed-4'])
})
