// The one Kafka-side runner of every source: paces events, sends them in bounded batches with
// an idempotent acks=all producer, accounts for every event (sent + failed = generated),
// serves /health and /metrics, logs progress, and stops cleanly on SIGINT/SIGTERM.

import type { Server } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Random } from '../core/random.ts'
import { describeError } from '../errors.ts'
import type { BufferProducer } from '../kafka/producer.ts'
import { type Logger, logger } from '../log.ts'
import { startServiceServer } from '../services/http.ts'
import { progressBar } from './progress.ts'

/** One message for Kafka: the entity key and the event (serialised as JSON). */
export interface OutgoingEvent {
  readonly key: string
  readonly value: unknown
  /** Messages to send with this event to other topics (e.g. a phase transition). */
  readonly also?: readonly SideMessage[]
}

export interface SideMessage {
  readonly topic: string
  readonly key: string
  readonly value: unknown
}

/**
 * How events are spread over wall-clock time.
 * - rate: a constant target rate (events/s), sent in batches so high rates are reachable;
 * - eventTime: each event is due when its simulated time, divided by `speed`, has elapsed
 *   since the first event's (Poisson arrivals, replay of a time series);
 * - batches: every `intervalMs` a batch of `min`–`max` events (dataset replay), one log line each;
 * - unthrottled: as fast as the broker takes them, bounded by the in-flight limit.
 */
export type Pacing =
  | { readonly kind: 'rate'; readonly eventsPerSecond: number }
  | { readonly kind: 'eventTime'; readonly speed: number }
  | {
      readonly kind: 'batches'
      readonly intervalMs: number
      readonly min: number
      readonly max: number
      readonly random: Random
    }
  | { readonly kind: 'unthrottled' }

export interface EventSource {
  /** The next event, or undefined when the source has no more (a finite replay). */
  next(nowMs: number): OutgoingEvent | undefined
  /** Simulated time (ms) of the event `next` returns, for eventTime pacing; undefined when exhausted. */
  nextEventTimeMs?(): number | undefined
}

export interface Prelude {
  readonly label: string
  readonly events: readonly OutgoingEvent[]
}

export interface RunnerOptions {
  readonly source: string
  readonly topic: string
  readonly producer: BufferProducer
  readonly pacing: Pacing
  readonly events: EventSource
  /** Stop after this many events of the stream (0 = until stopped or exhausted). */
  readonly count: number
  /** Records per produce request. */
  readonly batchSize: number
  /** How long to wait for more due events before sending a partial batch (ms). */
  readonly lingerMs: number
  /** Produce requests in flight at once. */
  readonly inFlight: number
  readonly registry: Registry
  /** Port of /health and /metrics; undefined = no server. */
  readonly port: number | undefined
  /** Sent first, unthrottled, with a progress bar (the payments backfill). */
  readonly prelude?: Prelude
  /** Extra lines for the summary (e.g. invalid records skipped). */
  readonly summaryExtras?: () => string[]
  readonly signal?: AbortSignal
  readonly log?: Logger
  /** Where the summary goes (default stdout). */
  readonly write?: (text: string) => void
}

export interface RunSummary {
  generated: number
  sent: number
  failed: number
  sideSent: number
  sideFailed: number
  elapsedSeconds: number
  eventsPerSecond: number
  stoppedBy: 'count' | 'signal' | 'exhausted'
}

export const progressEvery = 5_000

/** A counting semaphore for produce requests in flight. */
class Slots {
  #free: number
  readonly #waiting: (() => void)[] = []
  readonly #pending = new Set<Promise<void>>()
  constructor(size: number) {
    this.#free = size
  }
  async run(task: () => Promise<void>): Promise<void> {
    while (this.#free === 0) await new Promise<void>((resolve) => this.#waiting.push(resolve))
    this.#free--
    const promise = task().finally(() => {
      this.#pending.delete(promise)
      this.#free++
      this.#waiting.shift()?.()
    })
    this.#pending.add(promise)
  }
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending])
  }
}

export async function runSource(options: RunnerOptions): Promise<RunSummary> {
  const log = options.log ?? logger(`produce/${options.source}`)
  const write = options.write ?? ((text: string) => void process.stdout.write(text))
  const { producer, topic, pacing, events, registry } = options
  const batchSize = Math.max(1, options.batchSize)

  const produced = new Counter({
    name: 'events_produced_total',
    help: 'events acknowledged by Kafka',
    registers: [registry],
  })
  const failedCounter = new Counter({
    name: 'events_failed_total',
    help: 'events whose delivery failed (logged, never retried silently)',
    registers: [registry],
  })
  const generatedCounter = new Counter({
    name: 'events_generated_total',
    help: 'events generated',
    registers: [registry],
  })
  const rateGauge = new Gauge({
    name: 'events_produce_rate',
    help: 'events acknowledged per second (last interval)',
    registers: [registry],
  })
  const inFlightGauge = new Gauge({
    name: 'events_in_flight',
    help: 'events sent, not yet acknowledged',
    registers: [registry],
  })

  const totals = { generated: 0, sent: 0, failed: 0, sideSent: 0, sideFailed: 0 }
  let streamGenerated = 0
  let stopping = false
  let stoppedBy: RunSummary['stoppedBy'] = 'exhausted'
  const wake = new AbortController()
  const onAbort = () => {
    stopping = true
    stoppedBy = 'signal'
    wake.abort()
  }
  if (options.signal?.aborted) onAbort()
  options.signal?.addEventListener('abort', onAbort, { once: true })

  let server: Server | undefined
  if (options.port !== undefined) {
    server = await startServiceServer({
      service: `produce-${options.source}`,
      port: options.port,
      portSetting: 'source.port (--port)',
      registry,
      health: () => ({ ok: !stopping, source: options.source, topic, ...totals }),
    })
  }

  const started = performance.now()
  const slots = new Slots(Math.max(1, options.inFlight))
  let nextProgress = progressEvery
  let rateMark = { at: started, sent: 0 }
  const rateTimer = setInterval(() => {
    const now = performance.now()
    rateGauge.set(((totals.sent - rateMark.sent) * 1000) / Math.max(1, now - rateMark.at))
    rateMark = { at: now, sent: totals.sent }
  }, 1_000)
  rateTimer.unref()

  /** Sends one batch; every event ends up in sent or failed, never lost. */
  const send = (batch: OutgoingEvent[], onDelivered?: (sent: number, size: number) => void) =>
    slots.run(async () => {
      const messages: { topic: string; key: Buffer; value: Buffer }[] = []
      let side = 0
      for (const event of batch) {
        messages.push({ topic, key: Buffer.from(event.key), value: Buffer.from(JSON.stringify(event.value)) })
        if (event.also) {
          for (const extra of event.also) {
            messages.push({
              topic: extra.topic,
              key: Buffer.from(extra.key),
              value: Buffer.from(JSON.stringify(extra.value)),
            })
            side++
          }
        }
      }
      inFlightGauge.inc(batch.length)
      try {
        await producer.send({ messages })
        totals.sent += batch.length
        totals.sideSent += side
        produced.inc(batch.length)
        onDelivered?.(batch.length, batch.length)
      } catch (error) {
        totals.failed += batch.length
        totals.sideFailed += side
        failedCounter.inc(batch.length)
        log.error(`delivery failed for ${batch.length} events: ${describeError(error)}`, {
          topic,
          failedTotal: totals.failed,
        })
        onDelivered?.(0, batch.length)
      } finally {
        inFlightGauge.dec(batch.length)
      }
    })

  const account = (n: number) => {
    totals.generated += n
    generatedCounter.inc(n)
    if (totals.generated >= nextProgress) {
      const seconds = (performance.now() - started) / 1000
      log.info(`produced ${totals.generated} events`, {
        sent: totals.sent,
        failed: totals.failed,
        rate: Math.round(totals.generated / Math.max(seconds, 0.001)),
      })
      nextProgress = (Math.floor(totals.generated / progressEvery) + 1) * progressEvery
    }
  }

  try {
    if (options.prelude && options.prelude.events.length > 0 && !stopping) {
      const all = options.prelude.events
      const bar = progressBar(options.prelude.label, all.length)
      let delivered = 0
      for (let from = 0; from < all.length && !stopping; from += batchSize) {
        const batch = all.slice(from, from + batchSize)
        totals.generated += batch.length
        generatedCounter.inc(batch.length)
        await send(batch as OutgoingEvent[], (_sent, size) => {
          delivered += size
          bar.update(delivered)
        })
      }
      await slots.drain()
      bar.stop()
      log.info(`${options.prelude.label}: ${all.length} events`, { sent: totals.sent, failed: totals.failed })
    }

    const remaining = () => (options.count > 0 ? options.count - streamGenerated : Number.POSITIVE_INFINITY)
    const pause = async (ms: number) => {
      if (stopping) return
      await sleep(Math.max(1, Math.min(ms, 1_000)), undefined, { signal: wake.signal }).catch(() => {})
    }
    /** Pulls up to `n` events from the source; marks the run exhausted when it runs dry. */
    const take = (n: number): OutgoingEvent[] => {
      const batch: OutgoingEvent[] = []
      const now = Date.now()
      for (let i = 0; i < n; i++) {
        const event = events.next(now)
        if (event === undefined) {
          stopping = true
          stoppedBy = 'exhausted'
          break
        }
        batch.push(event)
      }
      streamGenerated += batch.length
      account(batch.length)
      return batch
    }

    const streamStarted = performance.now()
    let batchNumber = 0
    let origin: number | undefined
    while (!stopping) {
      if (remaining() <= 0) {
        stoppedBy = 'count'
        break
      }
      const elapsedMs = performance.now() - streamStarted
      if (pacing.kind === 'unthrottled') {
        const batch = take(Math.min(batchSize, remaining()))
        if (batch.length > 0) await send(batch)
      } else if (pacing.kind === 'rate') {
        const due = Math.floor((elapsedMs / 1000) * pacing.eventsPerSecond) - streamGenerated
        if (due <= 0) {
          const untilNext = ((streamGenerated + 1) / pacing.eventsPerSecond) * 1000 - elapsedMs
          await pause(Math.max(untilNext, options.lingerMs))
          continue
        }
        const batch = take(Math.min(due, batchSize, remaining()))
        if (batch.length > 0) await send(batch)
      } else if (pacing.kind === 'eventTime') {
        const batch: OutgoingEvent[] = []
        const limit = Math.min(batchSize, remaining())
        let waitMs = 0
        while (batch.length < limit) {
          const timeMs = events.nextEventTimeMs?.()
          if (timeMs === undefined) {
            const tail = take(1)
            batch.push(...tail)
            break
          }
          origin ??= timeMs
          const dueAtMs = (timeMs - origin) / pacing.speed
          if (dueAtMs > elapsedMs) {
            waitMs = dueAtMs - elapsedMs
            break
          }
          batch.push(...take(1))
        }
        if (batch.length > 0) await send(batch)
        if (batch.length < limit && !stopping) await pause(Math.max(waitMs, options.lingerMs))
      } else {
        const dueAtMs = batchNumber * pacing.intervalMs
        if (dueAtMs > elapsedMs) {
          await pause(dueAtMs - elapsedMs)
          continue
        }
        batchNumber++
        const size = Math.min(pacing.random.integer(pacing.min, pacing.max), remaining())
        const batch = take(size)
        for (let from = 0; from < batch.length; from += batchSize) {
          const part = batch.slice(from, from + batchSize)
          const planned = part.length
          await send(part, (sent) => log.info(`sent ${sent}/${planned}`, { topic }))
        }
      }
    }
    await slots.drain()
  } finally {
    clearInterval(rateTimer)
    options.signal?.removeEventListener('abort', onAbort)
    await slots.drain()
    server?.close()
    server?.closeAllConnections()
  }

  const elapsedSeconds = (performance.now() - started) / 1000
  const summary: RunSummary = {
    ...totals,
    elapsedSeconds,
    eventsPerSecond: totals.sent / Math.max(elapsedSeconds, 0.001),
    stoppedBy,
  }
  const lines = [
    `summary: ${options.source} → ${topic}`,
    `  generated ${summary.generated}`,
    `  sent      ${summary.sent}`,
    `  failed    ${summary.failed}`,
    `  elapsed   ${summary.elapsedSeconds.toFixed(2)} s`,
    `  rate      ${Math.round(summary.eventsPerSecond)} events/s`,
    ...(summary.sideSent + summary.sideFailed > 0
      ? [`  side messages sent ${summary.sideSent}, failed ${summary.sideFailed}`]
      : []),
    ...(options.summaryExtras?.() ?? []),
    `  stopped by ${stoppedBy}`,
  ]
  write(`${lines.join('\n')}\n`)
  return summary
}
