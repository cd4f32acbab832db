// What a source is to the runner and the CLI, and the wiring they share: cluster, topic
// checks, producer, pacing from the settings, signals, the run itself.

import type { Admin } from '@platformatic/kafka'
import type { Registry } from 'prom-client'
import type { Config } from '../config/settings.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { catalogueTopics, connectAdmin, ensureTopics } from '../kafka/admin.ts'
import { type KafkaContext, kafkaContext } from '../kafka/context.ts'
import { createProducer } from '../kafka/producer.ts'
import { type TopicKey, topicName } from '../kafka/topics.ts'
import { type Logger, logger } from '../log.ts'
import { serviceRegistry } from '../services/http.ts'
import { type EventSource, type Pacing, type Prelude, type RunSummary, runSource } from './runner.ts'

export const sourceNames = ['phased', 'payments', 'replay', 'points', 'metrics'] as const
export type SourceName = (typeof sourceNames)[number]

/** What a source hands the runner once it is ready. */
export interface PreparedSource {
  readonly events: EventSource
  /** How events are spread over time (usually `pacingFrom(config, the source's default)`). */
  readonly pacing: Pacing
  readonly prelude?: Prelude
  readonly summaryExtras?: () => string[]
}

export interface KafkaSide {
  readonly config: Config
  readonly context: KafkaContext
  readonly admin: Admin
  /** The topic events go to. */
  readonly topic: string
  readonly registry: Registry
  readonly log: Logger
  /** Name of a catalogue topic with the configured prefix. */
  topicOf(key: TopicKey): string
}

export interface SourceDefinition<Loaded> {
  readonly name: SourceName
  readonly description: string
  /** Setting sections this source reads besides `source.*` (shown in its --help). */
  readonly sections: readonly string[]
  /** Catalogue topics the source writes besides its events topic. */
  readonly extraTopics?: readonly TopicKey[]
  /** Reads and checks inputs before any connection to Kafka (a bad file fails fast). */
  load(config: Config, log: Logger): Promise<Loaded>
  /** Builds the event stream; may read or change the topic (resume, flush). */
  prepare(loaded: Loaded, kafka: KafkaSide): Promise<PreparedSource>
  /**
   * The topic of what `load` read when it has its own (a declared event schema's), used when
   * --topic is not given; created when missing, as the catalogue's topics are.
   */
  topicOf?(loaded: Loaded): string | undefined
}

export interface RunSourceOptions {
  /** The brokers to use, resolved after the source's inputs were read and checked. */
  brokers: () => Promise<readonly string[]>
  /** Stops the run cleanly; when absent, SIGINT and SIGTERM do. */
  signal?: AbortSignal
  write?: (text: string) => void
  /** The registry its /metrics serves; a new one unless given. */
  registry?: Registry
}

/** The pacing the settings ask for: `--rate max` unthrottled, `--rate N` constant, else the source's own. */
export function pacingFrom(config: Config, fallback: Pacing): Pacing {
  const rate = config['source.rate']
  if (rate === 'max') return { kind: 'unthrottled' }
  if (typeof rate === 'number') return { kind: 'rate', eventsPerSecond: rate }
  return fallback
}

async function checkTopics(admin: Admin, context: KafkaContext, topic: string, defaultTopic: string, extra: string[]) {
  const wanted = new Set([defaultTopic, ...extra])
  // the catalogue's topics are created when missing; a topic the user named must exist
  await ensureTopics(
    admin,
    catalogueTopics(context).filter((spec) => wanted.has(spec.name)),
  )
  if (topic === defaultTopic) return
  const existing = new Set(await admin.listTopics())
  if (!existing.has(topic)) {
    throw new LookoutError(
      ErrorCodes.TOPIC_MISSING,
      `topic "${topic}" does not exist on ${context.brokers.join(', ')}`,
      {
        hint: `create it first (for example with kafka-topics.sh --create --topic ${topic}), or leave out --topic to use ${defaultTopic}`,
      },
    )
  }
}

export async function runSourceCommand<Loaded>(
  definition: SourceDefinition<Loaded>,
  config: Config,
  options: RunSourceOptions,
): Promise<RunSummary> {
  const log = logger(`produce/${definition.name}`)
  const loaded = await definition.load(config, log)

  const context = kafkaContext(config, await options.brokers())
  const prefix = config['topics.prefix']
  const defaultTopic = topicName(prefix, 'rawTransactions')
  const ownTopic = config['source.topic'] ? undefined : definition.topicOf?.(loaded)
  const topic = config['source.topic'] || ownTopic || defaultTopic
  const registry = options.registry ?? serviceRegistry(`produce-${definition.name}`)

  const controller = new AbortController()
  const stop = (signal: string) => {
    if (controller.signal.aborted) {
      log.warn(`${signal} again: exiting without waiting for in-flight messages`)
      process.exit(130)
    }
    log.info(`${signal}: stopping, flushing in-flight messages`)
    controller.abort()
  }
  const onSigint = () => stop('SIGINT')
  const onSigterm = () => stop('SIGTERM')
  if (options.signal) options.signal.addEventListener('abort', () => controller.abort(), { once: true })
  else {
    process.on('SIGINT', onSigint)
    process.on('SIGTERM', onSigterm)
  }

  try {
    const admin = await connectAdmin(context, controller.signal)
    let prepared: PreparedSource
    try {
      if (ownTopic)
        await ensureTopics(admin, [
          {
            name: ownTopic,
            partitions: context.partitions,
            replicationFactor: context.replicationFactor,
            compacted: false,
          },
        ])
      await checkTopics(
        admin,
        context,
        topic,
        defaultTopic,
        (definition.extraTopics ?? []).map((key) => topicName(prefix, key)),
      )
      prepared = await definition.prepare(loaded, {
        config,
        context,
        admin,
        topic,
        registry,
        log,
        topicOf: (key) => topicName(prefix, key),
      })
    } finally {
      await admin.close().catch(() => {})
    }

    const producer = createProducer(context, {
      name: `produce-${definition.name}`,
      compression: config['producer.compression'],
    })
    try {
      const pacing = prepared.pacing
      log.info(`producing to ${topic}`, {
        pacing: describePacing(pacing),
        count: config['source.count'] || 'until stopped',
      })
      return await runSource({
        source: definition.name,
        topic,
        producer,
        pacing,
        events: prepared.events,
        count: config['source.count'],
        batchSize: config['producer.batchSize'],
        lingerMs: config['producer.lingerMs'],
        inFlight: config['source.inFlight'],
        registry,
        port: config['source.port'],
        signal: controller.signal,
        log,
        ...(prepared.prelude ? { prelude: prepared.prelude } : {}),
        ...(prepared.summaryExtras ? { summaryExtras: prepared.summaryExtras } : {}),
        ...(options.write ? { write: options.write } : {}),
      })
    } finally {
      await producer.close().catch(() => {})
    }
  } finally {
    process.off('SIGINT', onSigint)
    process.off('SIGTERM', onSigterm)
  }
}

export function describePacing(pacing: Pacing): string {
  switch (pacing.kind) {
    case 'unthrottled':
      return 'unthrottled'
    case 'rate':
      return `${pacing.eventsPerSecond} events/s`
    case 'eventTime':
      return `event time x${pacing.speed}`
    case 'batches':
      return `every ${pacing.intervalMs / 1000} s a batch of ${pacing.min}-${pacing.max}`
  }
}
