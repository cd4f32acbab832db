// Alert sinks. Every sink follows the `alerts` topic in its own consumer group and commits an
// alert's offset only after the sink accepted it (and every alert before it), so an alert that
// cannot be delivered stays in Kafka and is retried (with backoff, honouring Retry-After) until
// it is: never dropped.
import { setTimeout as sleep } from 'node:timers/promises'
import { Consumer, FetchIsolationLevels, type Message, type MessagesStream } from '@platformatic/kafka'
import { Counter, Gauge, type Registry } from 'prom-client'
import type { Alert } from '../core/alerts.ts'
import { closeAfterJoin } from '../kafka/close-consumer.ts'
import type { KafkaContext } from '../kafka/context.ts'
import { dropAbortedRecords } from '../kafka/read-committed.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'

const log = logger('alert')

export class DeliveryError extends Error {
  readonly retryAfterMs: number | undefined
  constructor(message: string, retryAfterMs?: number) {
    super(message)
    this.retryAfterMs = retryAfterMs
  }
}

export interface Sink {
  readonly name: string
  /** `raisedAt`: when the alert service raised it (its record's time in `alerts`, ms). */
  deliver(alert: Alert, raisedAt: number): Promise<void>
}

function money(amount: number | undefined): string {
  return amount === undefined ? '–' : amount.toLocaleString('en', { maximumFractionDigits: 2 })
}

/** One line for a person reading a terminal or a chat. */
export function alertSummary(alert: Alert): string {
  const suppressed = alert.suppressedBefore ? ` (+${alert.suppressedBefore} held back)` : ''
  return `${alert.severity.toUpperCase()} ${alert.kind} anomaly for ${alert.entity}: score ${alert.score.toFixed(3)}, amount ${money(alert.amount)}; ${alert.reasons.join('; ')}${suppressed}`
}

export function consoleSink(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): Sink {
  return {
    name: 'console',
    async deliver(alert) {
      write(`[alert] ${new Date(alert.eventTime).toISOString()} ${alertSummary(alert)}`)
    },
  }
}

/** Parses Retry-After (seconds or an HTTP date) into ms. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(header)
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  let response: Response
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    })
  } catch (error) {
    throw new DeliveryError(`POST ${url} failed: ${(error as Error).message}`)
  }
  if (response.status === 429) {
    throw new DeliveryError(
      `POST ${url} rate-limited (429)`,
      retryAfterMs(response.headers.get('retry-after')) ?? 1_000,
    )
  }
  if (response.status >= 300) {
    const text = await response.text().catch(() => '')
    throw new DeliveryError(`POST ${url} answered ${response.status} ${text.slice(0, 200)}`)
  }
  return response
}

/**
 * The key a receiver de-duplicates on: the same for every delivery of one alert (an alert is
 * delivered again when a sink restarts between delivering it and committing its offset).
 */
export function idempotencyKey(alert: Alert): string {
  return `lookout-alert:${alert.kind}:${alert.id}`
}

/** Generic webhook: the alert as JSON, with its `idempotencyKey` (also sent as the Idempotency-Key header). */
export function webhookSink(url: string): Sink {
  return {
    name: 'webhook',
    async deliver(alert) {
      const key = idempotencyKey(alert)
      await post(url, { ...alert, idempotencyKey: key }, { 'idempotency-key': key })
    },
  }
}

/** Slack message: readable headline plus fields with the score, entity, amount and top reasons. */
export function slackMessage(alert: Alert): {
  text: string
  blocks: unknown[]
  metadata: { event_type: string; event_payload: { idempotency_key: string; alert_id: string } }
} {
  const icon = alert.severity === 'critical' ? ':rotating_light:' : alert.severity === 'high' ? ':warning:' : ':mag:'
  const headline = `${icon} *${alert.severity.toUpperCase()}* ${alert.kind} anomaly for \`${alert.entity}\``
  return {
    text: alertSummary(alert),
    // Slack message metadata: the idempotency key travels with the message
    metadata: {
      event_type: 'lookout_alert',
      event_payload: { idempotency_key: idempotencyKey(alert), alert_id: alert.id },
    },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: headline } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: `*Score*\n${alert.score.toFixed(3)}` },
          { type: 'mrkdwn', text: `*Amount*\n${money(alert.amount)}` },
          { type: 'mrkdwn', text: `*Entity*\n${alert.entity}` },
          { type: 'mrkdwn', text: `*Event time*\n${new Date(alert.eventTime).toISOString()}` },
        ],
      },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `*Top reasons*\n${alert.reasons.map((r) => `• ${r}`).join('\n')}` },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `event ${alert.id} · model ${alert.modelVersion ?? 'none'}${alert.suppressedBefore ? ` · ${alert.suppressedBefore} similar held back` : ''}`,
          },
        ],
      },
    ],
  }
}

export function slackWebhookSink(url: string): Sink {
  return {
    name: 'slack',
    async deliver(alert) {
      await post(url, slackMessage(alert))
    },
  }
}

/** Slack Web API chat.postMessage with a bot token. */
export function slackBotSink(apiUrl: string, token: string, channel: string): Sink {
  return {
    name: 'slack-bot',
    async deliver(alert) {
      const response = await post(
        `${apiUrl.replace(/\/$/, '')}/chat.postMessage`,
        { channel, ...slackMessage(alert) },
        { authorization: `Bearer ${token}` },
      )
      const body = (await response.json().catch(() => ({}))) as { ok?: boolean; error?: string }
      if (body.ok !== true) throw new DeliveryError(`Slack chat.postMessage failed: ${body.error ?? 'no ok in answer'}`)
    },
  }
}

export interface DispatcherOptions {
  retryBaseMs?: number
  retryMaxMs: number
  registry?: Registry
  /** How long each step of stopping may take before it is left behind (default 10 s). */
  stopStepMs?: number
}

/** Most alerts a sink delivers before it commits their offsets. */
const commitEvery = 500

/** How long each step of stopping a sink may take before it is left behind, by default. */
const defaultStopStepMs = 10_000

const metricCache = new WeakMap<Registry, { delivered: Counter; failures: Counter; pending: Gauge }>()
function sinkMetrics(registry: Registry | undefined) {
  const existing = registry && metricCache.get(registry)
  if (existing) return existing
  const registers = registry ? [registry] : []
  const made = {
    delivered: new Counter({
      name: 'alerts_delivered_total',
      help: 'alerts delivered',
      labelNames: ['sink'],
      registers,
    }),
    failures: new Counter({
      name: 'alert_delivery_failures_total',
      help: 'failed delivery attempts (each is retried)',
      labelNames: ['sink'],
      registers,
    }),
    pending: new Gauge({
      name: 'alert_delivery_retrying',
      help: '1 while a sink is retrying an alert',
      labelNames: ['sink'],
      registers,
    }),
  }
  if (registry) metricCache.set(registry, made)
  return made
}

/** Follows `alerts` for one sink and delivers each alert, in order, until it is accepted. */
export class SinkDispatcher {
  readonly sink: Sink
  readonly #context: KafkaContext
  readonly #options: DispatcherOptions
  readonly #metrics: ReturnType<typeof sinkMetrics>
  #consumer: Consumer<Buffer, Buffer, Buffer, Buffer> | undefined
  #stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
  #joining: Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> | undefined
  #running = false
  #loop: Promise<void> | undefined
  #abort = new AbortController()
  delivered = 0
  /** The last attempt to deliver failed: the sink is being retried. */
  retrying = false

  constructor(context: KafkaContext, sink: Sink, options: DispatcherOptions) {
    this.#context = context
    this.sink = sink
    this.#options = options
    this.#metrics = sinkMetrics(options.registry)
  }

  /**
   * Starts following `alerts` in the background: joining the sink's group can take as long as
   * the other members need to rejoin (one may be waiting out a failing endpoint's backoff), and
   * must not hold up the alert processor, nor end the process while the broker is away.
   */
  async start(): Promise<void> {
    this.#running = true
    this.#loop = this.#follow()
  }

  async #subscribe(): Promise<MessagesStream<Buffer, Buffer, Buffer, Buffer>> {
    const consumer = dropAbortedRecords(
      new Consumer<Buffer, Buffer, Buffer, Buffer>({
        clientId: `${this.#context.clientId}-sink-${this.sink.name}`,
        groupId: `${this.#context.topicPrefix}lookout-sink-${this.sink.name}`,
        bootstrapBrokers: [...this.#context.brokers],
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        autocommit: false,
        // answered as soon as an alert is readable: a long wait costs no latency, only idle polls
        maxWaitTime: 500,
        highWaterMark: 64,
      }),
    )
    this.#consumer = consumer
    consumer.on('error', (error: Error) =>
      log.warn('sink consumer error', { sink: this.sink.name, error: error.message }),
    )
    this.#joining = consumer.consume({
      topics: [topicName(this.#context.topicPrefix, 'alerts')],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
    })
    try {
      this.#stream = await this.#joining
    } catch (error) {
      await consumer.close(true).catch(() => {})
      throw error
    }
    return this.#stream
  }

  /**
   * Delivers until stopped. When the consumer fails (the broker restarts, the group rebalances,
   * a commit is refused), it is rebuilt and reading resumes from the committed offsets: an alert
   * delivered but not committed is delivered again, with the same idempotency key.
   */
  async #follow(): Promise<void> {
    let stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined
    for (let failures = 0; this.#running; ) {
      try {
        stream ??= await this.#subscribe()
        if (!this.#running) {
          await stream.close().catch(() => {})
          return
        }
        failures = 0
        await this.#run(stream)
        if (!this.#running) return
        throw new Error('the alerts stream ended')
      } catch (error) {
        if (!this.#running) return
        failures++
        const delay = Math.min(10_000, 250 * 2 ** Math.min(failures, 6))
        log.warn(`sink ${this.sink.name} lost its consumer; resuming from the committed offsets in ${delay} ms`, {
          error: (error as Error).message,
        })
        stream = undefined
        await this.#stream?.close().catch(() => {})
        await this.#consumer?.close(true).catch(() => {})
        try {
          await sleep(delay, undefined, { signal: this.#abort.signal })
        } catch {
          return
        }
      }
    }
  }

  /**
   * Delivers in order and commits what was delivered: at once when no further alert is waiting,
   * else when the alerts already fetched are delivered (at most `commitEvery`), so a burst (a sink
   * catching up after an outage) costs one offset commit per batch instead of one per alert.
   */
  async #run(stream: MessagesStream<Buffer, Buffer, Buffer, Buffer>): Promise<void> {
    // the newest delivered message of each partition: committing it commits those before it
    const delivered = new Map<number, Message<Buffer, Buffer, Buffer, Buffer>>()
    let uncommitted = 0
    const commit = async () => {
      for (const message of delivered.values()) await message.commit()
      delivered.clear()
      uncommitted = 0
    }
    for await (const message of stream as AsyncIterable<Message<Buffer, Buffer, Buffer, Buffer>>) {
      if (!this.#running) break
      const alert = JSON.parse(message.value.toString()) as Alert
      // an alert that has to wait for its sink does not hold back the commit of those before it
      if (!(await this.#deliverUntilAccepted(alert, Number(message.timestamp), commit))) break
      delivered.set(message.partition, message)
      this.delivered++
      this.#metrics.delivered.inc({ sink: this.sink.name })
      if (++uncommitted >= commitEvery || stream.readableLength === 0) await commit()
    }
    // stopping: what was delivered is committed if the consumer still can; else it is delivered again
    await commit().catch(() => {})
  }

  async #deliverUntilAccepted(alert: Alert, raisedAt: number, beforeRetrying: () => Promise<void>): Promise<boolean> {
    const base = this.#options.retryBaseMs ?? 500
    for (let attempt = 1; this.#running; attempt++) {
      try {
        await this.sink.deliver(alert, raisedAt)
        this.#metrics.pending.set({ sink: this.sink.name }, 0)
        this.retrying = false
        return true
      } catch (error) {
        const retryAfter = error instanceof DeliveryError ? error.retryAfterMs : undefined
        const backoff = Math.min(this.#options.retryMaxMs, base * 2 ** Math.min(attempt - 1, 20))
        const delay = retryAfter ?? Math.round(backoff / 2 + (Math.random() * backoff) / 2)
        if (attempt === 1) await beforeRetrying().catch(() => {})
        this.#metrics.failures.inc({ sink: this.sink.name })
        this.#metrics.pending.set({ sink: this.sink.name }, 1)
        this.retrying = true
        log.warn(`delivery to ${this.sink.name} failed (attempt ${attempt}); kept and retried in ${delay} ms`, {
          alert: alert.id,
          error: (error as Error).message,
        })
        try {
          await sleep(delay, undefined, { signal: this.#abort.signal })
        } catch {
          return false
        }
      }
    }
    return false
  }

  async stop(): Promise<void> {
    this.#running = false
    this.#abort.abort()
    // each step is bounded: a broker that stops answering (a commit or a join left without a
    // reply) must not keep the alert service from stopping; an alert delivered but not
    // committed is delivered again, with the same idempotency key, by the next consumer
    await this.#bounded('closing the alerts stream', this.#stream?.close())
    // a consumer still joining its group finishes joining first (see closeAfterJoin), then closes
    await this.#bounded('closing the consumer', closeAfterJoin(this.#consumer, this.#joining))
    await this.#bounded('the delivery loop', this.#loop)
    await this.#bounded('closing the alerts stream', this.#stream?.close())
    await this.#bounded('closing the consumer', this.#consumer?.close())
  }

  /** Waits for `step` at most `stopStepMs`; a step that does not end in time is logged and left. */
  async #bounded(name: string, step: Promise<unknown> | undefined): Promise<void> {
    if (step === undefined) return
    const stopStepMs = this.#options.stopStepMs ?? defaultStopStepMs
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), stopStepMs)
    })
    const outcome = await Promise.race([step.catch(() => undefined), late])
    clearTimeout(timer)
    if (outcome === 'late')
      log.warn(`sink ${this.sink.name}: ${name} did not end within ${stopStepMs} ms while stopping; left behind`)
  }
}
