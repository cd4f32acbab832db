// dropAborted: the records of aborted transactions leave a fetch response as Kafka's own
// consumer drops them (the client library hands them out otherwise).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { dropAborted } from '../../src/kafka/read-committed.ts'

const transactional = 1 << 4
const control = 1 << 5

function batch(firstOffset: number, count: number, producerId: number, attributes = transactional) {
  return {
    firstOffset: BigInt(firstOffset),
    lastOffsetDelta: count - 1,
    attributes,
    producerId: BigInt(producerId),
    records: Array.from({ length: count }, (_, i) => ({ offsetDelta: i })),
  }
}

test('batches of an aborted transaction are emptied up to its marker; committed ones and others stay', () => {
  const batches = [
    batch(0, 2, 7), // committed transaction of producer 7
    batch(2, 1, 7, transactional | control), // its COMMIT
    batch(3, 3, 7), // aborted transaction of producer 7 …
    batch(6, 2, 9), // … interleaved with producer 9's committed one
    batch(8, 1, 7), // still producer 7's aborted transaction
    batch(9, 1, 7, transactional | control), // its ABORT
    batch(10, 1, 9, transactional | control), // producer 9's COMMIT
    batch(11, 4, 7), // producer 7's next transaction, committed
    batch(15, 1, 7, transactional | control),
    batch(16, 2, 3, 0), // not transactional
  ]
  const response = {
    responses: [{ partitions: [{ abortedTransactions: [{ producerId: 7n, firstOffset: 3n }], records: batches }] }],
  }
  assert.equal(dropAborted(response), 4)
  assert.deepEqual(
    batches.map((b) => b.records.length),
    [2, 1, 0, 2, 0, 1, 1, 4, 1, 2],
  )
  // offsets are kept, so the consumer moves past the aborted records
  assert.equal(batches[4]!.firstOffset, 8n)
})

test('an aborted transaction that began before the fetched range is still dropped', () => {
  const batches = [batch(100, 3, 5), batch(103, 1, 5, transactional | control), batch(104, 2, 5)]
  const response = {
    responses: [{ partitions: [{ abortedTransactions: [{ producerId: 5n, firstOffset: 90n }], records: batches }] }],
  }
  assert.equal(dropAborted(response), 3)
  assert.deepEqual(
    batches.map((b) => b.records.length),
    [0, 1, 2],
  )
})

test('a response without aborted transactions is left alone', () => {
  const batches = [batch(0, 3, 1)]
  assert.equal(dropAborted({ responses: [{ partitions: [{ abortedTransactions: null, records: batches }] }] }), 0)
  assert.equal(batches[0]!.records.length, 3)
  assert.equal(dropAborted(undefined), 0)
})
