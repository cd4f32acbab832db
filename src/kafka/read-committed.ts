// read_committed, completed. The Kafka client (@platformatic/kafka 2.12) asks the broker for
// read_committed fetches, so it never sees an open transaction's records, but it hands out the
// records of ABORTED transactions: it skips control batches and ignores the fetch response's
// list of aborted transactions. A processor whose batch failed after sending part of its
// outputs (a crash, a fenced commit, a broker restart) leaves such records behind, and the next
// stage read them as if committed: the same event twice, state restored from aborted changelog
// writes. `dropAbortedRecords` filters every fetch response the way Kafka's own consumer does.

/**
 * Bytes per fetch response for every read_committed reader: the same client loses records of
 * larger responses (a 32 MB read of a topic written in many transactions returned 154,423 of
 * its 200,021 records).
 */
export const fetchMaxBytes = 1024 * 1024

const isTransactional = 1 << 4
const isControl = 1 << 5

interface Batch {
  firstOffset: bigint
  lastOffsetDelta: number
  attributes: number
  producerId: bigint
  records: unknown[]
}

interface FetchPartition {
  abortedTransactions?: { producerId: bigint; firstOffset: bigint }[] | null
  records?: Batch[] | null
}

interface FetchResponse {
  responses?: { partitions?: FetchPartition[] }[]
}

/**
 * Empties the batches of aborted transactions in a fetch response (their offsets stay, so the
 * consumer's position moves past them): a transactional batch of a producer whose aborted
 * transaction began at or before it is dropped until that producer's next control marker.
 * Returns how many records were dropped.
 */
export function dropAborted(response: unknown): number {
  let dropped = 0
  for (const topic of (response as FetchResponse | undefined)?.responses ?? []) {
    for (const partition of topic.partitions ?? []) {
      const aborted = [...(partition.abortedTransactions ?? [])].sort((a, b) =>
        a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
      )
      if (aborted.length === 0 || !partition.records) continue
      const abortedProducers = new Set<bigint>()
      let next = 0
      for (const batch of partition.records) {
        if (!(batch.attributes & isTransactional)) continue
        const lastOffset = batch.firstOffset + BigInt(batch.lastOffsetDelta)
        while (next < aborted.length && aborted[next]!.firstOffset <= lastOffset)
          abortedProducers.add(aborted[next++]!.producerId)
        if (batch.attributes & isControl) {
          // the marker that ends the producer's transaction (an aborted one ends with ABORT)
          abortedProducers.delete(batch.producerId)
          continue
        }
        if (abortedProducers.has(batch.producerId)) {
          dropped += batch.records.length
          batch.records = []
        }
      }
    }
  }
  return dropped
}

type FetchCallback = (error: Error | null, response: unknown) => void

/** Makes `consumer` (a read_committed Consumer) drop the records of aborted transactions. */
export function dropAbortedRecords<C extends object>(consumer: C): C {
  const target = consumer as unknown as { fetch: (options: unknown, callback?: FetchCallback) => unknown }
  const original = target.fetch.bind(consumer)
  target.fetch = (options: unknown, callback?: FetchCallback) => {
    if (!callback)
      return (original(options) as Promise<unknown>).then((response) => {
        dropAborted(response)
        return response
      })
    return original(options, (error, response) => {
      if (!error) dropAborted(response)
      callback(error, response)
    })
  }
  return consumer
}
