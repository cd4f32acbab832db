// The console's live view of the pipeline: it tails anomaly-scores, anomalies, alerts and
// phase-transitions from their ends (its own throw-away consumer; no group offsets), samples
// every topic's end offsets (events/s), every consumer group's lag (records and seconds) and
// every service's /health, keeps an hour of history, and pushes anomalies and overview
// snapshots to server-sent-event subscribers.

import { Consumer, FetchIsolationLevels, type MessagesStream } from '@platformatic/kafka'
import type { Config } from '../config/settings.ts'
import { featureKindOf } from '../core/features/index.ts'
import { decodeEvent, decodeScored, eventId, type ScoredEvent } from '../core/pipeline/events.ts'
import { closeAfterJoin } from '../kafka/close-consumer.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'
import { type ConsoleKafka, type ConsoleRecord, partitionForKey, toConsoleRecord } from './kafka.ts'

const log = logger('console')

export interface LiveAnomaly {
  topic: string
  partition: number
  offset: string
  /** When the score service wrote it (record time, ms). */
  scoredAt: number
  event: ScoredEvent
}

export interface ServiceStatus {
  name: string
  port: number
  ok: boolean
  reason?: string
}

type Listener = (event: string, data: unknown) => void

const historyPoints = 1_800 // an hour at 2 s
const throughputEveryMs = 2_000
const lagEveryMs = 5_000

/** Quantile of a sample (nearest rank); null when empty. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!
}

class Ring {
  readonly values: number[] = []
  readonly size: number
  constructor(size: number) {
    this.size = size
  }
  push(value: number) {
    this.values.push(value)
    if (this.values.length > this.size) this.values.splice(0, this.values.length - this.size)
  }
}

export class Live {
  readonly #kafka: ConsoleKafka
  readonly #config: Config
  readonly #services: { name: string; port: number }[]
  readonly #listeners = new Set<Listener>()
  readonly #anomalies: LiveAnomaly[] = []
  #pending: LiveAnomaly[] = []
  #pendingTotal = 0
  readonly #scoreLatency = new Ring(5_000)
  readonly #alertLatency = new Ring(2_000)
  /** Per-second counts of scored events and anomalies over the last minute. */
  readonly #counts = new Map<number, { scored: number; anomalies: number }>()
  readonly #throughput: { t: number[]; series: Map<string, number[]> } = { t: [], series: new Map() }
  readonly #lag: { t: number[]; records: Map<string, number[]>; seconds: Map<string, (number | null)[]> } = {
    t: [],
    records: new Map(),
    seconds: new Map(),
  }
  #lastOffsets: { at: number; messages: Map<string, bigint> } | undefined
  #rates = new Map<string, number>()
  #groups: Awaited<ReturnType<ConsoleKafka['groups']>> = []
  #health: ServiceStatus[] = []
  #phase: string | null = null
  #timers: NodeJS.Timeout[] = []
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined
  /** The consumer's consume() under way: it joins a group, and is let finish before a close. */
  #joining: Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> | undefined
  #closing = false
  readonly #running = new Set<Promise<void>>()
  #tailing: Promise<void> | undefined

  constructor(kafka: ConsoleKafka, config: Config, services: { name: string; port: number }[]) {
    this.#kafka = kafka
    this.#config = config
    this.#services = services
  }

  get anomalyTopic() {
    return topicName(this.#config['topics.prefix'], 'anomalies')
  }

  async start(): Promise<void> {
    await this.#preload().catch((error) => log.warn('could not read recent anomalies', { error: String(error) }))
    this.#tailing = this.#tail()
    const every = (ms: number, run: () => Promise<void>) => {
      let busy = false
      const tick = () => {
        if (busy || this.#closing) return
        busy = true
        const running = run()
          .catch((error) => log.debug('console sampling failed', { error: String(error) }))
          .finally(() => {
            busy = false
            this.#running.delete(running)
          })
        this.#running.add(running)
      }
      tick()
      this.#timers.push(setInterval(tick, ms))
    }
    every(throughputEveryMs, () => this.#sampleThroughput())
    every(lagEveryMs, () => this.#sampleLag())
    every(2_000, () => this.#sampleHealth())
    this.#timers.push(setInterval(() => this.#emit('overview', this.overview(false)), 2_000))
    this.#timers.push(setInterval(() => this.#flush(), 250))
  }

  async stop(): Promise<void> {
    this.#closing = true
    for (const timer of this.#timers) clearInterval(timer)
    await closeAfterJoin(this.#consumer, this.#joining)
    await this.#tailing?.catch(() => {})
    // samples under way finish (each of their reads is bounded) before the admin client closes
    await Promise.allSettled([...this.#running])
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  get subscribers(): number {
    return this.#listeners.size
  }

  #emit(event: string, data: unknown) {
    for (const listener of this.#listeners) {
      try {
        listener(event, data)
      } catch {
        this.#listeners.delete(listener)
      }
    }
  }

  /** The newest anomalies, newest first. */
  anomalies(limit: number): LiveAnomaly[] {
    return this.#anomalies.slice(-limit).reverse()
  }

  #addAnomaly(record: ConsoleRecord, emit: boolean) {
    if (record.value === null) return
    let event: ScoredEvent
    try {
      event = decodeScored(record.value)
    } catch {
      return
    }
    const anomaly: LiveAnomaly = {
      topic: record.topic,
      partition: record.partition,
      offset: record.offset,
      scoredAt: record.timestamp,
      event,
    }
    this.#anomalies.push(anomaly)
    if (this.#anomalies.length > 1_000) this.#anomalies.splice(0, this.#anomalies.length - 1_000)
    if (emit) {
      this.#pending.push(anomaly)
      this.#pendingTotal++
      if (this.#pending.length > 100) this.#pending.splice(0, this.#pending.length - 100)
    }
  }

  /** Anomalies go out in batches (at most 4 a second, the newest 100 of each), so a burst cannot flood a page. */
  #flush() {
    if (this.#pendingTotal === 0) return
    this.#emit('anomalies', { total: this.#pendingTotal, items: this.#pending.splice(0) })
    this.#pendingTotal = 0
  }

  async #preload() {
    const recent = await this.#kafka.browse(this.anomalyTopic, { position: 'end', limit: 200, scan: 600 })
    for (const record of recent.messages) this.#addAnomaly(record, false)
  }

  #count(second: number, field: 'scored' | 'anomalies') {
    const bucket = this.#counts.get(second) ?? { scored: 0, anomalies: 0 }
    bucket[field]++
    this.#counts.set(second, bucket)
    if (this.#counts.size > 120) for (const key of this.#counts.keys()) if (key < second - 90) this.#counts.delete(key)
  }

  /** Tails the live topics from their ends until stopped; reconnects after a failure. */
  async #tail(): Promise<void> {
    const prefix = this.#config['topics.prefix']
    const scores = topicName(prefix, 'anomalyScores')
    const anomalies = this.anomalyTopic
    const alerts = topicName(prefix, 'alerts')
    const phases = topicName(prefix, 'phaseTransitions')
    while (!this.#closing) {
      try {
        const existing = new Set(await this.#kafka.topicNames())
        const topics = [scores, anomalies, alerts, phases].filter((t) => existing.has(t))
        if (topics.length === 0) throw new Error('no pipeline topics yet')
        const offsets = await this.#kafka.offsets(topics)
        const consumer = new Consumer({
          clientId: `${this.#kafka.context.clientId}-console-live`,
          groupId: `${this.#kafka.context.clientId}-console-live-${process.pid}-${Date.now()}`,
          bootstrapBrokers: [...this.#kafka.context.brokers],
          isolationLevel: FetchIsolationLevels.READ_COMMITTED,
          maxWaitTime: 100,
        })
        this.#consumer = consumer
        if (this.#closing) break
        this.#joining = consumer.consume({
          topics,
          mode: 'manual',
          autocommit: false,
          offsets: topics.flatMap((topic) =>
            (offsets.get(topic) ?? []).map((p, partition) => ({
              topic,
              partition,
              // the last phase change is wanted; the others start at their ends
              offset: topic === phases && p.high > p.low ? p.high - 1n : p.high,
            })),
          ),
        })
        const stream = await this.#joining
        if (this.#closing) break
        for await (const message of stream) {
          if (this.#closing) break
          const now = Date.now()
          const second = Math.floor(now / 1000)
          const timestamp = Number(message.timestamp)
          if (message.topic === scores) {
            this.#count(second, 'scored')
            const produced = producedAtOf(message.value)
            if (produced !== undefined) this.#scoreLatency.push(timestamp - produced)
            const phase = phaseOf(message.value)
            if (phase) this.#phase = phase
          } else if (message.topic === anomalies) {
            this.#count(second, 'anomalies')
            this.#addAnomaly(toConsoleRecord(message.topic, message), true)
          } else if (message.topic === alerts) {
            const produced = producedAtOf(message.value)
            if (produced !== undefined) this.#alertLatency.push(timestamp - produced)
          } else if (message.topic === phases) {
            try {
              const parsed = JSON.parse(message.value?.toString() ?? '{}') as { to?: unknown; phase?: unknown }
              const phase = parsed.to ?? parsed.phase
              if (typeof phase === 'string') this.#phase = phase
            } catch {
              // not JSON: ignored
            }
          }
        }
      } catch (error) {
        if (this.#closing) return
        log.debug('console live tail restarts', { error: String(error) })
      } finally {
        await this.#consumer?.close(true).catch(() => {})
      }
      if (!this.#closing) await new Promise((resolve) => setTimeout(resolve, 2_000))
    }
  }

  async #sampleThroughput() {
    const names = (await this.#kafka.topicNames()).filter((name) => !name.startsWith('__'))
    const offsets = await this.#kafka.offsets(names)
    const now = Date.now()
    const messages = new Map<string, bigint>()
    for (const [name, partitions] of offsets)
      messages.set(
        name,
        partitions.reduce((sum, p) => sum + p.high, 0n),
      )
    const previous = this.#lastOffsets
    this.#lastOffsets = { at: now, messages }
    if (!previous) return
    const seconds = (now - previous.at) / 1000
    const rates = new Map<string, number>()
    for (const [name, total] of messages) {
      const before = previous.messages.get(name)
      rates.set(name, before === undefined ? 0 : Math.max(0, Number(total - before) / seconds))
    }
    this.#rates = rates
    this.#throughput.t.push(Math.round(now / 1000))
    for (const [name, rate] of rates) {
      let series = this.#throughput.series.get(name)
      if (!series) {
        series = new Array(this.#throughput.t.length - 1).fill(0)
        this.#throughput.series.set(name, series)
      }
      series.push(Math.round(rate * 10) / 10)
    }
    for (const series of this.#throughput.series.values())
      while (series.length < this.#throughput.t.length) series.push(0)
    trim(this.#throughput.t, [...this.#throughput.series.values()])
  }

  async #sampleLag() {
    const groups = await this.#kafka.groups()
    this.#groups = groups.filter((g) => !g.id.includes('-console-'))
    this.#lag.t.push(Math.round(Date.now() / 1000))
    for (const group of this.#groups) {
      if (!this.#lag.records.has(group.id)) {
        this.#lag.records.set(group.id, new Array(this.#lag.t.length - 1).fill(null))
        this.#lag.seconds.set(group.id, new Array(this.#lag.t.length - 1).fill(null))
      }
      this.#lag.records.get(group.id)!.push(group.lag)
      this.#lag.seconds.get(group.id)!.push(group.lagSeconds)
    }
    for (const [id, series] of this.#lag.records)
      if (series.length < this.#lag.t.length) {
        series.push(Number.NaN)
        this.#lag.seconds.get(id)!.push(null)
      }
    trim(this.#lag.t, [...this.#lag.records.values(), ...this.#lag.seconds.values()])
  }

  async #sampleHealth() {
    this.#health = await Promise.all(
      this.#services.map(async (service): Promise<ServiceStatus> => {
        try {
          const response = await fetch(`http://127.0.0.1:${service.port}/health`, {
            signal: AbortSignal.timeout(1_500),
          })
          const body = (await response.json().catch(() => ({}))) as { reason?: string }
          return { ...service, ok: response.ok, ...(body.reason ? { reason: body.reason } : {}) }
        } catch (error) {
          const cause = (error as { cause?: { code?: string } }).cause?.code
          return { ...service, ok: false, reason: cause === 'ECONNREFUSED' ? 'not running' : String(error) }
        }
      }),
    )
  }

  /** What the overview page shows; with `history`, the last hour of throughput and lag too. */
  overview(history = true) {
    const second = Math.floor(Date.now() / 1000)
    let scored = 0
    let flagged = 0
    for (const [at, bucket] of this.#counts)
      if (at >= second - 60 && at < second) {
        scored += bucket.scored
        flagged += bucket.anomalies
      }
    const prefix = this.#config['topics.prefix']
    const latency = (ring: Ring) => ({
      p50: quantile(ring.values, 0.5),
      p99: quantile(ring.values, 0.99),
      samples: ring.values.length,
    })
    return {
      time: Date.now(),
      prefix,
      topics: [...this.#rates].map(([name, rate]) => ({ name, eventsPerSecond: Math.round(rate * 10) / 10 })),
      input: this.#rates.get(topicName(prefix, 'rawTransactions')) ?? 0,
      scored: this.#rates.get(topicName(prefix, 'anomalyScores')) ?? 0,
      latencyMs: { score: latency(this.#scoreLatency), alert: latency(this.#alertLatency) },
      anomalyRate: {
        scoredPerSecond: scored / 60,
        anomaliesPerSecond: flagged / 60,
        share: scored > 0 ? flagged / scored : null,
      },
      phase: this.#phase,
      services: this.#health,
      groups: this.#groups.map((g) => ({
        id: g.id,
        state: g.state,
        lag: g.lag,
        lagSeconds: g.lagSeconds,
        partitions: g.partitions,
      })),
      ...(history
        ? {
            history: {
              throughput: { t: this.#throughput.t, series: Object.fromEntries(this.#throughput.series) },
              lag: {
                t: this.#lag.t,
                records: Object.fromEntries(this.#lag.records),
                seconds: Object.fromEntries(this.#lag.seconds),
              },
            },
          }
        : {}),
    }
  }

  /**
   * Where a scored event's source record is: the raw-transactions partition its entity hashes to
   * (the sources key records by entity), scanned from a few seconds before it was produced for
   * the record with its id (at most 50,000 records).
   */
  async sourceOf(scoredText: string) {
    const event = decodeScored(scoredText)
    const topic = topicName(this.#config['topics.prefix'], 'rawTransactions')
    const count = await this.#kafka.partitionCount(topic)
    const partition = partitionForKey(event.entity, count)
    const since = (event.producedAt ?? event.eventTime) - 5_000
    const from = (await this.#kafka.offsetsForTime(topic, [partition], since)).get(partition) ?? 0n
    const high = (await this.#kafka.offsets([topic])).get(topic)?.[partition]?.high ?? from
    const to = from + 50_000n < high ? from + 50_000n : high
    let found: ConsoleRecord | undefined
    const scanned = await this.#kafka.read(topic, [{ partition, from, to }], (record) => {
      if (record.value === null || !record.value.includes(event.id)) return true
      try {
        if (eventId(decodeEvent(record.value)) === event.id) found = record
      } catch {
        // not an event
      }
      return found === undefined
    })
    return {
      source: found ? { topic, partition, offset: found.offset } : null,
      searched: { topic, partition, from: from.toString(), to: to.toString(), scanned },
    }
  }

  /**
   * The event's contributing features, each with its value and the entity's usual value (the
   * median over the entity's other events among the newest 20,000 enriched events of its
   * partition): found by key on enriched-features.
   */
  async featuresOf(scoredText: string) {
    const event = decodeScored(scoredText)
    const topic = topicName(this.#config['topics.prefix'], 'enrichedFeatures')
    const names = featureKindOf(event.kind)?.schema.names ?? []
    const found = await this.#kafka.findByKey(topic, event.entity, { limit: 500, scan: 20_000 })
    let own: number[] | undefined
    const others: number[][] = []
    for (const record of found.messages) {
      try {
        const enriched = JSON.parse(record.value ?? '') as { id?: string; features?: number[] }
        if (!Array.isArray(enriched.features)) continue
        if (enriched.id === event.id) own = enriched.features
        else others.push(enriched.features)
      } catch {
        // not an enriched event
      }
    }
    const weights = new Map(event.contributions.map((c) => [c.feature, c.weight]))
    const features = names
      .map((feature, i) => ({
        feature,
        weight: weights.get(feature) ?? 0,
        value: own?.[i] ?? null,
        usual: quantile(
          others.map((f) => f[i]!).filter((v) => Number.isFinite(v)),
          0.5,
        ),
      }))
      .sort((a, b) => b.weight - a.weight)
    return { features, entityEvents: others.length, searched: found.searched }
  }

  /** Lag over the last hour of one group (records and seconds per sample). */
  lagHistory(group: string) {
    return {
      t: this.#lag.t,
      records: this.#lag.records.get(group) ?? [],
      seconds: this.#lag.seconds.get(group) ?? [],
    }
  }
}

function trim(t: number[], series: unknown[][]) {
  const extra = t.length - historyPoints
  if (extra <= 0) return
  t.splice(0, extra)
  for (const s of series) s.splice(0, extra)
}

const producedPattern = /"producedAt":(\d+(?:\.\d+)?)/
const phasePattern = /"phase":"([^"]{1,40})"/

/** The producedAt of a scored event or alert without parsing the whole record. */
function producedAtOf(value: Buffer | undefined): number | undefined {
  if (!value) return undefined
  const match = producedPattern.exec(value.toString('latin1'))
  return match ? Number(match[1]) : undefined
}

function phaseOf(value: Buffer | undefined): string | undefined {
  if (!value) return undefined
  return phasePattern.exec(value.toString('latin1'))?.[1]
}
