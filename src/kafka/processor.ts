import { randomUUID } from 'node:crypto'
import {
  type Admin,
  Consumer,
  FetchIsolationLevels,
  type GroupAssignment,
  type GroupPartitionsAssignments,
  type Message,
  type MessagesStream,
  type MessageToProduce,
  ProduceAcks,
  Producer,
} from '@platformatic/kafka'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { describeError, ErrorCodes, LookoutError } from '../errors.ts'
import { logger } from '../log.ts'
import { connectAdmin, ensureTopics } from './admin.ts'
import type { KafkaContext } from './context.ts'
import { dropAbortedRecords, fetchMaxBytes } from './read-committed.ts'
import { FailureStreak, isRetryable } from './retry.ts'
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
  headers: ReadonlyMap<string, string>
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
  /**
   * Parses and validates one record of input topic `topic`; throws with a reason for records
   * to dead-letter.
   */
  decode(value: Buffer, key: string | undefined, topic: string): T
  /**
   * Turns a partition's records into outputs, reading and writing the partition's store. Must
   * not depend on how the records are split into calls: after a failure the runtime calls it
   * again with the same records, or with one record at a time. An error that is not retryable
   * (see `isRetryable`) blames the records: the one that throws on its own is dead-lettered. A
   * retryable error (`LookoutError` with `retryable: true`) blames the moment: the batch is
   * retried with backoff.
   */
  process(records: InputRecord<T>[], context: ProcessorContext): OutputRecord[]
  /**
   * Keep the committed state as JSON text (`StateStoreOptions.serialized`): for a store of many
   * small values, such as a state per entity.
   */
  readonly serializedState?: boolean
  /** Called after each committed batch (outside the transaction), e.g. for side effects. */
  afterCommit?(outputs: OutputRecord[]): void | Promise<void>
}

export interface RuntimeOptions {
  /**
   * The topics to read. Several must be co-partitioned (the same number of partitions, keyed
   * alike): partition p of every one goes to the same instance and shares partition p's store.
   */
  inputTopics: string[]
  /** Distinguishes instances of one processor (transactional id suffix). */
  instanceId?: string
  maxBatchRecords?: number
  maxBatchWaitMs?: number
  /** A batch slower than this (ms) is logged with where its time went (0: every batch). */
  slowBatchMs?: number
  /** Keep a changelogged per-partition state store. */
  stateful?: boolean
  registry?: Registry
  sessionTimeoutMs?: number
  /** Backoff between attempts after a failed batch: doubles from `baseDelayMs` up to `maxDelayMs`. */
  retryBaseDelayMs?: number
  retryMaxDelayMs?: number
  /** This many failed attempts in a row, not attributable to a record, report the runtime stalled. */
  stallAfterFailures?: number
}

/** What `/health` shows for one runtime: `ok: false` while it cannot make progress, and why. */
export interface ProcessorHealth {
  ok: boolean
  reason?: string
}

const log = logger('processor')

/** Bytes of records per produce request inside a transaction (below the 1 MB broker default). */
const maxChunkBytes = 900 * 1024

/**
 * How long the runtime waits for another producer's transaction to finish (the previous owner's
 * of a partition): its offsets to become stable, or its changelog writes to be committed or
 * aborted. A killed instance's transaction ends when the coordinator times it out: the
 * producer's transaction timeout (10 s) plus up to the broker's 10 s abort check interval.
 */
const pendingTransactionWaitMs = 60_000

/** How long an idle processor waits for a record before its loop looks at its other work. */
const idleWaitMs = 100

/** The broker's default `message.max.bytes`: a larger output record would fail every transaction. */
const maxRecordBytes = 1_048_588

/** Room the broker's limit must leave for the framing of a batch of one record. */
const recordFramingBytes = 512

/**
 * `processor.process`, with its outputs checked: an output the broker would refuse (over 1 MB)
 * fails the call like a throw, so that the record that made it is dead-lettered instead of
 * aborting every attempt at the batch.
 */
export function processChecked<T>(
  processor: Pick<Processor<T>, 'process'>,
  records: InputRecord<T>[],
  context: ProcessorContext,
): OutputRecord[] {
  const outputs = processor.process(records, context)
  for (const output of outputs) {
    let bytes = (output.key === undefined ? 0 : Buffer.byteLength(output.key)) + Buffer.byteLength(output.value)
    if (output.headers) for (const name in output.headers) bytes += name.length + output.headers[name]!.length
    if (bytes > maxRecordBytes - recordFramingBytes)
      throw new Error(
        `an output record for ${output.topic} has ${bytes} bytes, over the broker's ${maxRecordBytes}-byte record limit`,
      )
  }
  return outputs
}

/**
 * `process()` threw for the records of one or more partitions. Nothing reached Kafka (the
 * transaction begins after processing), so the batch can be retried from memory.
 */
class ProcessingFailure extends Error {
  readonly failures: { key: string; from: bigint; to: bigint; error: unknown }[]

  constructor(failures: { key: string; from: bigint; to: bigint; error: unknown }[]) {
    const where = failures.map((f) => `${f.key} offsets ${f.from}..${f.to}`).join(', ')
    super(`process() threw for ${where}: ${describeError(failures[0]!.error)}`)
    this.failures = failures
  }

  /** Retryable when the processor says its failure is (e.g. a dependency that is down). */
  get retryable(): boolean {
    return this.failures.some((f) => isRetryable(f.error))
  }
}

/** One partition's records processed one at a time: the store and outputs of the good ones, the errors of the others by index. */
export interface Isolated {
  store: StateStore
  outputs: OutputRecord[]
  failed: Map<number, unknown>
}

/**
 * Processes one partition's records one at a time to find those that make process() throw on
 * their own (or return an output the broker would refuse, see `processChecked`). Each pass starts from a fresh copy of `base` (the partition's store as it was
 * before this call) and stops at the first record that throws; that record is set aside and the
 * pass starts over without it. The pass that gets through keeps its store and outputs: the state
 * and the outputs are exactly those of processing the good records, and nothing of a failed call
 * (its store writes, or whatever a processor cached against the store object) survives. The
 * runtime then commits everything in the batch's one transaction (outputs, changelog, dead
 * letters, offsets), which keeps the batch exactly once without a transaction per record. A
 * retryable error is not the record's fault: it is thrown, failing the batch instead.
 */
export function isolateRecords<T>(
  processor: Pick<Processor<T>, 'process'>,
  records: InputRecord<T>[],
  partition: number,
  base: StateStore,
): Isolated {
  const failed = new Map<number, unknown>()
  for (;;) {
    const store = base.copy(true)
    const outputs: OutputRecord[] = []
    let clean = true
    for (let index = 0; index < records.length; index++) {
      if (failed.has(index)) continue
      try {
        for (const output of processChecked(processor, [records[index]!], { partition, store })) outputs.push(output)
      } catch (error) {
        if (isRetryable(error)) throw error
        failed.set(index, error)
        clean = false
        break
      }
    }
    if (clean) return { store, outputs, failed }
  }
}

/**
 * Partition p of every input topic to one member (the members sorted by id, p modulo their
 * number), so that co-partitioned inputs meet in one instance and one store.
 */
export function copartitionedAssigner(
  _current: string,
  members: Map<string, unknown>,
  topics: Set<string>,
  metadata: { topics: Map<string, { partitionsCount: number }> },
): GroupPartitionsAssignments[] {
  const ids = [...members.keys()].sort()
  const assignments: GroupPartitionsAssignments[] = ids.map((memberId) => ({ memberId, assignments: new Map() }))
  for (const topic of topics) {
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0
    for (let partition = 0; partition < count; partition++) {
      const member = assignments[partition % ids.length]!.assignments
      const entry = member.get(topic) ?? { topic, partitions: [] }
      entry.partitions.push(partition)
      member.set(topic, entry)
    }
  }
  return assignments
}

/** Resolves after `ms`, or earlier when the function handed to `onWake` is called. */
function wakeableDelay(ms: number, onWake: (wake: () => void) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done() {
      clearTimeout(timer)
      resolve()
    }
    onWake(done)
  })
}

/** The headers of every record that has none (most): one map, not one per record. */
const noHeaders: ReadonlyMap<string, string> = new Map()

function headerMap(headers: Map<Buffer, Buffer> | undefined): ReadonlyMap<string, string> {
  if (headers === undefined || headers.size === 0) return noHeaders
  const map = new Map<string, string>()
  for (const [key, value] of headers) map.set(key.toString(), value.toString())
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
    recordFailures: new Counter({
      name: 'processor_record_failures_total',
      help: 'records that decoded but made process() throw, sent to the dead-letter topic',
      labelNames,
      registers,
    }),
    stalled: new Gauge({
      name: 'processor_stalled',
      help: '1 while the processor cannot make progress (repeated or non-retryable failures; /health says why)',
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
 * changelog writes and input offsets in one Kafka transaction.
 *
 * Failure policy. Any failure aborts the transaction and drops the batch's pending state
 * (stores are replaced by copies of their committed contents, so processors' caches keyed by
 * store start over too); the next attempt waits an exponential backoff.
 * - Kafka failed (a leader change, a coordinator moving, the broker unreachable, the consumer
 *   stream ending): consumption restarts from the last committed offsets. A transaction that
 *   was begun is settled first, by a new producer of the same transactional id (see #fence):
 *   a commit whose outcome is unknown has then either happened, and its offsets are read, or
 *   never will.
 * - `process()` threw a non-retryable error: the same batch is retried from memory. When the
 *   same offsets fail again, that partition's records are processed one at a time (see
 *   `isolateRecords`); a record that throws on its own goes to the dead-letter topic with the error
 *   and its source coordinates, and the rest commit in one transaction.
 * - Failures not attributable to a record (Kafka, or a retryable error from `process()`) that
 *   repeat `stallAfterFailures` times in a row, or are not retryable, mark the runtime stalled:
 *   `health()` answers `ok: false` with the reason and `processor_stalled` is 1 until a batch
 *   commits again, or until, with nothing to process, no failure has happened for twice the
 *   longest backoff. The runtime never gives up on its own.
 */
export class ProcessorRuntime<T> {
  readonly #context: KafkaContext
  readonly #processor: Processor<T>
  readonly #options: Required<Omit<RuntimeOptions, 'registry'>> & { registry?: Registry }
  /** Partitions (`topic:partition`) whose offsets `from..to` made process() throw, and how often. */
  readonly #suspects = new Map<string, { from: bigint; to: bigint; failures: number }>()
  /** Failed attempts in a row: the backoff, and whether the runtime is stalled. */
  readonly #streak: FailureStreak
  /** Why the consumer must be rebuilt before the next batch (its stream ended, a batch failed). */
  #resubscribeReason: unknown
  #wakePause: (() => void) | undefined
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
  /** Buffered records that end the current wait for records. */
  #wakeAt = 1
  #wake: (() => void) | undefined
  #running = false
  #loop: Promise<void> | undefined
  #generation = -1
  /** Group generation whose owned partitions' positions are in #positions. */
  #positionGeneration = -1
  /**
   * Per owned partition (`topic:partition`), the offset of the next record to process: the
   * stable committed offset when the generation began, then the end of each committed batch.
   * Records below it were processed already (see #processBatch).
   */
  readonly #positions = new Map<string, bigint>()
  /**
   * The consumer's group membership as its last completed rebalance left it: generation,
   * member id and assignment, noted together when the client reports the join. The client's
   * own `generationId` moves to the next generation as soon as the JoinGroup answer arrives,
   * while its assignment changes only after the SyncGroup: read one beside the other, they
   * can pair the next generation with the previous assignment.
   */
  #membership: { generationId: number; memberId: string | null; assignments: GroupAssignment[] } | undefined
  /** The group membership the current batch's offsets are committed under (see #syncAssignment). */
  #member: { groupId: string; generationId: number; memberId: string | null; coordinatorId: number | null } | undefined
  /** Set while a batch's transaction is begun and not committed. */
  #inTransaction = false
  /** Why the producer must be replaced, and its transactional id fenced, before the group is rejoined. */
  #fenceReason: unknown
  #admin: Admin | undefined
  #lagTimer: NodeJS.Timeout | undefined
  processed = 0

  constructor(context: KafkaContext, processor: Processor<T>, options: RuntimeOptions) {
    this.#context = context
    this.#processor = processor
    this.#options = {
      instanceId: randomUUID().slice(0, 8),
      maxBatchRecords: 5_000,
      maxBatchWaitMs: 0,
      slowBatchMs: 500,
      stateful: true,
      sessionTimeoutMs: 10_000,
      retryBaseDelayMs: 200,
      retryMaxDelayMs: 10_000,
      stallAfterFailures: 3,
      ...options,
    }
    this.#groupId = `${context.topicPrefix}lookout-${processor.name}`
    this.#changelog = changelogTopic(context.topicPrefix, `lookout-${processor.name}`, 'state')
    this.#deadLetters = topicName(context.topicPrefix, 'deadLetters')
    this.#metrics = metrics(options.registry)
    this.#labels = { processor: processor.name, instance: this.#options.instanceId }
    this.#metrics.stalled.set(this.#labels, 0)
    this.#streak = new FailureStreak({
      baseDelayMs: this.#options.retryBaseDelayMs,
      maxDelayMs: this.#options.retryMaxDelayMs,
      stallAfterFailures: this.#options.stallAfterFailures,
    })
  }

  /** `ok: false` with the reason while the runtime cannot make progress (see the failure policy). */
  health(): ProcessorHealth {
    const reason = this.#streak.stalled
    return reason === undefined ? { ok: true } : { ok: false, reason }
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

  #newStore(): StateStore {
    return new StateStore({ serialized: this.#processor.serializedState ?? false })
  }

  async start(): Promise<void> {
    const admin = await connectAdmin(this.#context)
    try {
      const inputs = this.#options.inputTopics
      const metadata = await admin.metadata({ topics: inputs })
      const counts = inputs.map((t) => metadata.topics.get(t)?.partitionsCount ?? 1)
      if (new Set(counts).size > 1)
        throw new LookoutError(
          ErrorCodes.CONFIG_INVALID,
          `processor ${this.#processor.name} reads ${inputs.map((t, i) => `${t} (${counts[i]} partitions)`).join(' and ')}, which must have as many partitions`,
          { hint: 'give its input topics the same partition count (topics.partitions when Lookout creates them)' },
        )
      if (this.#options.stateful) {
        const partitions = Math.max(...counts)
        await ensureTopics(admin, [
          { name: this.#changelog, partitions, replicationFactor: this.#context.replicationFactor, compacted: true },
        ])
      }
    } finally {
      await admin.close()
    }
    this.#producer = this.#createProducer()
    this.#running = true
    try {
      await this.#subscribe()
    } catch (error) {
      // e.g. the group's coordinator is on a broker that is down: the run loop joins later
      if (!isRetryable(error)) {
        this.#running = false
        throw error
      }
      this.#resubscribeReason = error
      this.#failed(error, false, 'joining the consumer group failed; retrying')
    }
    this.#lagTimer = setInterval(() => void this.#updateLag(), 2_000)
    this.#loop = this.#run()
  }

  #createProducer(): Producer<Buffer, Buffer, string, string> {
    return new Producer<Buffer, Buffer, string, string>({
      clientId: `${this.#context.clientId}-${this.#processor.name}-${this.#options.instanceId}`,
      bootstrapBrokers: [...this.#context.brokers],
      idempotent: true,
      acks: ProduceAcks.ALL,
      transactionalId: `${this.#groupId}-${this.#options.instanceId}`,
      // InitProducerId as a new producer (-1, -1): the coordinator bumps the transactional id's
      // epoch, fencing every earlier producer of it, and aborts the transaction it left open (or
      // completes the one it was committing) before answering. Without these the client (2.12.1)
      // sends producer id 0 and epoch 0, which the coordinator takes for producer 0 resuming:
      // PRODUCER_FENCED for a transactional id it knows under another producer id, and no
      // fencing at all (the same epoch, the open transaction carried on) for producer id 0.
      producerId: -1n,
      producerEpoch: -1,
      // also the transaction timeout: a crashed instance's open transaction is aborted after it
      timeout: 10_000,
      // A new transaction right after a commit often meets CONCURRENT_TRANSACTIONS while the
      // coordinator writes the markers (a few ms); retry it after 2, 4, 8… ms, not the default
      // second (a first retry after 20 ms held one batch in ten at 2,000 events/s by 20 ms).
      retries: 20,
      retryDelay: (_client, _operation, attempt) => Math.min(1_000, 2 ** attempt),
      serializers: {
        key: (k?: Buffer) => k,
        value: (v?: Buffer) => v,
        headerKey: (k?: string) => (k === undefined ? undefined : Buffer.from(k)),
        headerValue: (v?: string) => (v === undefined ? undefined : Buffer.from(v)),
      },
    })
  }

  async #subscribe(): Promise<void> {
    const consumer = dropAbortedRecords(
      new Consumer<Buffer, Buffer, Buffer, Buffer>({
        clientId: `${this.#context.clientId}-${this.#processor.name}-${this.#options.instanceId}`,
        groupId: this.#groupId,
        bootstrapBrokers: [...this.#context.brokers],
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        autocommit: false,
        sessionTimeout: this.#options.sessionTimeoutMs,
        heartbeatInterval: 1_000,
        rebalanceTimeout: this.#options.sessionTimeoutMs,
        // the broker answers a fetch as soon as records are readable (a commit makes them so), so a
        // long wait costs no latency; polling an idle topic every 20 ms cost the broker a fifth of
        // a core for three idle services (`node bench/idle.ts`)
        maxWaitTime: 500,
        // the client (2.12.1) loses records of large fetch responses: a 32 MB read of a topic
        // written in many transactions returned 154,423 of its 200,021 records, 1 MB reads all
        maxBytes: fetchMaxBytes,
        ...(this.#options.inputTopics.length > 1 ? { partitionAssigner: copartitionedAssigner } : {}),
      }),
    )
    this.#consumer = consumer
    consumer.on(
      'consumer:group:join',
      (joined: { generationId: number; memberId: string | null; assignments?: GroupAssignment[] | null }) => {
        if (consumer === this.#consumer)
          this.#membership = {
            generationId: joined.generationId,
            memberId: joined.memberId,
            assignments: joined.assignments ?? [],
          }
      },
    )
    // the client reports some failures (a heartbeat on a closed connection) as events: unheard,
    // they would end the process; the stream's own error rebuilds the consumer
    consumer.on('error', (error: Error) =>
      log.warn('consumer error', { processor: this.#processor.name, error: describeError(error) }),
    )
    let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>
    try {
      stream = await consumer.consume({
        topics: this.#options.inputTopics,
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
      })
    } catch (error) {
      await consumer.close(true).catch(() => {})
      throw error
    }
    this.#stream = stream
    stream.on('data', (message: RawMessage) => {
      this.#buffer.push(message)
      if (this.#buffer.length >= this.#options.maxBatchRecords * 4) stream.pause()
      if (this.#buffer.length >= this.#wakeAt) this.#wake?.()
    })
    // The stream ends for good when the client gives up (e.g. the broker is unreachable): rebuild
    // the consumer instead of waiting for records that never come.
    const ended = (error: unknown) => {
      if (stream !== this.#stream || !this.#running) return
      this.#stream = undefined
      this.#resubscribeReason = error
      this.#failed(error, false)
      this.#wake?.()
    }
    stream.on('error', (error: Error) => ended(error))
    stream.on('close', () => ended(new Error('the consumer stream closed')))
  }

  async #resubscribe(): Promise<void> {
    this.#buffer = []
    const stream = this.#stream
    this.#stream = undefined
    await stream?.close().catch(() => {})
    await this.#consumer?.close(true).catch(() => {})
    this.#stores.clear()
    this.#generation = -1
    this.#positions.clear()
    this.#positionGeneration = -1
    this.#membership = undefined
    if (this.#running) await this.#subscribe()
  }

  /**
   * The records waiting, up to a batch: at once when some are (those that came while the last
   * batch was processed and committed, so batches grow with the load by themselves); otherwise
   * the first to come and those that follow it within `maxBatchWaitMs`. Empty after an idle
   * `idleWaitMs`, so that the loop sees its other work (fencing, rejoining).
   */
  async #nextBatch(): Promise<RawMessage[]> {
    if (this.#buffer.length === 0) await this.#waitForRecords(idleWaitMs)
    if (
      this.#buffer.length > 0 &&
      this.#buffer.length < this.#options.maxBatchRecords &&
      this.#options.maxBatchWaitMs > 0
    )
      await this.#waitForRecords(this.#options.maxBatchWaitMs, this.#options.maxBatchRecords)
    const batch = this.#buffer.splice(0, this.#options.maxBatchRecords)
    if (this.#stream?.isPaused() && this.#buffer.length < this.#options.maxBatchRecords) this.#stream.resume()
    return batch
  }

  /** Resolves after `ms`, or once `records` are buffered, or on a wake-up (the stream ended). */
  async #waitForRecords(ms: number, records = 1): Promise<void> {
    this.#wakeAt = records
    await wakeableDelay(ms, (wake) => {
      this.#wake = wake
    })
    this.#wake = undefined
  }

  async #run(): Promise<void> {
    /** A batch whose process() threw, retried from memory while the group generation holds. */
    let retry: { batch: RawMessage[]; generation: number } | undefined
    while (this.#running) {
      if (this.#fenceReason !== undefined) {
        try {
          await this.#fence()
          this.#fenceReason = undefined
        } catch (error) {
          this.#failed(error, false, 'fencing the failed transaction failed')
          await this.#pause()
          continue
        }
      }
      if (this.#resubscribeReason !== undefined) {
        try {
          await this.#resubscribe()
          this.#resubscribeReason = undefined
          retry = undefined // read again from the committed offsets anyway
        } catch (error) {
          this.#failed(error, false, 'rejoining the consumer group failed')
          await this.#pause()
          continue
        }
      }
      if (retry && retry.generation !== this.#consumer?.generationId) {
        // partitions may have moved meanwhile: read again from the committed offsets
        retry = undefined
        this.#resubscribeReason = new Error('the group rebalanced while a failed batch waited for its retry')
        continue
      }
      const batch = retry ? retry.batch : await this.#nextBatch()
      retry = undefined
      if (batch.length === 0) {
        // caught up with nothing to do: a stall that has not recurred for a while is over
        if (this.#stream && this.#streak.idle()) {
          log.info('processor is idle and no longer failing', { processor: this.#processor.name })
          this.#metrics.stalled.set(this.#labels, 0)
        }
        continue
      }
      try {
        await this.#processBatch(batch)
        this.#progressed()
      } catch (error) {
        this.#metrics.aborts.inc(this.#labels)
        // drop the batch's pending writes, and every cache a processor keeps per store object
        for (const [partition, store] of this.#stores) this.#stores.set(partition, store.copy(false))
        if (error instanceof ProcessingFailure) {
          retry = { batch, generation: this.#consumer?.generationId ?? -1 }
          for (const { key, from, to, error: cause } of error.failures) {
            if (isRetryable(cause)) continue // the moment's fault, not the records'
            const known = this.#suspects.get(key)
            const again = known !== undefined && from <= known.to && to >= known.from
            this.#suspects.set(key, { from, to, failures: again ? known.failures + 1 : 1 })
          }
          this.#failed(error, !error.retryable, 'process() threw; retrying the batch')
        } else {
          this.#failed(error, false, 'batch failed; resuming from the last committed offsets')
          this.#resubscribeReason = error
          // The transaction failed somewhere between its first send and its commit: it may be
          // open on the coordinator with part of the batch, or committing (a commit whose answer
          // was lost with the connection). An abort that does not reach the coordinator settles
          // nothing, and the same producer's next transaction would carry on the open one. A new
          // producer of the same transactional id fences it: the coordinator aborts it, or
          // completes its commit, before the offsets are read again.
          if (this.#inTransaction) this.#fenceReason = error
        }
        this.#inTransaction = false
        await this.#pause()
      }
    }
  }

  /** Counts a failed attempt; repeated or final failures not attributable to a record stall the runtime. */
  #failed(error: unknown, attributable: boolean, message = 'consumer stream ended; rejoining the group'): void {
    const retryable = error instanceof ProcessingFailure ? error.retryable : isRetryable(error)
    const who = `processor ${this.#processor.name} (instance ${this.#options.instanceId})`
    const wasStalled = this.#streak.stalled !== undefined
    const stalls = this.#streak.fail(error, { who, attributable, retryable })
    log.warn(message, {
      processor: this.#processor.name,
      attempt: this.#streak.attempts,
      retryable,
      error: describeError(error),
    })
    if (!stalls) return
    if (!wasStalled)
      log.error('processor stalled; retrying with backoff', {
        processor: this.#processor.name,
        reason: this.#streak.stalled,
      })
    this.#metrics.stalled.set(this.#labels, 1)
  }

  /** A batch committed: the failure streak is over. */
  #progressed(): void {
    if (this.#streak.succeed()) log.info('processor makes progress again', { processor: this.#processor.name })
    this.#metrics.stalled.set(this.#labels, 0)
  }

  /** Waits the backoff of the current failure streak; `stop()` cuts it short. */
  async #pause(): Promise<void> {
    if (!this.#running) return
    await wakeableDelay(this.#streak.delayMs(), (wake) => {
      this.#wakePause = wake
    })
    this.#wakePause = undefined
  }

  /**
   * Replaces the producer of a failed transaction and settles that transaction for good: the
   * new producer's InitProducerId, for the same transactional id, returns once the coordinator
   * has aborted the transaction (or completed its commit, when the commit reached it) and
   * written the markers, and from then on the old producer's epoch is refused. Only after that
   * are the committed offsets read again, so that nothing the failed attempt did can commit
   * later, behind the back of its reprocessing.
   */
  async #fence(): Promise<void> {
    const old = this.#producer
    const producer = this.#createProducer()
    this.#producer = producer
    // Closed later, not now: a close() that overtakes a request of the client's own still in
    // flight makes that request read the producer id close() cleared, and throw, uncaught.
    if (old) setTimeout(() => void old.close(true).catch(() => {}), 30_000).unref()
    const started = Date.now()
    const transaction = await producer.beginTransaction() // InitProducerId
    await transaction.cancel() // nothing was sent: the next batch begins its own
    log.info('fenced the failed transaction', {
      processor: this.#processor.name,
      producerId: String(producer.producerId),
      epoch: producer.producerEpoch,
      ms: Date.now() - started,
    })
  }

  /**
   * The partitions this instance owns in the current group generation, with their positions
   * (see #stableOffsets) and, for a stateful processor, their stores: those of partitions it no
   * longer owns are dropped, newly owned ones restored. Notes the membership the batch's offsets
   * are committed under: a rebalance after this point makes the commit fail, as it must.
   */
  async #syncAssignment(): Promise<Set<string>> {
    const consumer = this.#consumer!
    for (;;) {
      const membership = this.#membership
      const generation = membership?.generationId ?? -1
      const owned = new Set<string>()
      for (const assignment of membership?.assignments ?? []) {
        for (const partition of assignment.partitions) owned.add(`${assignment.topic}:${partition}`)
      }
      this.#metrics.partitions.set(this.#labels, owned.size)
      if (generation !== this.#positionGeneration) {
        await this.#stableOffsets(owned, generation)
        if (this.#membership !== membership) continue // rebalanced meanwhile: again, for the new one
        this.#positionGeneration = generation
      }
      this.#member = {
        groupId: this.#groupId,
        generationId: generation,
        memberId: membership?.memberId ?? null,
        coordinatorId: consumer.coordinatorId,
      }
      if (!this.#options.stateful) return owned
      const ownedPartitions = new Set([...owned].map((key) => Number(key.slice(key.lastIndexOf(':') + 1))))
      if (generation !== this.#generation) {
        // after a rebalance another instance may have written a partition's changelog: restore all again
        this.#stores.clear()
        this.#generation = generation
      }
      for (const partition of this.#stores.keys()) if (!ownedPartitions.has(partition)) this.#stores.delete(partition)
      const missing = [...ownedPartitions].filter((partition) => !this.#stores.has(partition))
      if (missing.length > 0) await this.#restore(missing)
      return owned
    }
  }

  /**
   * Sets the positions of the owned partitions to their committed offsets once no transaction
   * that commits offsets for them is pending (OffsetFetch with require_stable): those of the
   * previous owner's last transaction count only once it has committed or aborted. The consumer
   * itself positions a new assignment at the committed offsets without waiting for that, and
   * whenever the group rebalances it reads from the committed offsets again, partitions it kept
   * included: records it hands out below the positions were processed already, and are skipped.
   */
  async #stableOffsets(owned: Set<string>, generation: number): Promise<void> {
    this.#positions.clear()
    if (owned.size === 0) return
    const topics = new Map<string, number[]>()
    for (const key of owned) {
      const at = key.lastIndexOf(':')
      const name = key.slice(0, at)
      topics.set(name, [...(topics.get(name) ?? []), Number(key.slice(at + 1))])
    }
    this.#admin ??= await connectAdmin(this.#context)
    const request = {
      groups: [
        {
          groupId: this.#groupId,
          topics: [...topics].map(([name, partitionIndexes]) => ({ name, partitionIndexes })),
        },
      ],
      requireStable: true,
    }
    const deadline = Date.now() + pendingTransactionWaitMs
    for (;;) {
      try {
        for (const group of await this.#admin.listConsumerGroupOffsets(request))
          for (const topic of group.topics)
            for (const partition of topic.partitions)
              if (partition.committedOffset >= 0n)
                this.#positions.set(`${topic.name}:${partition.partitionIndex}`, partition.committedOffset)
        return
      } catch (error) {
        // UNSTABLE_OFFSET_COMMIT while the previous owner's transaction is open: ask again
        if (Date.now() > deadline) throw error
        if (this.#membership?.generationId !== generation) return // the caller starts over
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }

  /**
   * Reads the changelog partitions from the beginning up to their end into fresh stores, once
   * no transaction is open on them (see #settledEnds).
   */
  async #restore(partitions: number[]): Promise<void> {
    const started = Date.now()
    const stores = new Map(partitions.map((p) => [p, this.#newStore()]))
    const wanted = new Set(partitions)
    const restorer = dropAbortedRecords(
      new Consumer<Buffer, Buffer, Buffer, Buffer>({
        clientId: `${this.#context.clientId}-${this.#processor.name}-restore`,
        groupId: `${this.#groupId}-restore-${randomUUID().slice(0, 8)}`,
        bootstrapBrokers: [...this.#context.brokers],
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        autocommit: false,
        maxWaitTime: 50,
        maxBytes: fetchMaxBytes,
        // assign exactly the partitions being restored to this single-member group
        partitionAssigner: (_current, members, topics): GroupPartitionsAssignments[] =>
          [...members.keys()].map((memberId, index) => ({
            memberId,
            assignments: new Map(
              index === 0 ? [...topics].map((topic) => [topic, { topic, partitions: [...partitions] }]) : [],
            ),
          })),
      }),
    )
    restorer.on('error', () => {}) // failures reach the restore through its stream and calls
    let records = 0
    try {
      const endOffsets = await this.#settledEnds(restorer, partitions)
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
            stores.get(message.partition)?.restoreText(message.key.toString(), text)
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

  /**
   * The changelog partitions' last stable offsets once they have reached the end their records
   * had when asked: no transaction that wrote to them is still open. The committed offsets that
   * set the positions are stable once the coordinator has written the commit marker to the
   * offsets topic; the markers of the same transaction on the changelog partitions (on other
   * brokers, in a cluster) can come later, and a restore up to the last stable offset before
   * them would miss that transaction's state.
   */
  async #settledEnds(
    reader: Consumer<Buffer, Buffer, Buffer, Buffer>,
    partitions: number[],
  ): Promise<(bigint | undefined)[]> {
    const ends = async (isolationLevel: number) =>
      (
        await reader.listOffsets({
          topics: [this.#changelog],
          partitions: { [this.#changelog]: partitions },
          isolationLevel,
        })
      ).get(this.#changelog) ?? []
    const written = await ends(FetchIsolationLevels.READ_UNCOMMITTED)
    const deadline = Date.now() + pendingTransactionWaitMs
    for (;;) {
      const stable = await ends(FetchIsolationLevels.READ_COMMITTED)
      const open = partitions.filter((p) => (stable[p] ?? 0n) < (written[p] ?? 0n))
      if (open.length === 0) return stable
      if (Date.now() > deadline)
        throw new LookoutError(
          ErrorCodes.TRANSACTION_PENDING,
          `partitions ${open.join(',')} of ${this.#changelog} still have a transaction open after ${pendingTransactionWaitMs / 1000} s`,
          { retryable: true, hint: 'the runtime tries again; a producer that keeps a transaction open blocks it' },
        )
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }

  async #processBatch(batch: RawMessage[]): Promise<void> {
    const stopTimer = this.#metrics.batchSeconds.startTimer(this.#labels)
    const t0 = performance.now()
    const owned = await this.#syncAssignment()
    const t1 = performance.now()
    const byPartition = new Map<string, RawMessage[]>()
    /** Per partition, the offset after the batch's last record of it: the position once committed. */
    const next = new Map<string, bigint>()
    let skipped = 0
    for (const message of batch) {
      const key = `${message.topic}:${message.partition}`
      if (!owned.has(key)) continue // revoked while buffered: its new owner processes it
      // processed already: committed before this generation (by the previous owner, or by this
      // instance before a rebalance made the consumer read it again), or earlier in this batch
      const position = next.get(key) ?? this.#positions.get(key)
      if (position !== undefined && message.offset < position) {
        skipped++
        continue
      }
      next.set(key, message.offset + 1n)
      const list = byPartition.get(key)
      if (list) list.push(message)
      else byPartition.set(key, [message])
    }
    if (skipped > 0)
      log.info('skipped records processed already', { processor: this.#processor.name, records: skipped })
    if (byPartition.size === 0) return
    // the records this instance processes: not those of revoked partitions or below the floors
    let handled = 0
    for (const messages of byPartition.values()) handled += messages.length

    const outputs: OutputRecord[] = []
    const deadLetters: OutputRecord[] = []
    const lastMessages: RawMessage[] = []
    const failures: ProcessingFailure['failures'] = []
    let recordFailures = 0
    for (const [topicPartition, messages] of byPartition) {
      const partition = messages[0]!.partition
      const records: InputRecord<T>[] = []
      const sources: RawMessage[] = []
      for (const message of messages) {
        const key = message.key?.length ? message.key.toString() : undefined
        try {
          if (!message.value) throw new Error('empty record value')
          records.push({
            topic: message.topic,
            partition,
            offset: message.offset,
            key,
            value: this.#processor.decode(message.value, key, message.topic),
            timestamp: Number(message.timestamp),
            headers: headerMap(message.headers),
          })
          sources.push(message)
        } catch (error) {
          deadLetters.push(this.#deadLetter(message, error instanceof Error ? error.message : String(error)))
        }
      }
      let store = this.#stores.get(partition)
      if (!store) {
        store = this.#newStore()
        this.#stores.set(partition, store)
      }
      if (records.length > 0) {
        const from = records[0]!.offset
        const to = records[records.length - 1]!.offset
        const suspect = this.#suspects.get(topicPartition)
        if (suspect && suspect.failures >= 2 && from <= suspect.to && to >= suspect.from) {
          // the same offsets failed twice: find the records that fail on their own
          let isolated: Isolated
          try {
            isolated = isolateRecords(this.#processor, records, partition, store)
          } catch (error) {
            failures.push({ key: topicPartition, from, to, error })
            continue
          }
          store = isolated.store
          this.#stores.set(partition, store)
          if (isolated.failed.size > 0)
            log.warn('records fail on their own; sending them to the dead-letter topic', {
              processor: this.#processor.name,
              partition,
              offsets: [...isolated.failed.keys()].map((index) => String(records[index]!.offset)).join(','),
            })
          for (const output of isolated.outputs) outputs.push(output)
          for (const [index, error] of isolated.failed) {
            deadLetters.push(this.#deadLetter(sources[index]!, `process() failed: ${describeError(error)}`))
            recordFailures++
          }
        } else {
          try {
            for (const output of processChecked(this.#processor, records, { partition, store })) outputs.push(output)
          } catch (error) {
            // the other partitions carry on, so that one attempt finds every partition that fails
            failures.push({ key: topicPartition, from, to, error })
            continue
          }
        }
      }
      if (this.#options.stateful) {
        for (const [key, text] of store.pendingRecords())
          outputs.push({ topic: this.#changelog, key, value: text ?? '', partition })
      }
      lastMessages.push(messages[messages.length - 1]!)
    }
    if (failures.length > 0) throw new ProcessingFailure(failures)

    const t2 = performance.now()
    const producer = this.#producer!
    this.#inTransaction = true
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
      // a large record goes out after what is waiting, not with it: the two together could
      // make one partition's batch larger than the broker takes
      if (chunk.length > 0 && chunkBytes + value.length + (key?.length ?? 0) + 64 > maxChunkBytes) {
        await transaction.send({ messages: chunk })
        chunk = []
        chunkBytes = 0
      }
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
    // under the membership whose ownership #syncAssignment checked: a record the consumer
    // fetched before the last rebalance still names the generation before it
    const consumer = this.#member!
    // one TxnOffsetCommit request for every partition of the batch (`addOffsets` comes from
    // patches/@platformatic+kafka+2.12.1.patch): one per partition was two round trips more per
    // batch of three partitions, and as many more requests for the broker
    await transaction.addOffsets(lastMessages.map((message) => ({ ...message, metadata: { consumer } })))
    const t5 = performance.now()
    await transaction.commit()
    this.#inTransaction = false
    for (const [key, offset] of next) this.#positions.set(key, offset)
    const t6 = performance.now()
    if (t6 - t0 >= this.#options.slowBatchMs) {
      log.warn('slow batch', {
        processor: this.#processor.name,
        records: handled,
        assignmentMs: Math.round(t1 - t0),
        processMs: Math.round(t2 - t1),
        beginMs: Math.round(t3 - t2),
        sendMs: Math.round(t4 - t3),
        offsetsMs: Math.round(t5 - t4),
        commitMs: Math.round(t6 - t5),
      })
    }
    for (const store of this.#stores.values()) store.commitPending()
    for (const message of lastMessages) {
      const key = `${message.topic}:${message.partition}`
      const suspect = this.#suspects.get(key)
      if (suspect && suspect.to <= message.offset) this.#suspects.delete(key)
    }

    this.processed += handled
    this.#metrics.records.inc(this.#labels, handled)
    this.#metrics.outputs.inc(this.#labels, outputs.length)
    if (deadLetters.length) {
      this.#metrics.deadLetters.inc(this.#labels, deadLetters.length)
      if (recordFailures) this.#metrics.recordFailures.inc(this.#labels, recordFailures)
      log.warn('records sent to the dead-letter topic', {
        processor: this.#processor.name,
        count: deadLetters.length,
        processFailures: recordFailures,
      })
    }
    this.#metrics.commits.inc(this.#labels)
    stopTimer()
    // committed: a failing side effect cannot undo the batch, so it is reported, not retried
    if (this.#processor.afterCommit)
      await Promise.resolve()
        .then(() => this.#processor.afterCommit?.(outputs))
        .catch((error: unknown) =>
          log.warn('afterCommit failed', { processor: this.#processor.name, error: describeError(error) }),
        )
  }

  /**
   * The dead letter of `message`: its key and value with the reason and source coordinates in
   * headers. A value that would take the record over the broker's limit (an input close to 1 MB
   * plus the headers) is cut to fit, and `lookout.truncated` gives its full size: the whole
   * value stays at its source offset. A dead letter the broker refuses would fail every attempt.
   */
  #deadLetter(message: RawMessage, reason: string): OutputRecord {
    const key = message.key?.length ? message.key.toString() : undefined
    const headers: Record<string, string> = {
      'lookout.reason': reason.length > 4_096 ? `${reason.slice(0, 4_096)}…` : reason,
      'lookout.processor': this.#processor.name,
      'lookout.source.topic': message.topic,
      'lookout.source.partition': String(message.partition),
      'lookout.source.offset': String(message.offset),
    }
    let value = message.value ?? Buffer.alloc(0)
    let room = maxRecordBytes - recordFramingBytes - (key === undefined ? 0 : Buffer.byteLength(key)) - 64
    for (const name in headers) room -= name.length + Buffer.byteLength(headers[name]!)
    if (value.length > room) {
      headers['lookout.truncated'] = `${value.length} bytes, the first ${room} kept`
      value = value.subarray(0, room)
    }
    return { topic: this.#deadLetters, ...(key === undefined ? {} : { key }), value, headers }
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
    this.#wakePause?.()
    clearInterval(this.#lagTimer)
    await this.#loop
    await this.#stream?.close().catch(() => {})
    await this.#consumer?.close().catch(() => {})
    await this.#producer?.close().catch(() => {})
    await this.#admin?.close().catch(() => {})
  }
}
