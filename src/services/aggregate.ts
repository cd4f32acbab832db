// aggregate: windowed aggregations on event time (SPEC §6). Two processors on the exactly-once
// runtime, with the same changelogged state stores as every service:
//
// 1. aggregate-route (raw-transactions, and the topic of each declared schema an aggregation
//    reads → aggregate-repartition) takes the events of the kinds the aggregations read, with
//    the event time their kind's schema declares, applies each aggregation's filter and re-keys
//    the event as `<aggregation>|<group key>` with the fields its aggregates read, so that every
//    event of a group reaches one aggregator partition. After each batch it sends every
//    aggregator partition a mark: the largest event time of its input partition, so each
//    aggregator partition keeps a watermark per input partition (the partitions of all its
//    input topics, numbered one after the other).
// 2. aggregate (aggregate-repartition → window-aggregates, late-events) runs the pure
//    WindowAggregator (src/core/windows/) on each partition, its windows in the partition's
//    store. A ticker writes the wall-clock ticks that drive the idle timeout into the same
//    topic, so they too are inputs processed exactly once.

import type { Admin } from '@platformatic/kafka'
import { Counter, Gauge } from 'prom-client'
import type { Config } from '../config/settings.ts'
import { paymentRuleDefaults } from '../core/anomaly/rules.ts'
import type { LookoutEvent } from '../core/events.ts'
import { kindOf } from '../core/kinds.ts'
import { decodeEvent } from '../core/pipeline/events.ts'
import { type CompiledSchema, registerSchemas } from '../core/schemas/index.ts'
import type { AggregateInputs } from '../core/windows/accumulator.ts'
import {
  type AggregationDefinition,
  builtInAggregations,
  fieldValue,
  passesFilter,
} from '../core/windows/aggregation.ts'
import {
  type AggregatorInput,
  type AggregatorOptions,
  type AggregatorOutput,
  WindowAggregator,
} from '../core/windows/aggregator.ts'
import { velocityWindow } from '../core/windows/window.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { connectAdmin, ensureTopics } from '../kafka/admin.ts'
import type { KafkaContext } from '../kafka/context.ts'
import type { OutputRecord, Processor } from '../kafka/processor.ts'
import { createProducer } from '../kafka/producer.ts'
import { partitionOffsets } from '../kafka/tail.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'
import type { ServiceDefinition } from './service.ts'

const log = logger('aggregate')

/** The aggregations a configuration runs: the built-in ones, then the declared ones. */
export function configuredAggregations(config: Config): AggregationDefinition[] {
  const graceMs = config['aggregate.graceMs']
  const builtIn = builtInAggregations({
    velocity: velocityWindow({
      rapidFireWindowMs: config['score.rapidFireWindowMs'],
      rapidFireSlideMs: paymentRuleDefaults.rapidFireSlideMs,
    }),
    graceMs,
  })
  const names = new Set(builtIn.map((definition) => definition.name))
  const declared = config['aggregate.aggregations'].map((declaration, index): AggregationDefinition => {
    if (names.has(declaration.name))
      throw new LookoutError(
        ErrorCodes.CONFIG_INVALID,
        `invalid setting aggregate.aggregations[${index}].name: "${declaration.name}" is a built-in aggregation`,
        { hint: `choose another name than ${[...names].join(', ')}` },
      )
    return { ...declaration, graceMs: declaration.graceMs ?? graceMs }
  })
  return [...builtIn, ...declared]
}

/** A routed record of aggregate-repartition. */
interface RoutedEvent {
  /** aggregation, group key, event time (ms), aggregate inputs, input partition, event id */
  a: string
  k: string
  t: number
  v: AggregateInputs
  p: number
  id: string
}

type Routed = RoutedEvent | { mark: number; t: number } | { tick: true; busy?: number[] }

/** An input topic of aggregate-route other than raw-transactions: a declared schema's. */
export interface RouteTopic {
  /** The schema whose records the topic holds. */
  readonly schema: CompiledSchema
  /** The watermark source number of the topic's partition 0 (raw-transactions' come first). */
  readonly firstSource: number
}

/** The processor name (and consumer group) of the route reading `topic` (raw-transactions when absent). */
export function routeName(topic?: RouteTopic): string {
  return topic ? `aggregate-route-${topic.schema.name}` : 'aggregate-route'
}

/**
 * aggregate-route: events of the kinds the aggregations read → one record per aggregation that
 * takes the event, keyed by group; then marks. It reads raw-transactions, or `topic`. Events of
 * other kinds, and invalid ones, are skipped: enrich dead-letters those.
 */
export function routeProcessor(
  topicPrefix: string,
  aggregations: readonly AggregationDefinition[],
  aggregatorPartitions: number,
  topic?: RouteTopic,
): Processor<LookoutEvent | null> {
  const output = topicName(topicPrefix, 'aggregateRepartition')
  const byKind = new Map<string, AggregationDefinition[]>()
  for (const aggregation of aggregations)
    byKind.set(aggregation.kind, [...(byKind.get(aggregation.kind) ?? []), aggregation])
  const firstSource = topic?.firstSource ?? 0
  // a schema without an event-time field takes the record's timestamp (set in process: decode does not see it)
  const recordTime = topic !== undefined && topic.schema.declaration.eventTime === undefined
  return {
    name: routeName(topic),
    decode(value) {
      try {
        const event = topic
          ? (topic.schema.decode(JSON.parse(value.toString()), 0) as unknown as LookoutEvent)
          : decodeEvent(value.toString())
        return byKind.has(event.kind) ? event : null
      } catch {
        return null
      }
    },
    process(records, { partition }) {
      const outputs: OutputRecord[] = []
      const source = firstSource + partition
      let maxTimeMs = Number.NEGATIVE_INFINITY
      for (const record of records) {
        const event = recordTime && record.value ? { ...record.value, time: record.timestamp } : record.value
        if (event === null) continue
        const kind = kindOf(event.kind)
        const timeMs = kind.features.eventTimeMs(event)
        if (!Number.isFinite(timeMs)) continue
        const fields = kind.record(event)
        if (timeMs > maxTimeMs) maxTimeMs = timeMs
        for (const aggregation of byKind.get(event.kind)!) {
          if (!passesFilter(fields, aggregation.filter)) continue
          const key = fieldValue(fields, aggregation.key)
          if (key === null) continue
          const routed: RoutedEvent = {
            a: aggregation.name,
            k: String(key),
            t: timeMs,
            v: aggregation.aggregates.map((aggregate) => {
              if (aggregate.field === undefined) return null
              const value = fieldValue(fields, aggregate.field)
              return typeof value === 'boolean' ? String(value) : value
            }),
            p: source,
            id: kind.id(event),
          }
          outputs.push({ topic: output, key: `${aggregation.name}|${routed.k}`, value: JSON.stringify(routed) })
        }
      }
      if (maxTimeMs > Number.NEGATIVE_INFINITY) {
        const mark = JSON.stringify({ mark: source, t: maxTimeMs })
        for (let target = 0; target < aggregatorPartitions; target++)
          outputs.push({ topic: output, key: `~mark|${source}`, value: mark, partition: target })
      }
      return outputs
    },
  }
}

/** Decodes a record of aggregate-repartition; throws with the dead-letter reason. */
export function decodeRouted(text: string): Routed {
  const value = JSON.parse(text) as Record<string, unknown>
  if (value === null || typeof value !== 'object') throw new Error('not a JSON object')
  if (value.tick === true)
    return Array.isArray(value.busy)
      ? { tick: true, busy: value.busy.filter((p) => typeof p === 'number') }
      : { tick: true }
  if (typeof value.mark === 'number' && typeof value.t === 'number') return { mark: value.mark, t: value.t }
  if (
    typeof value.a !== 'string' ||
    typeof value.k !== 'string' ||
    typeof value.t !== 'number' ||
    !Array.isArray(value.v) ||
    typeof value.p !== 'number'
  )
    throw new Error('a routed event needs a, k, t, v and p')
  return value as unknown as RoutedEvent
}

export interface AggregateMetrics {
  late: Counter<'aggregation'>
  closed: Counter<'aggregation' | 'by'>
  open: Gauge<'partition'>
  capReached: Gauge<'partition'>
  watermark: Gauge<'partition'>
}

/** The aggregate service's metrics in `registry` (none when absent). */
export function aggregateMetrics(registry?: import('prom-client').Registry): AggregateMetrics {
  const registers = registry ? [registry] : []
  return {
    late: new Counter({
      name: 'aggregate_late_events_total',
      help: 'events that came after a window they belong to had closed (one per missed window), written to late-events',
      labelNames: ['aggregation'],
      registers,
    }),
    closed: new Counter({
      name: 'aggregate_windows_closed_total',
      help: 'windows closed with their final result, by the watermark or early by the open-window cap',
      labelNames: ['aggregation', 'by'],
      registers,
    }),
    open: new Gauge({
      name: 'aggregate_open_windows',
      help: 'open windows per aggregator partition',
      labelNames: ['partition'],
      registers,
    }),
    capReached: new Gauge({
      name: 'aggregate_open_windows_cap_reached',
      help: '1 when the partition closed windows early because aggregate.maxOpenWindows was reached in its last batch',
      labelNames: ['partition'],
      registers,
    }),
    watermark: new Gauge({
      name: 'aggregate_watermark_seconds',
      help: "the partition's watermark (event time, Unix seconds)",
      labelNames: ['partition'],
      registers,
    }),
  }
}

/** ISO-8601 text of recent window bounds: many results share them. */
const isoCache = new Map<number, string>()
function iso(ms: number): string {
  let text = isoCache.get(ms)
  if (text === undefined) {
    if (isoCache.size >= 10_000) isoCache.clear()
    text = new Date(ms).toISOString()
    isoCache.set(ms, text)
  }
  return text
}

/** The record an aggregator output becomes. */
export function outputRecord(topicPrefix: string, output: AggregatorOutput): OutputRecord {
  const key = `${output.aggregation}|${output.key}`
  if (output.type === 'result')
    return {
      topic: topicName(topicPrefix, 'windowAggregates'),
      key,
      value: JSON.stringify({
        aggregation: output.aggregation,
        key: output.key,
        windowStart: iso(output.windowStart),
        windowEnd: iso(output.windowEnd),
        values: output.values,
        final: output.final,
      }),
      ...(output.closedBy ? { headers: { 'lookout.closed-by': output.closedBy } } : {}),
    }
  return {
    topic: topicName(topicPrefix, 'lateEvents'),
    key,
    value: JSON.stringify({
      aggregation: output.aggregation,
      key: output.key,
      windowStart: iso(output.windowStart),
      windowEnd: iso(output.windowEnd),
      eventTime: new Date(output.eventTime).toISOString(),
      watermark: new Date(output.watermark).toISOString(),
      lateCount: output.lateCount,
      ...(output.id === undefined ? {} : { id: output.id }),
    }),
  }
}

/** aggregate: routed payments, marks and ticks → window results and late events. */
export function aggregateProcessor(
  topicPrefix: string,
  aggregations: readonly AggregationDefinition[],
  options: AggregatorOptions,
  metrics?: AggregateMetrics,
): Processor<Routed> {
  const aggregator = new WindowAggregator(aggregations, options)
  const lateTopic = topicName(topicPrefix, 'lateEvents')
  return {
    name: 'aggregate',
    decode: (value) => decodeRouted(value.toString()),
    process(records, { partition, store }) {
      const inputs: AggregatorInput[] = new Array(records.length)
      for (let i = 0; i < records.length; i++) {
        const { value, timestamp } = records[i]!
        inputs[i] =
          'tick' in value
            ? { type: 'tick', wallMs: timestamp, ...(value.busy ? { busy: value.busy } : {}) }
            : 'mark' in value
              ? { type: 'mark', source: value.mark, maxTimeMs: value.t, wallMs: timestamp }
              : {
                  type: 'event',
                  aggregation: value.a,
                  key: value.k,
                  timeMs: value.t,
                  inputs: value.v,
                  source: value.p,
                  wallMs: timestamp,
                  id: value.id,
                }
      }
      const outputs = aggregator.process(store, inputs)
      if (metrics) {
        const labels = { partition: String(partition) }
        metrics.open.set(labels, aggregator.openWindows(store))
        metrics.capReached.set(
          labels,
          outputs.some((output) => output.type === 'result' && output.closedBy === 'cap') ? 1 : 0,
        )
        const watermark = aggregator.watermark(store)
        if (Number.isFinite(watermark)) metrics.watermark.set(labels, watermark / 1000)
      }
      return outputs.map((output) => outputRecord(topicPrefix, output))
    },
    afterCommit(outputs) {
      if (!metrics) return
      for (const output of outputs) {
        const aggregation = output.key?.slice(0, output.key.indexOf('|')) ?? ''
        if (output.topic === lateTopic) metrics.late.inc({ aggregation })
        else if (output.headers?.['lookout.closed-by'])
          metrics.closed.inc({ aggregation, by: output.headers['lookout.closed-by'] })
      }
    },
  }
}

/** An input topic of the route as the ticker sees it: its consumer group and its first watermark source. */
interface RouteInput {
  readonly topic: string
  readonly group: string
  readonly firstSource: number
}

/**
 * The watermark sources (partitions of the route's input topics) that still have records to
 * read: the route group's committed offset is below the end. Those are never idle, whatever
 * the clock says.
 */
export async function busyInputPartitions(admin: Admin, inputs: readonly RouteInput[]): Promise<number[]> {
  const busy: number[] = []
  for (const { topic, group, firstSource } of inputs) {
    const ends = await partitionOffsets(admin, topic)
    const committed = new Map<number, bigint>()
    const groups = await admin.listConsumerGroupOffsets({
      groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: ends.map((p) => p.partition) }] }],
    })
    for (const entry of groups)
      for (const t of entry.topics)
        for (const partition of t.partitions)
          if (partition.committedOffset >= 0n) committed.set(partition.partitionIndex, partition.committedOffset)
    for (const { partition, earliest, end } of ends) {
      // below the earliest offset (records deleted), the route starts at the earliest
      const at = committed.get(partition) ?? earliest
      if (at < earliest ? earliest < end : at < end) busy.push(firstSource + partition)
    }
  }
  return busy
}

/**
 * Writes a tick to every partition of aggregate-repartition every `intervalMs`, from `delayMs`
 * on, naming the input partitions the route has not read to the end.
 */
function startTicker(
  kafka: KafkaContext,
  partitions: number,
  inputs: readonly RouteInput[],
  intervalMs: number,
  delayMs: number,
) {
  const producer = createProducer(kafka, { name: 'aggregate-ticker' })
  const topic = topicName(kafka.topicPrefix, 'aggregateRepartition')
  const key = Buffer.from('~tick')
  let admin: Admin | undefined
  let sending = false
  let stopped = false
  const tick = async () => {
    if (sending || stopped) return
    sending = true
    try {
      admin ??= await connectAdmin(kafka)
      const busy = await busyInputPartitions(admin, inputs)
      const value = Buffer.from(JSON.stringify({ tick: true, busy }))
      await producer.send({
        messages: Array.from({ length: partitions }, (_, partition) => ({ topic, key, value, partition })),
      })
    } catch (error) {
      log.warn('tick not sent', { error: error instanceof Error ? error.message : String(error) })
    } finally {
      sending = false
    }
  }
  let interval: NodeJS.Timeout | undefined
  const delay = setTimeout(() => {
    interval = setInterval(() => void tick(), intervalMs)
  }, delayMs)
  return async () => {
    stopped = true
    clearTimeout(delay)
    clearInterval(interval)
    await producer.close().catch(() => {})
    await admin?.close().catch(() => {})
  }
}

export const aggregateService: ServiceDefinition = {
  name: 'aggregate',
  description:
    "windowed aggregations on event time (raw-transactions and declared schemas' topics → aggregate-repartition → window-aggregates, late-events)",
  section: 'aggregate',
  async start(context) {
    const { config, kafka } = context
    const prefix = kafka.topicPrefix
    const aggregations = configuredAggregations(config)
    // the declared schemas an aggregation reads: their topics are the route's further inputs
    const kinds = new Set(aggregations.map((aggregation) => aggregation.kind))
    const schemas = registerSchemas(config.schemas).filter((schema) => kinds.has(schema.name))
    const raw = topicName(prefix, 'rawTransactions')
    const repartition = topicName(prefix, 'aggregateRepartition')
    const admin = await connectAdmin(kafka)
    let aggregatorPartitions: number
    let sources = 0
    const inputs: RouteInput[] = []
    const topics: RouteTopic[] = []
    try {
      // a declared topic that does not exist yet is created, so the stream can start before its producer
      await ensureTopics(
        admin,
        schemas.map((schema) => ({
          name: schema.declaration.topic!,
          partitions: kafka.partitions,
          replicationFactor: kafka.replicationFactor,
          compacted: false,
        })),
      )
      const names = [raw, ...schemas.map((schema) => schema.declaration.topic!)]
      const metadata = await admin.metadata({ topics: [...names, repartition] })
      aggregatorPartitions = metadata.topics.get(repartition)?.partitionsCount ?? kafka.partitions
      names.forEach((name, i) => {
        const schema = schemas[i - 1]
        const topic = schema ? { schema, firstSource: sources } : undefined
        if (topic) topics.push(topic)
        inputs.push({ topic: name, group: `${prefix}lookout-${routeName(topic)}`, firstSource: sources })
        sources += metadata.topics.get(name)?.partitionsCount ?? kafka.partitions
      })
    } finally {
      await admin.close()
    }
    const idleTimeoutMs = config['aggregate.idleTimeoutMs']
    const options: AggregatorOptions = {
      sources,
      latenessMs: config['aggregate.latenessMs'],
      idleTimeoutMs,
      maxOpenWindows: config['aggregate.maxOpenWindows'],
    }
    const metrics = aggregateMetrics(context.registry)
    const route = context.processorRuntimes('rawTransactions', () =>
      routeProcessor(prefix, aggregations, aggregatorPartitions),
    )
    for (const topic of topics)
      route.push(
        ...context.processorRuntimes({ topic: topic.schema.declaration.topic! }, () =>
          routeProcessor(prefix, aggregations, aggregatorPartitions, topic),
        ),
      )
    const aggregate = context.processorRuntimes('aggregateRepartition', () =>
      aggregateProcessor(prefix, aggregations, options, metrics),
    )
    const stopTicker = startTicker(
      kafka,
      aggregatorPartitions,
      inputs,
      Math.max(50, Math.min(1_000, Math.floor(idleTimeoutMs / 4))),
      idleTimeoutMs,
    )
    context.onStop(stopTicker)
    log.info('aggregations', {
      names: aggregations.map((definition) => definition.name).join(','),
      inputs: inputs.map((input) => input.topic).join(','),
      inputPartitions: sources,
    })
    return { runtimes: [...route, ...aggregate] }
  },
}
