// The model registry: artifacts are files in `<dataDir>/models/<kind>/`, versions are records
// on the compacted `model-versions` topic. Keys: `version:<kind>:<version>` (one per version,
// with its metadata), `live:<kind>` (the promoted version) and `shadow:<kind>` (a candidate
// scoring beside it). Every scorer follows the topic, so a promotion reaches all of them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Consumer, FetchIsolationLevels, type MessagesStream } from '@platformatic/kafka'
import { IsolationForest } from '../core/anomaly/isolation-forest.ts'
import type { EventKind } from '../core/features/index.ts'
import type { LoadedModel } from '../core/pipeline/scorer.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import type { KafkaContext } from '../kafka/context.ts'
import { createProducer } from '../kafka/producer.ts'
import { dropAbortedRecords } from '../kafka/read-committed.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'

const log = logger('models')

export interface ModelVersion {
  kind: EventKind
  version: string
  parent: string | null
  createdAt: string
  /** What it was trained on: source, range and row count. */
  trainedOn: { source: string; from?: string | number; to?: string | number; rows: number }
  /** Evaluation on held-out data (and of the parent on the same data, when there was one). */
  metrics: Record<string, number | null>
  /** How to load it: an Isolation Forest JSON artifact at this path. */
  artifact: { format: 'isolation-forest/1'; path: string }
  reason?: string
}

export interface Pointer {
  kind: EventKind
  version: string
  at: string
  /** Who set it and why: `train`, `shadow: <verdict>`, `lookout models promote`, … */
  by: string
  /** Live pointers: the versions live before this one, newest first (for rollback). */
  history?: string[]
}

export function modelDirectory(dataDir: string, kind: EventKind): string {
  return resolve(dataDir, 'models', kind)
}

/** Writes the artifact and returns the metadata to publish (not yet published). */
export function saveArtifact(
  dataDir: string,
  forest: IsolationForest,
  meta: Omit<ModelVersion, 'artifact'>,
): ModelVersion {
  const directory = modelDirectory(dataDir, meta.kind)
  mkdirSync(directory, { recursive: true })
  const path = join(directory, `${meta.version}.json`)
  writeFileSync(path, JSON.stringify(forest.toJSON()))
  return { ...meta, artifact: { format: 'isolation-forest/1', path } }
}

export function loadArtifact(version: ModelVersion): LoadedModel {
  let text: string
  try {
    text = readFileSync(version.artifact.path, 'utf8')
  } catch (cause) {
    throw new LookoutError(
      ErrorCodes.MODEL_MISSING,
      `model ${version.version} artifact not found at ${version.artifact.path}`,
      {
        hint: 'train a new version with `lookout train`, or roll back with `lookout models rollback`',
        cause,
      },
    )
  }
  return { version: version.version, kind: version.kind, forest: IsolationForest.fromJSON(JSON.parse(text)) }
}

/** Publishes registry records; a `null` value is a tombstone (clears a shadow pointer). */
export async function publishRegistryRecords(
  context: KafkaContext,
  records: { key: string; value: unknown }[],
): Promise<void> {
  const producer = createProducer(context, { name: 'models' })
  try {
    await producer.send({
      messages: records.map((record) => ({
        topic: topicName(context.topicPrefix, 'modelVersions'),
        key: Buffer.from(record.key),
        value: record.value === null ? Buffer.alloc(0) : Buffer.from(JSON.stringify(record.value)),
      })),
    })
  } finally {
    await producer.close()
  }
}

export function pointer(kind: EventKind, version: string, by: string): Pointer {
  return { kind, version, at: new Date().toISOString(), by }
}

/**
 * Follows `model-versions` from the beginning and keeps the registry in memory: every
 * version, the live and shadow pointers, and loaded artifacts of the live/shadow models.
 */
export class ModelRegistry {
  readonly versions = new Map<string, ModelVersion>()
  readonly live = new Map<EventKind, Pointer>()
  readonly shadow = new Map<EventKind, Pointer>()
  readonly #loaded = new Map<string, LoadedModel>()
  readonly #context: KafkaContext
  #consumer: Consumer<string, string, string, string> | undefined
  #stream: MessagesStream<string, string, string, string> | undefined
  #listeners: (() => void)[] = []
  #stopped = false

  constructor(context: KafkaContext) {
    this.#context = context
  }

  /** A read_committed consumer of model-versions in a group of its own, with string keys and values. */
  #newConsumer() {
    return dropAbortedRecords(
      new Consumer({
        clientId: `${this.#context.clientId}-models`,
        groupId: `${this.#context.topicPrefix}lookout-models-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
        bootstrapBrokers: [...this.#context.brokers],
        isolationLevel: FetchIsolationLevels.READ_COMMITTED,
        // answered as soon as a version is readable: a long wait costs no latency, only idle polls
        maxWaitTime: 500,
        deserializers: {
          key: (b?: Buffer) => b?.toString() ?? '',
          value: (b?: Buffer) => b?.toString() ?? '',
          headerKey: (b?: Buffer) => b?.toString() ?? '',
          headerValue: (b?: Buffer) => b?.toString() ?? '',
        },
      }),
    )
  }

  /** Starts following; resolves once every record present at start has been read. */
  async start(): Promise<void> {
    const topic = topicName(this.#context.topicPrefix, 'modelVersions')
    this.#consumer = this.#newConsumer()
    this.#consumer.on('error', () => {}) // a failure reaches the registry through its stream
    const ends = await this.#consumer.listOffsets({ topics: [topic] })
    const endOffsets = ends.get(topic) ?? []
    const seen = new Map<number, bigint>()
    this.#stream = await this.#consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false })
    this.#stream.on('error', (error: Error) => this.#lost(error))
    let caughtUp: () => void = () => {}
    const ready = new Promise<void>((resolvePromise) => {
      caughtUp = resolvePromise
    })
    const isCaughtUp = () =>
      endOffsets.every((end, partition) => end === 0n || (seen.get(partition) ?? -1n) >= end - 1n)
    if (isCaughtUp()) caughtUp()
    this.#stream.on('data', (message) => {
      seen.set(message.partition, message.offset)
      this.#apply(message.key, message.value)
      if (isCaughtUp()) caughtUp()
    })
    const timeout = setTimeout(caughtUp, 10_000)
    await ready
    clearTimeout(timeout)
  }

  /**
   * The consumer failed (the broker went away, say): follow the topic again from the beginning
   * with a new one. Records are applied again, which changes nothing; an unhandled stream
   * error would end the process.
   */
  #lost(error: unknown): void {
    if (this.#stopped) return
    log.warn('model registry lost its consumer; following model-versions again', { error: String(error) })
    const consumer = this.#consumer
    this.#stream = undefined
    void consumer?.close(true).catch(() => {})
    setTimeout(() => {
      if (this.#stopped) return
      const topic = topicName(this.#context.topicPrefix, 'modelVersions')
      this.#consumer = this.#newConsumer()
      this.#consumer.on('error', () => {})
      this.#consumer
        .consume({ topics: [topic], mode: 'earliest', autocommit: false })
        .then((stream) => {
          if (this.#stopped) return void stream.close().catch(() => {})
          this.#stream = stream
          stream.on('data', (message) => this.#apply(message.key, message.value))
          stream.on('error', (streamError: Error) => this.#lost(streamError))
        })
        .catch((subscribeError: unknown) => this.#lost(subscribeError))
    }, 1_000)
  }

  #apply(key: string, text: string): void {
    if (!text) {
      if (key.startsWith('shadow:')) this.shadow.delete(key.slice('shadow:'.length) as EventKind)
      for (const listener of this.#listeners) listener()
      return
    }
    const value = JSON.parse(text) as ModelVersion | Pointer
    if (key.startsWith('version:')) this.versions.set((value as ModelVersion).version, value as ModelVersion)
    else if (key.startsWith('live:')) {
      this.live.set((value as Pointer).kind, value as Pointer)
      log.info('live model', { kind: (value as Pointer).kind, version: (value as Pointer).version })
    } else if (key.startsWith('shadow:')) this.shadow.set((value as Pointer).kind, value as Pointer)
    for (const listener of this.#listeners) listener()
  }

  onChange(listener: () => void): void {
    this.#listeners.push(listener)
  }

  #load(version: string | undefined): LoadedModel | undefined {
    if (!version) return undefined
    const cached = this.#loaded.get(version)
    if (cached) return cached
    const meta = this.versions.get(version)
    if (!meta) return undefined
    try {
      const model = loadArtifact(meta)
      this.#loaded.set(version, model)
      return model
    } catch (error) {
      log.error('cannot load model; scoring without it', { version, error: (error as Error).message })
      return undefined
    }
  }

  /** The live model of a kind, loaded (undefined while there is none). */
  liveModel(kind: EventKind): LoadedModel | undefined {
    return this.#load(this.live.get(kind)?.version)
  }

  shadowModel(kind: EventKind): LoadedModel | undefined {
    return this.#load(this.shadow.get(kind)?.version)
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#stream?.close().catch(() => {})
    await this.#consumer?.close(true).catch(() => {})
  }
}

/** Next version id for a kind: v1, v2, … after the highest one in the registry. */
export function nextVersion(registry: ModelRegistry, kind: EventKind): string {
  let highest = 0
  for (const version of registry.versions.values()) {
    if (version.kind !== kind) continue
    const number = Number(/v(\d+)$/.exec(version.version)?.[1] ?? 0)
    if (number > highest) highest = number
  }
  return `${kind}-v${highest + 1}`
}

/** Registry records that make `version` live (and clear the shadow pointer when it was the shadow). */
export function promotionRecords(
  registry: ModelRegistry,
  kind: EventKind,
  version: string,
  by: string,
): { key: string; value: unknown }[] {
  const current = registry.live.get(kind)
  const history = current ? [current.version, ...(current.history ?? [])].slice(0, 20) : []
  const records: { key: string; value: unknown }[] = [
    { key: `live:${kind}`, value: { ...pointer(kind, version, by), history } },
  ]
  if (registry.shadow.get(kind)?.version === version) records.push({ key: `shadow:${kind}`, value: null })
  return records
}

/** Registry records that put back the version live before the current one (and drop any shadow). */
export function rollbackRecords(
  registry: ModelRegistry,
  kind: EventKind,
  by: string,
): { key: string; value: unknown }[] {
  const current = registry.live.get(kind)
  const [previous, ...rest] = current?.history ?? []
  if (!current || !previous) {
    throw new LookoutError(ErrorCodes.USAGE, `no earlier live ${kind} model to roll back to`, {
      hint: 'list the versions with `lookout models list` and promote one with `lookout models promote <version>`',
    })
  }
  const records: { key: string; value: unknown }[] = [
    { key: `live:${kind}`, value: { ...pointer(kind, previous, by), history: rest } },
  ]
  // a candidate trained on the same recent data is no more trusted than the version rolled back
  if (registry.shadow.has(kind)) records.push({ key: `shadow:${kind}`, value: null })
  return records
}

/** Waits until the registry shows `version` live for `kind` (after publishing a promotion). */
export async function waitForLive(registry: ModelRegistry, kind: EventKind, version: string, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  while (registry.live.get(kind)?.version !== version && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 50))
  return registry.live.get(kind)?.version === version
}
