// Kafka plumbing of the fault runs: reading a topic to its end with read_committed, a monitor
// that notes when committed records arrive on each partition, and a source producer that
// survives broker restarts.
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  Consumer,
  FetchIsolationLevels,
  type Message,
  type MessagesStream,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka'
import { dropAbortedRecords } from '../../src/kafka/read-committed.ts'

type Raw = Message<Buffer, Buffer, Buffer, Buffer>
type FetchCallback = (error: Error | null, response: unknown) => void
interface FetchResponse {
  responses?: { partitions?: { partitionIndex: number; records?: RawBatch[] | null }[] }[]
}

export interface ReadRecord {
  topic: string
  partition: number
  offset: bigint
  key: string | undefined
  value: Buffer
  headers: Map<string, string>
}

/**
 * When each transaction that wrote to `topic` committed, per partition: the timestamps of the
 * COMMIT markers (the coordinator writes them when the commit completes; same machine, same
 * clock as the driver), in offset order.
 */
export async function commitTimes(brokers: readonly string[], topic: string): Promise<Map<number, number[]>> {
  const times = new Map<number, number[]>()
  await readToEnd(brokers, topic, 300_000, (partition, batch) => {
    if (!(batch.attributes & (1 << 5))) return
    const key = (batch.records[0] as { key?: Buffer } | undefined)?.key
    if (!key || key.length < 4 || key.readInt16BE(2) !== 1) return // 1 = COMMIT
    const list = times.get(partition) ?? []
    list.push(Number(batch.firstTimestamp))
    times.set(partition, list)
  })
  return times
}

interface RawBatch {
  attributes: number
  firstTimestamp: bigint
  records: unknown[]
}

/**
 * Every committed record of `topic` (read_committed, from the beginning up to the last stable
 * offset of each partition at the time of the call), in offset order per partition.
 */
export async function readToEnd(
  brokers: readonly string[],
  topic: string,
  timeoutMs = 300_000,
  onBatch?: (partition: number, batch: RawBatch) => void,
): Promise<ReadRecord[]> {
  const consumer = dropAbortedRecords(
    new Consumer<Buffer, Buffer, Buffer, Buffer>({
      clientId: 'lookout-faults-reader',
      groupId: `lookout-faults-reader-${randomUUID().slice(0, 8)}`,
      bootstrapBrokers: [...brokers],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      autocommit: false,
      maxWaitTime: 100,
      // large fetch responses lose records in the client (2.12.1): a 32 MB read of a topic written
      // in many transactions returned 154,423 of its 200,021 records, a 1 MB one all of them
      maxBytes: 1024 * 1024,
    }),
  )
  if (onBatch) {
    // sees every batch of the fetch responses, control batches included
    const target = consumer as unknown as { fetch: (options: unknown, callback: FetchCallback) => unknown }
    const fetch = target.fetch.bind(consumer)
    target.fetch = (options, callback) =>
      fetch(options, (error, response) => {
        if (!error)
          for (const t of (response as FetchResponse).responses ?? [])
            for (const p of t.partitions ?? []) for (const batch of p.records ?? []) onBatch(p.partitionIndex, batch)
        callback(error, response)
      })
  }
  const records: ReadRecord[] = []
  try {
    const metadata = await consumer.metadata({ topics: [topic] })
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0
    const partitions = Array.from({ length: count }, (_, i) => i)
    const ends =
      (
        await consumer.listOffsets({
          topics: [topic],
          partitions: { [topic]: partitions },
          isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        })
      ).get(topic) ?? []
    const remaining = new Set(partitions.filter((p) => (ends[p] ?? 0n) > 0n))
    if (remaining.size === 0) return records
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + timeoutMs
      const check = setInterval(() => {
        for (const p of [...remaining])
          if ((stream.offsetsToFetch.get(`${topic}:${p}`) ?? 0n) >= (ends[p] ?? 0n)) remaining.delete(p)
        if (remaining.size === 0) finish()
        else if (Date.now() > deadline) finish(new Error(`reading ${topic} to its end timed out`))
      }, 20)
      const finish = (error?: Error) => {
        clearInterval(check)
        stream.removeAllListeners('data')
        if (error) reject(error)
        else resolve()
      }
      stream.on('data', (message: Raw) => {
        if (message.offset >= (ends[message.partition] ?? 0n)) return
        const headers = new Map<string, string>()
        for (const [k, v] of message.headers ?? []) headers.set(k.toString(), v.toString())
        records.push({
          topic,
          partition: message.partition,
          offset: message.offset,
          key: message.key?.length ? message.key.toString() : undefined,
          value: message.value ?? Buffer.alloc(0),
          headers,
        })
      })
      stream.on('error', (error: Error) => finish(error))
    })
    await stream.close().catch(() => {})
  } finally {
    await consumer.close(true).catch(() => {})
  }
  records.sort((a, b) => a.partition - b.partition || (a.offset < b.offset ? -1 : a.offset > b.offset ? 1 : 0))
  return records
}

/**
 * Notes the wall-clock time at which committed records of each topic partition arrive
 * (read_committed, so a record arrives once its transaction committed). Survives broker
 * restarts: the consumer is rebuilt and offsets already seen are ignored.
 */
export class ArrivalMonitor {
  readonly arrivals = new Map<string, number[]>()
  readonly counts = new Map<string, number>()
  readonly #seen = new Map<string, bigint>()
  readonly #brokers: readonly string[]
  readonly #topics: string[]
  readonly #group = `lookout-faults-monitor-${randomUUID().slice(0, 8)}`
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
  #running = false
  #loop: Promise<void> | undefined

  constructor(brokers: readonly string[], topics: string[]) {
    this.#brokers = brokers
    this.#topics = topics
  }

  async start(): Promise<void> {
    this.#running = true
    await this.#subscribe()
    this.#loop = this.#watch()
  }

  async #subscribe(): Promise<void> {
    const consumer = dropAbortedRecords(
      new Consumer<Buffer, Buffer, Buffer, Buffer>({
        clientId: 'lookout-faults-monitor',
        groupId: this.#group,
        bootstrapBrokers: [...this.#brokers],
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        autocommit: 1_000,
        maxWaitTime: 50,
        // large fetch responses lose records in the client (2.12.1): a 32 MB read of a topic written
        // in many transactions returned 154,423 of its 200,021 records, a 1 MB one all of them
        maxBytes: 1024 * 1024,
      }),
    )
    this.#consumer = consumer
    try {
      const stream = await consumer.consume({
        topics: this.#topics,
        mode: 'committed',
        fallbackMode: 'earliest',
      })
      this.#stream = stream
      stream.on('data', (message: Raw) => {
        const key = `${message.topic}:${message.partition}`
        const seen = this.#seen.get(key)
        if (seen !== undefined && message.offset <= seen) return
        this.#seen.set(key, message.offset)
        const list = this.arrivals.get(key)
        if (list) list.push(Date.now())
        else this.arrivals.set(key, [Date.now()])
        this.counts.set(message.topic, (this.counts.get(message.topic) ?? 0) + 1)
      })
    } catch (error) {
      await consumer.close(true).catch(() => {})
      throw error
    }
  }

  async #watch(): Promise<void> {
    while (this.#running) {
      const stream = this.#stream
      if (stream && !stream.closed) {
        await new Promise<void>((resolve) => {
          const timer = setInterval(() => {
            if (!this.#running || stream.closed) {
              clearInterval(timer)
              resolve()
            }
          }, 200)
          stream.once('error', () => {
            clearInterval(timer)
            resolve()
          })
        })
      }
      if (!this.#running) return
      await this.#stream?.close().catch(() => {})
      await this.#consumer?.close(true).catch(() => {})
      this.#stream = undefined
      await sleep(500)
      await this.#subscribe().catch(() => {})
    }
  }

  /** Committed records seen on `topic` so far. */
  count(topic: string): number {
    return this.counts.get(topic) ?? 0
  }

  /**
   * The time from `at` until every partition of `topic` that has records after `at` got its
   * first one (undefined when none has).
   */
  recovery(topic: string, partitions: number, at: number): number | undefined {
    let worst: number | undefined
    for (let p = 0; p < partitions; p++) {
      const first = (this.arrivals.get(`${topic}:${p}`) ?? []).find((time) => time > at)
      if (first !== undefined) worst = Math.max(worst ?? 0, first - at)
    }
    return worst
  }

  async stop(): Promise<void> {
    this.#running = false
    await this.#stream?.close().catch(() => {})
    await this.#loop
    await this.#consumer?.close(true).catch(() => {})
  }
}

/**
 * An idempotent acks=all producer that retries a failed send for as long as `patienceMs`
 * (a broker restart), so that a source writes every event once.
 */
export class PatientProducer {
  readonly #producer: Producer<Buffer, Buffer, Buffer, Buffer>
  resends = 0

  constructor(brokers: readonly string[], name: string) {
    this.#producer = new Producer<Buffer, Buffer, Buffer, Buffer>({
      clientId: `lookout-faults-${name}`,
      bootstrapBrokers: [...brokers],
      idempotent: true,
      acks: ProduceAcks.ALL,
      retries: 240,
      retryDelay: 250,
      serializers: {
        key: (k?: Buffer) => k,
        value: (v?: Buffer) => v,
        headerKey: (k?: Buffer) => k,
        headerValue: (v?: Buffer) => v,
      },
    })
  }

  async send(
    messages: { topic: string; key?: Buffer; value: Buffer; partition?: number }[],
    patienceMs = 120_000,
  ): Promise<void> {
    const deadline = Date.now() + patienceMs
    for (;;) {
      try {
        await this.#producer.send({ messages })
        return
      } catch (error) {
        if (Date.now() > deadline) throw error
        // the idempotent producer's sequence numbers were not acknowledged: sending again may
        // write the batch twice, which the reconciliation reports as source duplicates
        this.resends++
        await sleep(500)
      }
    }
  }

  async close(): Promise<void> {
    await this.#producer.close().catch(() => {})
  }
}
