// The console's view of the cluster: topics with offsets, sizes and configs, reading a bounded
// range of records, find by key (the key hashed to its partition as the producer does), consumer
// groups with lag in records and in time, and re-producing a record. Every read is bounded
// (records and time), so a request can never scan a topic without end.

import { type Admin, ConfigResourceTypes, FetchIsolationLevels, type Message, murmur2 } from '@platformatic/kafka'
import { decodeEnriched, isBinaryEnriched } from '../core/pipeline/enriched-record.ts'
import { describeError } from '../errors.ts'
import type { KafkaContext } from '../kafka/context.ts'
import { type BufferProducer, createProducer } from '../kafka/producer.ts'
import { forEachInRanges, type PartitionRange } from '../kafka/range.ts'
import { type FilterNode, type FilterRecord, matches } from './filter.ts'

export interface PartitionInfo {
  partition: number
  leader: number
  replicas: number[]
  low: string
  high: string
  messages: string
  sizeBytes: number | null
}

export interface TopicSummary {
  name: string
  partitions: number
  messages: string
  sizeBytes: number | null
  internal: boolean
}

export interface ConsoleRecord {
  topic: string
  partition: number
  offset: string
  timestamp: number
  key: string | null
  value: string | null
  /** `utf8`, or `base64` when the bytes are not valid UTF-8. */
  encoding: 'utf8' | 'base64'
  headers: { key: string; value: string }[]
  size: number
}

/** [from, to) offsets of one partition. */
export type ReadRange = PartitionRange

/** A topic the console does not know: the API answers 404. */
export class NotFound extends Error {}
/** A parameter that is valid alone but not for this topic (a partition it does not have): 400. */
export class BadRequest extends Error {}

const decoder = new TextDecoder('utf-8', { fatal: true })

function text(buffer: Buffer | undefined | null): { text: string | null; encoding: 'utf8' | 'base64' } {
  if (buffer === undefined || buffer === null) return { text: null, encoding: 'utf8' }
  try {
    return { text: decoder.decode(buffer), encoding: 'utf8' }
  } catch {
    return { text: buffer.toString('base64'), encoding: 'base64' }
  }
}

/**
 * The record's value as text: a binary enriched-features record as its JSON (which reads the
 * same, so a copy made from it is an equal record), other bytes as UTF-8 or else base64.
 */
function valueText(buffer: Buffer | undefined | null): { text: string | null; encoding: 'utf8' | 'base64' } {
  if (buffer && isBinaryEnriched(buffer)) {
    try {
      return { text: JSON.stringify(decodeEnriched(buffer)), encoding: 'utf8' }
    } catch {
      // not a valid one: shown as its bytes
    }
  }
  return text(buffer)
}

export function toConsoleRecord(topic: string, message: Message<Buffer, Buffer, Buffer, Buffer>): ConsoleRecord {
  const value = valueText(message.value)
  const key = text(message.key)
  const headers = [...(message.headerEntries ?? [])].map(([k, v]) => ({
    key: k.toString('utf8'),
    value: text(v).text ?? '',
  }))
  return {
    topic,
    partition: message.partition,
    offset: message.offset.toString(),
    timestamp: Number(message.timestamp),
    key: key.text,
    value: value.text,
    encoding: value.encoding,
    headers,
    size: (message.value?.length ?? 0) + (message.key?.length ?? 0),
  }
}

/** The partition the client's default partitioner gives `key`: murmur2(key) >>> 0, modulo partitions. */
export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key)) >>> 0) % partitions
}

/** What a filter sees of a record (the value parsed as JSON when it is JSON). */
export function filterView(record: ConsoleRecord): FilterRecord {
  let value: unknown = record.value
  if (record.value !== null && record.encoding === 'utf8') {
    try {
      value = JSON.parse(record.value)
    } catch {
      // not JSON: the filter sees the text
    }
  }
  return {
    key: record.key,
    value,
    partition: record.partition,
    offset: record.offset,
    timestamp: record.timestamp,
    headers: Object.fromEntries(record.headers.map((h) => [h.key, h.value])),
  }
}

export class ConsoleKafka {
  readonly context: KafkaContext
  readonly admin: Admin
  #producer: BufferProducer | undefined
  #sizes: { at: number; sizes: Map<string, number> } | undefined

  constructor(context: KafkaContext, admin: Admin) {
    this.context = context
    this.admin = admin
  }

  async close(): Promise<void> {
    await this.#producer?.close().catch(() => {})
    await this.admin.close().catch(() => {})
  }

  /** Topic names (internal `__` topics included, marked). */
  async topicNames(): Promise<string[]> {
    return (await this.admin.listTopics({ includeInternals: true })).sort()
  }

  /** Partition count of `topic`; NotFound when it does not exist. */
  async partitionCount(topic: string): Promise<number> {
    const names = await this.admin.listTopics({ includeInternals: true })
    if (!names.includes(topic)) throw new NotFound(`topic "${topic}" does not exist`)
    const metadata = await this.admin.metadata({ topics: [topic] })
    return metadata.topics.get(topic)?.partitionsCount ?? 0
  }

  /**
   * Low and high (read-committed end) offsets of every partition of the topics; a topic deleted
   * meanwhile is left out.
   */
  async offsets(topics: readonly string[]): Promise<Map<string, { low: bigint; high: bigint }[]>> {
    try {
      return await this.#offsets(topics)
    } catch (error) {
      const existing = new Set(await this.admin.listTopics({ includeInternals: true }))
      const still = topics.filter((topic) => existing.has(topic))
      if (still.length === topics.length) throw error
      return this.#offsets(still)
    }
  }

  async #offsets(topics: readonly string[]): Promise<Map<string, { low: bigint; high: bigint }[]>> {
    const result = new Map<string, { low: bigint; high: bigint }[]>()
    if (topics.length === 0) return result
    const metadata = await this.admin.metadata({ topics: [...topics] })
    const request = topics.map((name) => ({
      name,
      partitions: Array.from({ length: metadata.topics.get(name)?.partitionsCount ?? 0 }, (_, partitionIndex) => ({
        partitionIndex,
        timestamp: -2n,
      })),
    }))
    const low = await this.admin.listOffsets({ topics: request })
    const high = await this.admin.listOffsets({
      topics: request.map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p, timestamp: -1n })) })),
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    })
    for (const name of topics) {
      const count = metadata.topics.get(name)?.partitionsCount ?? 0
      const lows = low.find((t) => t.name === name)?.partitions ?? []
      const highs = high.find((t) => t.name === name)?.partitions ?? []
      result.set(
        name,
        Array.from({ length: count }, (_, p) => ({
          low: lows.find((x) => x.partitionIndex === p)?.offset ?? 0n,
          high: highs.find((x) => x.partitionIndex === p)?.offset ?? 0n,
        })),
      )
    }
    return result
  }

  /** Bytes on disk per `topic:partition` (all log dirs of all brokers) of `topics`, cached for 10 s. */
  async sizes(topics: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    const cached = this.#sizes
    if (cached && Date.now() - cached.at < 10_000 && [...topics.keys()].every((t) => cached.sizes.has(`${t}:0`)))
      return cached.sizes
    const sizes = new Map<string, number>(cached?.sizes)
    try {
      const request = [...topics]
        .filter(([, count]) => count > 0)
        .map(([name, count]) => ({ name, partitions: Array.from({ length: count }, (_, p) => p) }))
      const brokers = await this.admin.describeLogDirs({ topics: request })
      for (const [name, count] of topics) for (let p = 0; p < count; p++) sizes.delete(`${name}:${p}`)
      for (const broker of brokers)
        for (const dir of broker.results)
          for (const topic of dir.topics)
            for (const partition of topic.partitions) {
              const key = `${topic.name}:${partition.partitionIndex}`
              sizes.set(key, (sizes.get(key) ?? 0) + Number(partition.partitionSize))
            }
    } catch {
      // sizes are optional: a cluster that refuses DescribeLogDirs shows none
    }
    this.#sizes = { at: Date.now(), sizes }
    return sizes
  }

  async listTopics(): Promise<TopicSummary[]> {
    const names = await this.topicNames()
    const offsets = await this.offsets(names)
    const sizes = await this.sizes(new Map([...offsets].map(([name, partitions]) => [name, partitions.length])))
    return names
      .filter((name) => offsets.has(name))
      .map((name) => {
        const partitions = offsets.get(name) ?? []
        let size: number | null = null
        for (let p = 0; p < partitions.length; p++) {
          const bytes = sizes.get(`${name}:${p}`)
          if (bytes !== undefined) size = (size ?? 0) + bytes
        }
        return {
          name,
          partitions: partitions.length,
          messages: partitions.reduce((sum, p) => sum + (p.high - p.low), 0n).toString(),
          sizeBytes: size,
          internal: name.startsWith('__'),
        }
      })
  }

  async describeTopic(topic: string) {
    await this.partitionCount(topic)
    const metadata = await this.admin.metadata({ topics: [topic] })
    const described = metadata.topics.get(topic)
    const offsets = (await this.offsets([topic])).get(topic) ?? []
    const sizes = await this.sizes(new Map([[topic, offsets.length]]))
    const partitions: PartitionInfo[] = offsets.map((o, partition) => {
      const meta = described?.partitions[partition]
      return {
        partition,
        leader: meta?.leader ?? -1,
        replicas: meta?.replicas ?? [],
        low: o.low.toString(),
        high: o.high.toString(),
        messages: (o.high - o.low).toString(),
        sizeBytes: sizes.get(`${topic}:${partition}`) ?? null,
      }
    })
    const configs = await this.admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: topic }],
    })
    return {
      name: topic,
      partitions,
      messages: offsets.reduce((sum, p) => sum + (p.high - p.low), 0n).toString(),
      sizeBytes: partitions.every((p) => p.sizeBytes === null)
        ? null
        : partitions.reduce((sum, p) => sum + (p.sizeBytes ?? 0), 0),
      configs: (configs[0]?.configs ?? [])
        .map((c) => ({
          name: c.name,
          value: c.isSensitive ? '(sensitive)' : c.value,
          default: c.configSource === 5,
          readOnly: c.readOnly,
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    }
  }

  /**
   * Reads the committed records of `ranges` in offset order, calling `onRecord` for each until
   * it returns false, every range is read, or `timeoutMs` passes. Returns the records read.
   */
  async read(
    topic: string,
    ranges: readonly ReadRange[],
    onRecord: (record: ConsoleRecord) => boolean,
    timeoutMs = 5_000,
  ): Promise<number> {
    return forEachInRanges(this.context, topic, ranges, (message) => onRecord(toConsoleRecord(topic, message)), {
      timeoutMs,
      name: 'console',
      maxWaitTime: 100,
    })
  }

  /** Offsets of the first records at or after `timestampMs` per partition (the high offset when none). */
  async offsetsForTime(
    topic: string,
    partitions: readonly number[],
    timestampMs: number,
  ): Promise<Map<number, bigint>> {
    const answer = await this.admin.listOffsets({
      topics: [
        { name: topic, partitions: partitions.map((p) => ({ partitionIndex: p, timestamp: BigInt(timestampMs) })) },
      ],
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    })
    const offsets = (await this.offsets([topic])).get(topic) ?? []
    const result = new Map<number, bigint>()
    for (const p of partitions) {
      const found = answer[0]?.partitions.find((x) => x.partitionIndex === p)?.offset
      result.set(p, found === undefined || found < 0n ? (offsets[p]?.high ?? 0n) : found)
    }
    return result
  }

  /**
   * Browse: `limit` records from `position` (an offset, a time, the beginning, or the newest),
   * in one partition or all, optionally only those matching `filter`, scanning at most `scan`
   * records. Returns the records and how far it looked.
   */
  async browse(
    topic: string,
    options: {
      partition?: number
      offset?: bigint
      timestamp?: number
      position: 'beginning' | 'end'
      limit: number
      scan: number
      filter?: FilterNode
    },
  ) {
    const count = await this.partitionCount(topic)
    if (options.partition !== undefined && options.partition >= count)
      throw new BadRequest(`partition ${options.partition} does not exist: topic "${topic}" has ${count} partitions`)
    const partitions =
      options.partition !== undefined ? [options.partition] : Array.from({ length: count }, (_, p) => p)
    const offsets = (await this.offsets([topic])).get(topic) ?? []
    const budget = BigInt(Math.max(1, Math.ceil(options.scan / partitions.length)))
    let starts: Map<number, bigint>
    const fromEnd = options.offset === undefined && options.timestamp === undefined && options.position === 'end'
    if (options.offset !== undefined) starts = new Map(partitions.map((p) => [p, options.offset!]))
    else if (options.timestamp !== undefined) starts = await this.offsetsForTime(topic, partitions, options.timestamp)
    else if (options.position === 'beginning') starts = new Map(partitions.map((p) => [p, offsets[p]!.low]))
    else {
      // the newest records: the last `limit` (unfiltered) or `scan` (filtered) of each partition
      const back = options.filter ? budget : BigInt(options.limit)
      starts = new Map(
        partitions.map((p) => [
          p,
          offsets[p]!.high - back > offsets[p]!.low ? offsets[p]!.high - back : offsets[p]!.low,
        ]),
      )
    }
    const ranges: ReadRange[] = partitions.map((p) => {
      const low = offsets[p]!.low
      const high = offsets[p]!.high
      let from = starts.get(p) ?? low
      if (from < low) from = low
      if (from > high) from = high
      const cap = options.filter || fromEnd ? budget : BigInt(options.limit)
      const to = from + cap < high ? from + cap : high
      return { partition: p, from, to }
    })
    const found: ConsoleRecord[] = []
    const perPartitionLimit = new Map<number, number>()
    const scanned = await this.read(topic, ranges, (record) => {
      if (options.filter && !matches(options.filter, filterView(record))) return true
      if (!fromEnd) {
        // from a position, each partition contributes its first `limit` matches
        const n = perPartitionLimit.get(record.partition) ?? 0
        if (n >= options.limit) return true
        perPartitionLimit.set(record.partition, n + 1)
      }
      found.push(record)
      return true
    })
    const ordered = found.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition)
    const messages = fromEnd ? ordered.slice(-options.limit) : ordered.slice(0, options.limit)
    return {
      topic,
      messages,
      searched: {
        scanned,
        ranges: ranges.map((r) => ({ partition: r.partition, from: r.from.toString(), to: r.to.toString() })),
      },
    }
  }

  /**
   * Find by key: the key's partition (murmur2, as Lookout's producers and the client's default
   * partitioner place it), then the newest `scan` records of that partition only.
   */
  async findByKey(topic: string, key: string, options: { limit: number; scan: number; filter?: FilterNode }) {
    const count = await this.partitionCount(topic)
    if (count === 0) throw new NotFound(`topic "${topic}" has no partitions`)
    const partition = partitionForKey(key, count)
    const offsets = (await this.offsets([topic])).get(topic)![partition]!
    const from = offsets.high - BigInt(options.scan) > offsets.low ? offsets.high - BigInt(options.scan) : offsets.low
    const found: ConsoleRecord[] = []
    const scanned = await this.read(
      topic,
      [{ partition, from, to: offsets.high }],
      (record) => {
        if (record.key === key && (!options.filter || matches(options.filter, filterView(record)))) found.push(record)
        return true
      },
      15_000,
    )
    return {
      topic,
      messages: found.slice(-options.limit),
      searched: {
        key,
        partition,
        partitions: count,
        scanned,
        complete: from === offsets.low,
        ranges: [{ partition, from: from.toString(), to: offsets.high.toString() }],
      },
    }
  }

  /** One record by partition and offset, or undefined. */
  async record(topic: string, partition: number, offset: bigint): Promise<ConsoleRecord | undefined> {
    const count = await this.partitionCount(topic)
    if (partition >= count)
      throw new BadRequest(`partition ${partition} does not exist: topic "${topic}" has ${count} partitions`)
    let found: ConsoleRecord | undefined
    await this.read(topic, [{ partition, from: offset, to: offset + 1n }], (record) => {
      if (record.offset === offset.toString()) found = record
      return found === undefined
    })
    return found
  }

  /** Consumer groups with committed offsets, lag per partition in records and in seconds. */
  async groups() {
    const listed = await this.admin.listGroups()
    // the console's own throw-away readers are not shown
    const own = `${this.context.clientId}-console-`
    const ids = [...listed.keys()].filter((id) => !id.startsWith(own)).sort()
    if (ids.length === 0) return []
    const described = await this.admin.describeGroups({ groups: ids })
    const committed = await this.admin.listConsumerGroupOffsets({ groups: ids })
    // offsets a group committed for a topic deleted since are left out
    const existing = new Set(await this.topicNames())
    const topics = [...new Set(committed.flatMap((g) => g.topics.map((t) => t.name)))].filter((t) => existing.has(t))
    const offsets = await this.offsets(topics)
    const now = Date.now()
    const groups = committed.map((group) => {
      const info = described.get(group.groupId)
      const partitions = group.topics
        .filter((t) => existing.has(t.name))
        .flatMap((t) =>
          t.partitions
            .filter((p) => p.committedOffset >= 0n)
            .map((p) => {
              const high = offsets.get(t.name)?.[p.partitionIndex]?.high ?? 0n
              const lag = high > p.committedOffset ? high - p.committedOffset : 0n
              return {
                topic: t.name,
                partition: p.partitionIndex,
                committed: p.committedOffset.toString(),
                high: high.toString(),
                lag: Number(lag),
                lagSeconds: 0 as number | null,
              }
            }),
        )
      return {
        id: group.groupId,
        state: info?.state ?? listed.get(group.groupId)?.state ?? 'UNKNOWN',
        members: info?.members.size ?? 0,
        lag: partitions.reduce((sum, p) => sum + p.lag, 0),
        lagSeconds: 0 as number | null,
        partitions,
      }
    })
    // lag in time: how old the oldest unread record is (the record at the committed offset)
    const lagging = new Map<string, { partition: number; offset: bigint }[]>()
    for (const group of groups)
      for (const p of group.partitions)
        if (p.lag > 0) {
          const list = lagging.get(p.topic) ?? []
          if (!list.some((x) => x.partition === p.partition && x.offset === BigInt(p.committed)))
            list.push({ partition: p.partition, offset: BigInt(p.committed) })
          lagging.set(p.topic, list)
        }
    const oldest = new Map<string, number>()
    const unknown = new Set<string>()
    await Promise.all(
      [...lagging].map(async ([topic, wanted]) => {
        // one read per topic: the first record at or after each committed offset
        const byPartition = new Map<number, bigint>()
        for (const w of wanted) {
          const current = byPartition.get(w.partition)
          if (current === undefined || w.offset < current) byPartition.set(w.partition, w.offset)
        }
        const high = offsets.get(topic) ?? []
        const firsts = new Map<number, number>()
        const started = Date.now()
        await this.read(
          topic,
          [...byPartition].map(([partition, from]) => ({ partition, from, to: high[partition]?.high ?? from })),
          (record) => {
            if (!firsts.has(record.partition)) firsts.set(record.partition, record.timestamp)
            return firsts.size < byPartition.size
          },
          2_000,
        ).catch(() => 0)
        // a read that ran into its time limit may have missed records: their lag in time is unknown
        const timedOut = Date.now() - started >= 1_900
        for (const [partition, timestamp] of firsts) oldest.set(`${topic}:${partition}`, timestamp)
        if (timedOut) for (const partition of byPartition.keys()) unknown.add(`${topic}:${partition}`)
      }),
    )
    for (const group of groups) {
      for (const p of group.partitions) {
        if (p.lag === 0) continue
        const timestamp = oldest.get(`${p.topic}:${p.partition}`)
        // no record left to read: the offsets between are transaction markers, nothing waits
        p.lagSeconds =
          timestamp === undefined
            ? unknown.has(`${p.topic}:${p.partition}`)
              ? null
              : 0
            : Math.max(0, (now - timestamp) / 1000)
      }
      const known = group.partitions.map((p) => p.lagSeconds).filter((s): s is number => s !== null)
      group.lagSeconds = known.length > 0 ? Math.max(...known) : group.lag > 0 ? null : 0
    }
    // an empty group that never committed (a throw-away reader elsewhere) says nothing about lag
    return groups.filter((group) => group.partitions.length > 0 || group.state.toUpperCase() !== 'EMPTY')
  }

  /** Produces a copy of a record (key, value, headers) to `topic`; returns where it landed. */
  async produce(
    topic: string,
    record: {
      key: string | null
      value: string | null
      encoding: 'utf8' | 'base64'
      headers: { key: string; value: string }[]
    },
    partition?: number,
  ) {
    await this.partitionCount(topic)
    this.#producer ??= createProducer(this.context, { name: 'console' })
    const value =
      record.value === null ? undefined : Buffer.from(record.value, record.encoding === 'base64' ? 'base64' : 'utf8')
    const result = await this.#producer
      .send({
        messages: [
          {
            topic,
            ...(record.key !== null ? { key: Buffer.from(record.key) } : {}),
            ...(value ? { value } : {}),
            ...(partition !== undefined ? { partition } : {}),
            headers: Object.fromEntries(record.headers.map((h) => [h.key, h.value])),
          },
        ],
      })
      .catch((error: unknown) => {
        // the client's own message ("Producing messages failed.") names neither the topic nor why
        throw new Error(`producing to topic ${topic} failed: ${describeError(error)}`, { cause: error })
      })
    const offset = result.offsets?.[0]
    return { topic, partition: offset?.partition ?? partition ?? null, offset: offset?.offset?.toString() ?? null }
  }
}
