// train: retraining-triggers (+ a window of enriched-features) → a new model version on the
// compacted model-versions topic, with its artifact in the data directory. The first version
// of a kind goes live directly; later ones go into shadow beside the live model, and the score
// service promotes them when they beat it on recent labelled data (or a person does, with
// `lookout models promote`).
import { setTimeout as sleep } from 'node:timers/promises'
import { Consumer, FetchIsolationLevels, type MessagesStream } from '@platformatic/kafka'
import type { EventKind } from '../core/features/index.ts'
import { decodeEnriched } from '../core/pipeline/enriched-record.ts'
import type { EnrichedEvent } from '../core/pipeline/events.ts'
import { trainCandidate } from '../core/retrain.ts'
import type { TrainOptions } from '../core/training.ts'
import { connectAdmin } from '../kafka/admin.ts'
import type { KafkaContext } from '../kafka/context.ts'
import { type PartitionRange, readRanges, tailRanges } from '../kafka/range.ts'
import { dropAbortedRecords } from '../kafka/read-committed.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'
import type { RetrainingTrigger } from './drift.ts'
import {
  ModelRegistry,
  type ModelVersion,
  nextVersion,
  pointer,
  promotionRecords,
  publishRegistryRecords,
  saveArtifact,
} from './models.ts'
import type { ServiceDefinition } from './service.ts'

const log = logger('train')

export interface TrainRequest {
  kind: EventKind
  events: readonly EnrichedEvent[]
  /** Where the events came from, e.g. `enriched-features` or a file path. */
  source: string
  from?: string | number
  to?: string | number
  reason: string
  /** Put the new version live at once instead of into shadow. */
  live?: boolean
  train?: TrainOptions
}

/**
 * Trains a candidate, evaluates it beside the live model on the newest held-out events, saves
 * the artifact and publishes the version, plus the live pointer (first version, or `live`) or
 * the shadow pointer.
 */
export async function trainAndPublish(
  context: KafkaContext,
  dataDir: string,
  registry: ModelRegistry,
  request: TrainRequest,
): Promise<{ version: ModelVersion; pointer: 'live' | 'shadow' }> {
  const live = registry.liveModel(request.kind)
  const candidate = trainCandidate(request.kind, request.events, live?.forest, request.train)
  const version = saveArtifact(dataDir, candidate.forest, {
    kind: request.kind,
    version: nextVersion(registry, request.kind),
    parent: live?.version ?? null,
    createdAt: new Date().toISOString(),
    trainedOn: {
      source: request.source,
      ...(request.from === undefined ? {} : { from: request.from }),
      ...(request.to === undefined ? {} : { to: request.to }),
      rows: candidate.trainRows,
    },
    metrics: candidate.metrics,
    reason: request.reason,
  })
  const goesLive = request.live === true || !live
  const records: { key: string; value: unknown }[] = [
    { key: `version:${request.kind}:${version.version}`, value: version },
  ]
  // the version record first, so a follower never sees a pointer to an unknown version
  await publishRegistryRecords(context, records)
  registry.versions.set(version.version, version)
  await publishRegistryRecords(
    context,
    goesLive
      ? promotionRecords(registry, request.kind, version.version, `train: ${request.reason}`)
      : [{ key: `shadow:${request.kind}`, value: pointer(request.kind, version.version, `train: ${request.reason}`) }],
  )
  log.info('model version published', {
    version: version.version,
    pointer: goesLive ? 'live' : 'shadow',
    rows: candidate.trainRows,
    rocAuc: candidate.metrics.rocAuc ?? null,
    parentRocAuc: candidate.metrics.parentRocAuc ?? null,
  })
  return { version, pointer: goesLive ? 'live' : 'shadow' }
}

/** Decodes enriched records, keeping those of `kind` (bad records are skipped). */
export function enrichedOf(kind: EventKind, values: (Buffer | undefined)[]): EnrichedEvent[] {
  const events: EnrichedEvent[] = []
  for (const value of values) {
    if (!value?.length) continue
    try {
      const event = decodeEnriched(value)
      if (event.kind === kind) events.push(event)
    } catch {
      // not an enriched event: the trainer only learns from valid ones
    }
  }
  return events
}

/** Reads enriched-features in `ranges` and returns the events of `kind` in event-time order. */
export async function readEnriched(
  context: KafkaContext,
  kind: EventKind,
  ranges: PartitionRange[],
): Promise<EnrichedEvent[]> {
  const records = await readRanges(context, topicName(context.topicPrefix, 'enrichedFeatures'), ranges)
  return enrichedOf(
    kind,
    records.map((r) => r.value),
  ).sort((a, b) => a.eventTime - b.eventTime)
}

export interface TrainServiceOptions {
  dataDir: string
  /** Newest events read for a trigger. */
  windowEvents: number
}

/**
 * Follows retraining-triggers (consumer group `lookout-train`) and retrains on each, one at a
 * time. A trigger whose drift lies inside the data of an existing version (another partition
 * saw the same shift, or the trigger was redelivered) is merged into it: no second retrain.
 */
export class TrainService {
  readonly #context: KafkaContext
  readonly #registry: ModelRegistry
  readonly #options: TrainServiceOptions
  #consumer: Consumer<string, string, string, string> | undefined
  #stream: MessagesStream<string, string, string, string> | undefined
  #work: Promise<void> = Promise.resolve()
  #stopped = false
  trained = 0
  merged = 0

  constructor(context: KafkaContext, registry: ModelRegistry, options: TrainServiceOptions) {
    this.#context = context
    this.#registry = registry
    this.#options = options
  }

  async start(): Promise<void> {
    const stringDeserializer = (b?: Buffer) => b?.toString() ?? ''
    this.#consumer = dropAbortedRecords(
      new Consumer({
        clientId: `${this.#context.clientId}-train`,
        groupId: `${this.#context.topicPrefix}lookout-train`,
        bootstrapBrokers: [...this.#context.brokers],
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        autocommit: false,
        maxWaitTime: 200,
        deserializers: {
          key: stringDeserializer,
          value: stringDeserializer,
          headerKey: stringDeserializer,
          headerValue: stringDeserializer,
        },
      }),
    )
    this.#stream = await this.#consumer.consume({
      topics: [topicName(this.#context.topicPrefix, 'retrainingTriggers')],
      mode: 'committed',
      fallbackMode: 'earliest',
      autocommit: false,
    })
    this.#stream.on('data', (message) => {
      this.#stream?.pause()
      this.#work = this.#work
        .then(async () => {
          await this.#handle(message.value)
          await message.commit()
        })
        .catch((error: unknown) => log.error('retraining failed', { error: String(error) }))
        .finally(() => this.#stream?.resume())
    })
    // the consumer failed (the broker went away): start over from the committed offsets; an
    // unhandled stream error would end the process
    this.#stream.on('error', (error: Error) => {
      if (this.#stopped) return
      log.warn('trainer lost its consumer; following retraining-triggers again', { error: String(error) })
      const consumer = this.#consumer
      this.#stream = undefined
      void this.#work
        .then(() => consumer?.close(true))
        .catch(() => {})
        .then(() => sleep(1_000))
        .then(() => (this.#stopped ? undefined : this.start()))
        .catch((restartError: unknown) =>
          log.error('trainer could not follow retraining-triggers again', { error: String(restartError) }),
        )
    })
  }

  /** True when an existing version of the kind was trained on data reaching past `eventTime`. */
  covered(kind: EventKind, eventTime: number): boolean {
    for (const version of this.#registry.versions.values()) {
      if (version.kind !== kind || version.trainedOn.source !== 'enriched-features') continue
      if (typeof version.trainedOn.to === 'number' && version.trainedOn.to >= eventTime) return true
    }
    return false
  }

  async #handle(text: string): Promise<void> {
    let trigger: RetrainingTrigger
    try {
      trigger = JSON.parse(text) as RetrainingTrigger
    } catch {
      log.warn('skipping a trigger that is not JSON')
      return
    }
    if (this.covered(trigger.kind, trigger.drift.eventTime)) {
      this.merged++
      log.info('trigger merged into an existing version', { kind: trigger.kind, partition: trigger.partition })
      return
    }
    const admin = await connectAdmin(this.#context)
    let ranges: PartitionRange[]
    try {
      ranges = await tailRanges(
        admin,
        topicName(this.#context.topicPrefix, 'enrichedFeatures'),
        this.#options.windowEvents,
      )
    } finally {
      await admin.close()
    }
    const window = (await readEnriched(this.#context, trigger.kind, ranges))
      .filter((event) => event.eventTime <= trigger.range.toEventTime)
      .slice(-this.#options.windowEvents)
    if (window.length < 100) {
      log.warn('too few events to retrain', { kind: trigger.kind, events: window.length })
      return
    }
    await trainAndPublish(this.#context, this.#options.dataDir, this.#registry, {
      kind: trigger.kind,
      events: window,
      source: 'enriched-features',
      from: window[0]!.eventTime,
      to: window[window.length - 1]!.eventTime,
      reason: `${trigger.reason} at ${new Date(trigger.drift.eventTime).toISOString()} (partition ${trigger.partition})`,
    })
    this.trained++
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#stream?.close().catch(() => {})
    await this.#work
    await this.#consumer?.close(true).catch(() => {})
  }
}

export const trainService: ServiceDefinition = {
  name: 'train',
  description: 'retraining-triggers → new model versions (live, or in shadow beside the live one)',
  section: 'train',
  async start(context) {
    const models = new ModelRegistry(context.kafka)
    context.onStop(() => models.stop())
    await models.start()
    const trainer = new TrainService(context.kafka, models, {
      dataDir: context.config.dataDir,
      windowEvents: context.config['train.windowEvents'],
    })
    context.onStop(() => trainer.stop())
    await trainer.start()
    return {}
  },
}
