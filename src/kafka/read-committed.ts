// read_committed, completed. The Kafka client (@platformatic/kafka 2.12) asks the broker for
// read_committed fetches, so it never sees an open transaction's records, but its own filter of
// ABORTED transactions is wrong: per producer it keeps one range, from the first offset of the
// last aborted transaction the fetch response lists for it to the LAST abort marker of that
// producer in the response, and drops every batch of the producer in it. A committed
// transaction between an aborted one and a later abort marker (a transaction aborted after
// adding the partition but before writing to it: a produce refused while the partition's leader
// moved) is dropped whole, offsets and all: in a three-broker fault run, 3,159 events between
// aggregate-route and aggregate, read by the aggregator and by the reconciliation alike. And an
// earlier aborted transaction of the same producer in the response is let through.
// `dropAbortedRecords` takes the fetch responses before that filter: it drops the records of
// aborted transactions the way Kafka's own consumer does (`dropAborted`) and hands the client a
// response without the list of aborted transactions, so its filter does nothing.

import { kGetApi } from '@platformatic/kafka'

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

type Callback = (error: (Error & { response?: unknown }) | null, result?: unknown) => void
type Api = (...args: unknown[]) => unknown
type GetApi = (name: string, callback: (error: Error | null, api?: Api) => void) => void

/**
 * Makes `consumer` (a read_committed Consumer) drop the records of aborted transactions, and
 * only those: every Fetch response passes through `dropAborted`, and then carries no list of
 * aborted transactions, so the client's own filter (see above) leaves it as it is.
 */
export function dropAbortedRecords<C extends object>(consumer: C): C {
  const target = consumer as unknown as Record<typeof kGetApi, GetApi>
  const getApi = target[kGetApi].bind(consumer)
  target[kGetApi] = (name, callback) =>
    getApi(name, (error, api) => {
      if (error || name !== 'Fetch' || !api) {
        callback(error, api)
        return
      }
      callback(null, (...args: unknown[]) => {
        const done = args[args.length - 1] as Callback
        return api(...args.slice(0, -1), ((fetchError, result) => {
          const response = result ?? fetchError?.response
          if (response) {
            dropAborted(response)
            for (const topic of (response as FetchResponse).responses ?? [])
              for (const partition of topic.partitions ?? []) partition.abortedTransactions = []
          }
          done(fetchError, result)
        }) as Callback)
      })
    })
  return consumer
}
