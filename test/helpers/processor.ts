// A broker-free harness for Lookout's processors: runs a `Processor` over records the way the
// Kafka runtime does (decode, dead-letter what does not decode, process a partition's batch,
// set aside the records that make process() throw, keep the store's writes pending until the
// batch "commits", then afterCommit), in memory.
import { describeError } from '../../src/errors.ts'
import { type InputRecord, isolateRecords, type OutputRecord, type Processor } from '../../src/kafka/processor.ts'
import { isRetryable } from '../../src/kafka/retry.ts'
import { StateStore } from '../../src/kafka/state-store.ts'

/** An input record with a key and a broker timestamp (see `keyed`). */
export class KeyedRecord {
  readonly key: string | undefined
  readonly value: unknown
  readonly timestamp: number
  /** Its input topic, when not the run's (a processor with several inputs). */
  readonly topic: string | undefined
  constructor(key: string | undefined, value: unknown, timestamp = 0, topic?: string) {
    this.key = key
    this.value = value
    this.timestamp = timestamp
    this.topic = topic
  }
}

/** An input record with a key (and a broker timestamp, ms; and its topic, when not the run's). */
export function keyed(key: string | undefined, value: unknown, timestamp = 0, topic?: string): KeyedRecord {
  return new KeyedRecord(key, value, timestamp, topic)
}

/** An input record: its value (a string, a Buffer, or anything else JSON-encoded), or a `keyed` one. */
export type HarnessRecord = unknown

export interface HarnessOptions {
  /** Records per batch (the runtime's maxBatchRecords); all in one batch when not given. */
  batchSize?: number
  partition?: number
  topic?: string
  /** Offset of the first record. */
  fromOffset?: bigint
}

export interface DeadLetter {
  reason: string
  offset: bigint
  partition: number
  topic: string
  value: Buffer
}

export interface HarnessResult {
  /** What the processor returned, batch after batch. */
  outputs: OutputRecord[]
  /** The records that did not decode or made process() throw on their own, with the reason and their coordinates. */
  deadLetters: DeadLetter[]
  /** The store's committed writes in order, as the changelog would carry them (undefined = tombstone). */
  changelog: [string, unknown][]
  batches: number
  /**
   * The partition's store at the end: the one given, unless a batch had a record that throws
   * (the runtime then keeps the store of the pass without it, a new object, as here).
   */
  store: StateStore
}

function encode(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))
}

/**
 * Runs `processor` over `records` of one partition with `store` as that partition's state
 * store. When `process` throws on a batch, its store writes are discarded; a retryable error
 * is rethrown (the runtime would retry the batch), otherwise the batch is processed record by
 * record as the runtime does after a repeated failure (`isolateRecords`): the records that
 * throw on their own become dead letters, the others are processed once.
 */
export async function runProcessor<T>(
  processor: Processor<T>,
  records: readonly HarnessRecord[],
  initialStore: StateStore = new StateStore(),
  options: HarnessOptions = {},
): Promise<HarnessResult> {
  let store = initialStore
  const partition = options.partition ?? 0
  const topic = options.topic ?? 'input'
  const batchSize = options.batchSize ?? Math.max(records.length, 1)
  const result: HarnessResult = { outputs: [], deadLetters: [], changelog: [], batches: 0, store }
  let offset = options.fromOffset ?? 0n
  for (let start = 0; start < records.length; start += batchSize) {
    const batch: InputRecord<T>[] = []
    const encoded = new Map<InputRecord<T>, Buffer>()
    for (const record of records.slice(start, start + batchSize)) {
      const raw = record instanceof KeyedRecord ? record : new KeyedRecord(undefined, record)
      const key = raw.key
      const value = encode(raw.value)
      const recordTopic = raw.topic ?? topic
      try {
        const input: InputRecord<T> = {
          topic: recordTopic,
          partition,
          offset,
          key,
          value: processor.decode(value, key, recordTopic),
          timestamp: raw.timestamp,
          headers: new Map(),
        }
        batch.push(input)
        encoded.set(input, value)
      } catch (error) {
        result.deadLetters.push({
          reason: error instanceof Error ? error.message : String(error),
          offset,
          partition,
          topic: recordTopic,
          value,
        })
      }
      offset++
    }
    let outputs: OutputRecord[] = []
    try {
      if (batch.length > 0) outputs = processor.process(batch, { partition, store })
    } catch (error) {
      store.discardPending()
      if (isRetryable(error)) throw error
      const isolated = isolateRecords(processor, batch, partition, store)
      outputs = isolated.outputs
      store = isolated.store
      result.store = store
      for (const [index, failure] of isolated.failed) {
        const record = batch[index]!
        result.deadLetters.push({
          reason: `process() failed: ${describeError(failure)}`,
          offset: record.offset,
          partition,
          topic: record.topic,
          value: encoded.get(record)!,
        })
      }
    }
    for (const change of store.pendingChanges()) result.changelog.push(change)
    store.commitPending()
    result.outputs.push(...outputs)
    result.batches++
    if (processor.afterCommit) await processor.afterCommit(outputs)
  }
  return result
}

/** A store restored from a changelog, as a restarted instance (or the partition's new owner) gets it. */
export function restoredStore(changelog: Iterable<[string, unknown]>): StateStore {
  const store = new StateStore()
  for (const [key, value] of changelog)
    store.restore(key, value === undefined ? undefined : JSON.parse(JSON.stringify(value)))
  return store
}

/** The output values of `topic` (all topics when not given), parsed. */
export function outputValues<V = Record<string, unknown>>(result: HarnessResult, topic?: string): V[] {
  return result.outputs
    .filter((output) => topic === undefined || output.topic === topic)
    .map((output) => JSON.parse(output.value.toString()) as V)
}
