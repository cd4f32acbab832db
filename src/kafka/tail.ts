import type { Admin } from '@platformatic/kafka'
import { Consumer } from '@platformatic/kafka'
import type { KafkaContext } from './context.ts'

export interface TailRecord {
  partition: number
  offset: bigint
  key: Buffer | undefined
  value: Buffer | undefined
}

/** Earliest and end offsets of every partition of `topic`. */
export async function partitionOffsets(
  admin: Admin,
  topic: string,
): Promise<{ partition: number; earliest: bigint; end: bigint }[]> {
  const metadata = await admin.metadata({ topics: [topic], forceUpdate: true })
  const count = metadata.topics.get(topic)?.partitionsCount ?? 0
  const ask = async (timestamp: bigint) =>
    (
      await admin.listOffsets({
        topics: [
          {
            name: topic,
            partitions: Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp })),
          },
        ],
      })
    )[0]?.partitions ?? []
  const [earliest, latest] = await Promise.all([ask(-2n), ask(-1n)])
  return Array.from({ length: count }, (_, partition) => ({
    partition,
    earliest: earliest.find((p) => p.partitionIndex === partition)?.offset ?? 0n,
    end: latest.find((p) => p.partitionIndex === partition)?.offset ?? 0n,
  }))
}

/**
 * The last `perPartition` records of each partition of `topic` (fewer where a partition holds
 * fewer), read with a throw-away consumer from explicit offsets. Gives up after `timeoutMs`.
 */
export async function readTail(
  context: KafkaContext,
  admin: Admin,
  topic: string,
  perPartition: number,
  timeoutMs = 15_000,
): Promise<TailRecord[]> {
  const partitions = (await partitionOffsets(admin, topic)).filter((p) => p.end > p.earliest)
  if (partitions.length === 0) return []
  const want = new Map<number, bigint>()
  const offsets = partitions.map((p) => {
    const from = p.end - BigInt(perPartition) > p.earliest ? p.end - BigInt(perPartition) : p.earliest
    want.set(p.partition, p.end - 1n)
    return { topic, partition: p.partition, offset: from }
  })
  const consumer = new Consumer({
    clientId: `${context.clientId}-tail`,
    groupId: `${context.clientId}-tail-${process.pid}-${Date.now()}`,
    bootstrapBrokers: [...context.brokers],
    maxWaitTime: 200,
  })
  const records: TailRecord[] = []
  const stream = await consumer.consume({ topics: [topic], mode: 'manual', offsets, autocommit: false })
  const timer = setTimeout(() => void stream.close(), timeoutMs)
  try {
    for await (const message of stream) {
      records.push({ partition: message.partition, offset: message.offset, key: message.key, value: message.value })
      const last = want.get(message.partition)
      if (last !== undefined && message.offset >= last) want.delete(message.partition)
      if (want.size === 0) break
    }
  } finally {
    clearTimeout(timer)
    await stream.close().catch(() => {})
    await consumer.close(true).catch(() => {})
  }
  return records
}
