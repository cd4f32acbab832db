// Reading a bounded range of a topic: [from, to) offsets per partition, with a throw-away
// consumer (no group offsets are committed). Used by the trainer to read enriched-features.

import type { Admin } from '@platformatic/kafka'
import { Consumer, FetchIsolationLevels, type Message } from '@platformatic/kafka'
import type { KafkaContext } from './context.ts'
import { dropAbortedRecords, fetchMaxBytes } from './read-committed.ts'
import { partitionOffsets } from './tail.ts'

export interface PartitionRange {
  partition: number
  from: bigint
  /** Exclusive. */
  to: bigint
}

export interface RangeRecord {
  partition: number
  offset: bigint
  timestamp: bigint
  value: Buffer | undefined
}

/** Offsets of the first records at or after `timestampMs` (record time) in every partition. */
export async function offsetsForTime(admin: Admin, topic: string, timestampMs: number): Promise<Map<number, bigint>> {
  const partitions = await partitionOffsets(admin, topic)
  const answer = await admin.listOffsets({
    topics: [
      {
        name: topic,
        partitions: partitions.map((p) => ({ partitionIndex: p.partition, timestamp: BigInt(timestampMs) })),
      },
    ],
  })
  const offsets = new Map<number, bigint>()
  for (const p of partitions) {
    const found = answer[0]?.partitions.find((q) => q.partitionIndex === p.partition)?.offset
    // -1: no record at or after the time, so the range starts at the end
    offsets.set(p.partition, found === undefined || found < 0n ? p.end : found)
  }
  return offsets
}

/** The ranges holding the newest `perPartition` records of each partition. */
export async function tailRanges(admin: Admin, topic: string, perPartition: number): Promise<PartitionRange[]> {
  return (await partitionOffsets(admin, topic)).map((p) => ({
    partition: p.partition,
    from: p.end - BigInt(perPartition) > p.earliest ? p.end - BigInt(perPartition) : p.earliest,
    to: p.end,
  }))
}

/** A record read from a range, as the client gives it (keys, values and headers as bytes). */
export type RangeMessage = Message<Buffer, Buffer, Buffer, Buffer>

/**
 * Reads the committed records of `ranges` in offset order with a throw-away consumer (1 MB
 * fetches, aborted transactions' records dropped), calling `onRecord` for each until it returns
 * false, every range is read, or `timeoutMs` passes. Returns how many records it read.
 */
export async function forEachInRanges(
  context: KafkaContext,
  topic: string,
  ranges: readonly PartitionRange[],
  onRecord: (message: RangeMessage) => boolean,
  options: { timeoutMs?: number; name?: string; maxWaitTime?: number } = {},
): Promise<number> {
  const wanted = ranges.filter((range) => range.to > range.from)
  if (wanted.length === 0) return 0
  const name = options.name ?? 'range'
  const remaining = new Map(wanted.map((range) => [range.partition, range.to]))
  const consumer = dropAbortedRecords(
    new Consumer({
      clientId: `${context.clientId}-${name}`,
      groupId: `${context.clientId}-${name}-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
      bootstrapBrokers: [...context.brokers],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
      maxWaitTime: options.maxWaitTime ?? 200,
      maxBytes: fetchMaxBytes,
    }),
  )
  let read = 0
  let stream: Awaited<ReturnType<typeof consumer.consume>>
  try {
    stream = await consumer.consume({
      topics: [topic],
      mode: 'manual',
      offsets: wanted.map((range) => ({ topic, partition: range.partition, offset: range.from })),
      autocommit: false,
    })
  } catch (error) {
    await consumer.close(true).catch(() => {})
    throw error
  }
  const timer = setTimeout(() => void stream.close(), options.timeoutMs ?? 60_000)
  // transaction markers take offsets too: a partition is done once the stream's next offset reaches `to`
  const check = setInterval(() => {
    for (const [partition, to] of remaining)
      if ((stream.offsetsToFetch.get(`${topic}:${partition}`) ?? 0n) >= to) remaining.delete(partition)
    if (remaining.size === 0) void stream.close()
  }, 25)
  try {
    for await (const message of stream) {
      const end = remaining.get(message.partition)
      if (end === undefined || message.offset >= end) continue
      read++
      if (!onRecord(message)) break
      if (message.offset >= end - 1n) remaining.delete(message.partition)
      if (remaining.size === 0) break
    }
  } finally {
    clearTimeout(timer)
    clearInterval(check)
    await stream.close().catch(() => {})
    await consumer.close(true).catch(() => {})
  }
  return read
}

/** Reads every committed record in `ranges`; gives up after `timeoutMs` with what it has. */
export async function readRanges(
  context: KafkaContext,
  topic: string,
  ranges: PartitionRange[],
  timeoutMs = 60_000,
): Promise<RangeRecord[]> {
  const records: RangeRecord[] = []
  await forEachInRanges(
    context,
    topic,
    ranges,
    (message) => {
      records.push({
        partition: message.partition,
        offset: message.offset,
        timestamp: message.timestamp,
        value: message.value,
      })
      return true
    },
    { timeoutMs },
  )
  return records
}
