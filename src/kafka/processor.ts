import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  Consumer,
  FetchIsolationLevels,
  type GroupPartitionsAssignments,
  type Message,
  type MessagesStream,
  type MessageToProduce,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { describeError } from '../errors.ts'
import { logger } from '../log.ts'
import { connectAdmin, ensureTopics } from './admin.ts'
import type { KafkaContext } from './context.ts'
import { StateStore } from './state-store.ts'
import { changelogTopic, topicName } from './topics.ts'

type RawMessage = Message<Buffer, Buffer, Buffer, Buffer>

export interface InputRecord<T> {
  topic: string
  partition: number
  offset: bigint
  key: string | undefined
  value: T
  /** Broker/producer timestamp, ms. */
  timestamp: number
  headers: Map<string, string>
}

export interface OutputRecord {
  topic: string
  key?: string
  value: string | Buffer
  headers?: Record<string, string>
  partition?: number
}

export interface ProcessorContext {
  partition: number
  store: StateStore
}

/**
 * Lookout's unit of stream processing. The runtime hands it the records of one input
 * partition at a time, in offset order, and writes what it returns, the store's changes and
 * the input offsets in one transaction.
 */
export interface Processor<T> {
  /** Names the consumer group, the transactional ids and the state changelog. */
  readonly name: string
  /** Parses and validates one record; throws with a reason for records to dead-letter. */
  decode(value: Buffer, key: string | undefined): T
  process(records: InputRecord<T>[], context: ProcessorContext): OutputRecord[]
  /** Called after each committed batch (outside the transaction), e.g. for side effects. */
  afterCommit?(outputs: OutputRecord[]): void | Promise<void>
}

export interface RuntimeOptions {
  inputTopics: string[]
  /** Distinguishes instances of one processor (transactional id suffix). */
  instanceId?: string
  maxBatchRecords?: number
  maxBatchWaitMs?: number
  /** Keep a changelogged per-partition state store. */
  stateful?: boolean
  registry?: Registry
  sessionTimeoutMs?: number
}

const log = logger('processor')

/** Bytes of records per produce request inside a transaction (below the 1 MB broker default). */
const maxChunkBytes = 900 * 1024

/** A batch slower than this is logged with where its time went. */
const slowBatchMs = 500

function headerMap(headers: Map<Buffer, Buffer> | undefined): Map<string, string> {
  const map = new Map<string, string>()
  if (headers) for (const [key, value] of headers) map.set(key.toString(), value.toString())
  return map
}

type RuntimeMetrics = ReturnType<typeof createMetrics>

function createMetrics(registry: Registry | undefined) {
  const registers = registry ? [registry] : []
  const labelNames = ['processor', 'instance']
  return {
    records: new Counter({ name: 'processor_records_total', help: 'input records processed', labelNames, registers }),
    outputs: new Counter({ name: 'processor_outputs_total', help: 'output records written', labelNames, registers }),
    deadLetters: new Counter({
      name: 'processor_dead_letters_total',
      help: 'records sent to the dead-letter topic',
      labelNames,
      registers,
    }),
    commits: new Counter({
      name: 'processor_transactions_committed_total',
      help: 'batches committed',
      labelNames,
      registers,
    }),
    aborts: new Counter({
      name: 'processor_transactions_aborted_total',
      help: 'batches aborted (and reprocessed)',
      labelNames,
      registers,
    }),
    batchSeconds: new Histogram({
      name: 'processor_batch_seconds',
      help: 'time to process and commit one batch',
      labelNames,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    lag: new Gauge({
      name: 'processor_consumer_lag',
      help: 'records behind the end of the input partitions owned by this instance',
      labelNames,
      registers,
    }),
    partitions: new Gauge({
      name: 'processor_assigned_partitions',
      help: 'input partitions owned by this instance',
      labelNames,
      registers,
    }),
  }
}

const metricsByRegistry = new WeakMap<Registry, RuntimeMetrics>()

/** One set of metric families per registry; instances are told apart by labels. */
function metrics(registry: Registry | undefined): RuntimeMetrics {
  if (!registry) return createMetrics(undefined)
  let existing = metricsByRegistry.get(registry)
  if (!existing) {
    existing = createMetrics(registry)
    metricsByRegistry.set(registry, existing)
  }
  return existing
}

/**
 * Runs a Processor exactly once: consume (read_committed) → process → produce outputs,
 * changelog writes and input offsets in one Kafka transaction. On any failure the
 * transaction is aborted, pending state dropped, and consumption restarts from the last
 * committed offsets, so nothing is lost or duplicated.
 */
export class ProcessorRuntime<T> {
  readonly #context: KafkaContext
  readonly #processor: Processor<T>
  readonly #options: Required<Omit<RuntimeOptions, 'registry'>> & { registry?: Registry }
  readonly #groupId: string
  readonly #changelog: string
  readonly #deadLetters: string
  readonly #metrics: RuntimeMetrics
  readonly #labels: { processor: string; instance: string }
  readonly #stores = new Map<number, StateStore>()
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined
  #producer: Producer<Buffer, Buffer, string, string> | undefined
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
  #buffer: RawMessage[] = []
  #wake: (() => void) | undefined
  #running = false
  #loop: Promise<void> | undefined
  #generation = -1
  #lagTimer: NodeJS.Timeout | undefined
  processed = 0

  constructor(context: KafkaContext, processor: Processor<T>, options: RuntimeOptions) {
    this.#context = context
    this.#processor = processor
    this.#options = {
      instanceId: randomUUID().slice(0, 8),
      maxBatchRecords: 5_000,
      maxBatchWaitMs: 10,
      stateful: true,
      sessionTimeoutMs: 10_000,
      ...options,
    }
    this.#groupId = `${context.topicPrefix}lookout-${processor.name}`
    this.#changelog = changelogTopic(context.topicPrefix, `lookout-${processor.name}`, 'state')
    this.#deadLetters = topicName(context.topicPrefix, 'deadLetters')
    this.#metrics = metrics(options.registry)
    this.#labels = { processor: processor.name, instance: this.#options.instanceId }
  }

  get groupId(): string {
    return this.#groupId
  }

  /** The state of `key` in whichever local store holds it (for tests and the console). */
  stateOf<S>(key: string): S | undefined {
    for (const store of this.#stores.values()) {
      const value = store.get<S>(key)
      if (value !== undefined) return value
    }
    return undefined
  }

  get assignedPartitions(): number[] {
    return (this.#consumer?.assignments ?? []).flatMap((a) => a.partitions)
  }

  async start(): Promise<void> {
    const admin = await connectAdmin(this.#context)
    try {
      if (this.#options.stateful) {
        const metadata = await admin.metadata({ topics: this.#options.inputTopics })
        const partitions = Math.max(
          ...this.#options.inputTopics.map((t) => metadata.topics.get(t)?.partitionsCount ?? 1),
        )
        await ensureTopics(admin, [
          { name: this.#changelog, partitions, replicationFactor: this.#context.replicationFactor, compacted: true },
        ])
      }
    } finally {
      await admin.close()
    }
    this.#producer = new Producer<Buffer, Buffer, string, string>({
      clientId: `${this.#context.clientId}-${this.#processor.name}-${this.#options.instanceId}`,
      bootstrapBrokers: [...this.#context.brokers],
      idempotent: true,
      acks: ProduceAcks.ALL,
      transactionalId: `${this.#groupId}-${this.#options.instanceId}`,
      // also the transaction timeout: a crashed instance's open transaction is aborted after it
      timeout: 10_000,
      // A new transaction right after a commit often meets CONCURRENT_TRANSACTIONS while the
      // coordinator writes the markers; retry it in milliseconds, not the default second.
      retries: 20,
      retryDelay: (_client, _operation, attempt) => Math.min(1_000, 10 * 2 ** attempt),
      serializers: {
        key: (k?: Buffer) => k,
        value: (v?: Buffer) => v,
        headerKey: (k?: string) => (k === undefined ? undefined : Buffer.from(k)),
        headerValue: (v?: string) => (v === undefined ? undefined : Buffer.from(v)),
      },
    })
    this.#running = true
    await this.#subscribe()
    this.#lagTimer = setInterval(() => void this.#updateLag(), 2_000)
    this.#loop = this.#run()
  }

  async #subscribe(): Promise<void> {
    this.#consumer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      clientId: `${this.#context.clientId}-${this.#processor.name}-${this.#options.instanceId}`,
      groupId: this.#groupId,
      bootstrapBrokers: [...this.#context.brokers],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      autocommit: false,
      sessionTimeout: this.#options.sessionTimeoutMs,
      heartbeatInterval: 1_000,
      rebalanceTimeout: this.#options.sessionTimeoutMs,
      maxWaitTime: 20,
      maxBytes: 16 * 1024 * 1024,
    })
    this.#stream = await this.#consumer.consume({
      topics: this.#options.inputTopics,
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
    })
    this.#stream.on('data', (message: RawMessage) => {
      this.#buffer.push(message)
      if (this.#buffer.length >= this.#options.maxBatchRecords * 4) this.#stream?.pause()
      if (this.#buffer.length >= this.#options.maxBatchRecords) this.#wake?.()
    })
    this.#stream.on('error', (error: Error) =>
      log.warn('consumer stream error', { processor: this.#processor.name, error }),
    )
  }

  async #resubscribe(): Promise<void> {
    this.#buffer = []
    await this.#stream?.close().catch(() => {})
    await this.#consumer?.close(true).catch(() => {})
    this.#stores.clear()
    this.#generation = -1
    if (this.#running) await this.#subscribe()
  }

  async #nextBatch(): Promise<RawMessage[]> {
    if (this.#buffer.length < this.#options.maxBatchRecords) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.#options.maxBatchWaitMs)
        function done() {
          clearTimeout(timer)
          resolve()
        }
        this.#wake = done
      })
      this.#wake = undefined
    }
    const batch = this.#buffer.splice(0, this.#options.maxBatchRecords)
    if (this.#stream?.isPaused() && this.#buffer.length < this.#options.maxBatchRecords) this.#stream.resume()
    return batch
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const batch = await this.#nextBatch()
      if (batch.length === 0) continue
      try {
        await this.#processBatch(batch)
      } catch (error) {
        this.#metrics.aborts.inc(this.#labels)
        log.warn('batch failed; aborting and resuming from the last committed offsets', {
          processor: this.#processor.name,
          error: describeError(error),
        })
        for (const store of this.#stores.values()) store.discardPending()
        const transaction = this.#producer?.transaction
        if (transaction && !transaction.completed) await transaction.abort().catch(() => {})
        await this.#resubscribe().catch((e) => log.error('resubscribe failed', { error: String(e) }))
        await sleep(200)
      }
    }
  }

  /** Drops stores of partitions this instance no longer owns and restores newly owned ones. */
  async #syncAssignment(): Promise<Set<string>> {
    const consumer = this.#consumer!
    const owned = new Set<string>()
    for (const assignment of consumer.assignments ?? []) {
      for (const partition of assignment.partitions) owned.add(`${assignment.topic}:${partition}`)
    }
    this.#metrics.partitions.set(this.#labels, owned.size)
    if (!this.#options.stateful) return owned
    const ownedPartitions = new Set([...owned].map((key) => Number(key.slice(key.lastIndexOf(':') + 1))))
    if (consumer.generationId !== this.#generation) {
      // after a rebalance another instance may have written a partition's changelog: restore all again
      this.#stores.clear()
      this.#generation = consumer.generationId
    }
    for (const partition of this.#stores.keys()) if (!ownedPartitions.has(partition)) this.#stores.delete(partition)
    const missing = [...ownedPartitions].filter((partition) => !this.#stores.has(partition))
    if (missing.length > 0) await this.#restore(missing)
    return owned
  }

  /** Reads the changelog partitions from the beginning up to their end into fresh stores. */
  async #restore(partitions: number[]): Promise<void> {
    const started = Date.now()
    const stores = new Map(partitions.map((p) => [p, new StateStore()]))
    const wanted = new Set(partitions)
    const restorer = new Consumer<Buffer, Buffer, Buffer, Buffer>({
      clientId: `${this.#context.clientId}-${this.#processor.name}-restore`,
      groupId: `${this.#groupId}-restore-${randomUUID().slice(0, 8)}`,
      bootstrapBrokers: [...this.#context.brokers],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      autocommit: false,
      maxWaitTime: 50,
      maxBytes: 32 * 1024 * 1024,
      // assign exactly the partitions being restored to this single-member group
      partitionAssigner: (_current, members, topics): GroupPartitionsAssignments[] =>
        [...members.keys()].map((memberId, index) => ({
          memberId,
          assignments: new Map(
            index === 0 ? [...topics].map((topic) => [topic, { topic, partitions: [...partitions] }]) : [],
          ),
        })),
    })
    let records = 0
    try {
      const ends = await restorer.listOffsets({
        topics: [this.#changelog],
        partitions: { [this.#changelog]: partitions },
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      })
      const endOffsets = ends.get(this.#changelog) ?? []
      const remaining = new Set(partitions.filter((p) => (endOffsets[p] ?? 0n) > 0n))
      if (remaining.size > 0) {
        const stream = await restorer.consume({ topics: [this.#changelog], mode: 'earliest', autocommit: false })
        const reached = () => {
          for (const partition of [...remaining]) {
            const next = stream.offsetsToFetch.get(`${this.#changelog}:${partition}`) ?? 0n
            if (next >= (endOffsets[partition] ?? 0n)) remaining.delete(partition)
          }
          return remaining.size === 0
        }
        const deadline = Date.now() + 120_000
        await new Promise<void>((resolve, reject) => {
          const check = setInterval(() => {
            if (reached()) finish()
            else if (Date.now() > deadline) finish(new Error(`restoring ${this.#changelog} timed out`))
          }, 20)
          const finish = (error?: Error) => {
            clearInterval(check)
            stream.removeAllListeners('data')
            if (error) reject(error)
            else resolve()
          }
          stream.on('data', (message: RawMessage) => {
            if (!wanted.has(message.partition) || !message.key) return
            if (message.offset >= (endOffsets[message.partition] ?? 0n)) return
            const text = message.value?.length ? message.value.toString() : undefined
            stores
              .get(message.partition)
              ?.restore(message.key.toString(), text === undefined ? undefined : JSON.parse(text))
            records++
          })
          stream.on('error', (error: Error) => finish(error))
        })
        await stream.close()
      }
    } finally {
      await restorer.close(true).catch(() => {})
    }
    for (const [partition, store] of stores) this.#stores.set(partition, store)
    log.info('restored state from changelog', {
      processor: this.#processor.name,
      partitions: partitions.join(','),
      records,
      keys: [...stores.values()].reduce((sum, s) => sum + s.size, 0),
      ms: Date.now() - started,
    })
  }

  async #processBatch(batch: RawMessage[]): Promise<void> {
    const stopTimer = this.#metrics.batchSeconds.startTimer(this.#labels)
    const t0 = performance.now()
    const owned = await this.#syncAssignment()
    const t1 = performance.now()
    const byPartition = new Map<string, RawMessage[]>()
    for (const message of batch) {
      const key = `${message.topic}:${message.partition}`
      if (!owned.has(key)) continue // revoked while buffered: its new owner processes it
      const list = byPartition.get(key)
      if (list) list.push(message)
      else byPartition.set(key, [message])
    }
    if (byPartition.size === 0) return

    const outputs: OutputRecord[] = []
    const deadLetters: OutputRecord[] = []
    const lastMessages: RawMessage[] = []
    for (const messages of byPartition.values()) {
      const partition = messages[0]!.partition
      const records: InputRecord<T>[] = []
      for (const message of messages) {
        const key = message.key?.length ? message.key.toString() : undefined
        try {
          if (!message.value) throw new Error('empty record value')
          records.push({
            topic: message.topic,
            partition,
            offset: message.offset,
            key,
            value: this.#processor.decode(message.value, key),
            timestamp: Number(message.timestamp),
            headers: headerMap(message.headers),
          })
        } catch (error) {
          deadLetters.push({
            topic: this.#deadLetters,
            ...(key === undefined ? {} : { key }),
            value: message.value ?? Buffer.alloc(0),
            headers: {
              'lookout.reason': error instanceof Error ? error.message : String(error),
              'lookout.processor': this.#processor.name,
              'lookout.source.topic': message.topic,
              'lookout.source.partition': String(partition),
              'lookout.source.offset': String(message.offset),
            },
          })
        }
      }
      let store = this.#stores.get(partition)
      if (!store) {
        store = new StateStore()
        this.#stores.set(partition, store)
      }
      if (records.length > 0)
        for (const output of this.#processor.process(records, { partition, store })) outputs.push(output)
      if (this.#options.stateful) {
        for (const [key, value] of store.pendingChanges()) {
          outputs.push({
            topic: this.#changelog,
            key,
            value: value === undefined ? '' : JSON.stringify(value),
            partition,
          })
        }
      }
      lastMessages.push(messages[messages.length - 1]!)
    }

    const t2 = performance.now()
    const producer = this.#producer!
    const transaction = await producer.beginTransaction()
    await transaction.addConsumer(this.#consumer!)
    const t3 = performance.now()
    const all = deadLetters.length ? outputs.concat(deadLetters) : outputs
    // Brokers refuse record batches over message.max.bytes (1 MB by default): send in chunks
    // small enough that no partition's batch can exceed it. All chunks are in the transaction.
    let chunk: MessageToProduce<Buffer, Buffer, string, string>[] = []
    let chunkBytes = 0
    for (const output of all) {
      const key = output.key === undefined ? undefined : Buffer.from(output.key)
      const value = typeof output.value === 'string' ? Buffer.from(output.value) : output.value
      chunk.push({
        topic: output.topic,
        key,
        value,
        ...(output.headers ? { headers: output.headers } : {}),
        ...(output.partition === undefined ? {} : { partition: output.partition }),
      })
      chunkBytes += value.length + (key?.length ?? 0) + 64
      if (output.headers)
        for (const name in output.headers) chunkBytes += name.length + output.headers[name]!.length + 8
      if (chunkBytes >= maxChunkBytes) {
        await transaction.send({ messages: chunk })
        chunk = []
        chunkBytes = 0
      }
    }
    if (chunk.length > 0) await transaction.send({ messages: chunk })
    const t4 = performance.now()
    for (const message of lastMessages) await transaction.addOffset(message)
    const t5 = performance.now()
    await transaction.commit()
    const t6 = performance.now()
    if (t6 - t0 > slowBatchMs) {
      log.warn('slow batch', {
        processor: this.#processor.name,
        records: batch.length,
        assignmentMs: Math.round(t1 - t0),
        processMs: Math.round(t2 - t1),
        beginMs: Math.round(t3 - t2),
        sendMs: Math.round(t4 - t3),
        offsetsMs: Math.round(t5 - t4),
        commitMs: Math.round(t6 - t5),
      })
    }
    for (const store of this.#stores.values()) store.commitPending()

    this.processed += batch.length
    this.#metrics.records.inc(this.#labels, batch.length)
    this.#metrics.outputs.inc(this.#labels, outputs.length)
    if (deadLetters.length) {
      this.#metrics.deadLetters.inc(this.#labels, deadLetters.length)
      log.warn('records sent to the dead-letter topic', { processor: this.#processor.name, count: deadLetters.length })
    }
    this.#metrics.commits.inc(this.#labels)
    stopTimer()
    if (this.#processor.afterCommit) await this.#processor.afterCommit(outputs)
  }

  async #updateLag(): Promise<void> {
    const consumer = this.#consumer
    if (!consumer || !this.#running) return
    try {
      const lag = await consumer.getLag({ topics: this.#options.inputTopics })
      let total = 0n
      for (const perPartition of lag.values()) for (const value of perPartition) if (value > 0n) total += value
      this.#metrics.lag.set(this.#labels, Number(total))
    } catch {
      // lag is best effort
    }
  }

  /** Finishes the batch in progress, commits it, leaves the group and closes the clients. */
  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    this.#wake?.()
    clearInterval(this.#lagTimer)
    await this.#loop
    await this.#stream?.close().catch(() => {})
    await this.#consumer?.close().catch(() => {})
    await this.#producer?.close().catch(() => {})
  }
}
