// The drift and models timeline: the combined score sampled into 5-second points (mean, p99 of a
// reservoir sample, max, flagged share), and the events that explain it: phase transitions,
// drift events, retraining requests, model versions trained, shadows, promotions and rollbacks.
// It follows anomaly-scores, phase-transitions, drift-events and retraining-triggers (from a
// little before their ends, so a restarted console still shows the recent past) and the model
// registry (model-versions from the beginning), and promotes and rolls back models.

import type { Config } from '../config/settings.ts'
import type { PhaseTransition } from '../core/events.ts'
import type { EventKind } from '../core/features/index.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'
import type { DriftRecord, RetrainingTrigger } from '../services/drift.ts'
import {
  ModelRegistry,
  type ModelVersion,
  type Pointer,
  promotionRecords,
  publishRegistryRecords,
  rollbackRecords,
  waitForLive,
} from '../services/models.ts'
import { type FollowedMessage, recordsBeforeEnd, TopicFollower } from './follow.ts'
import type { ConsoleKafka } from './kafka.ts'
import { NotFound } from './kafka.ts'

const log = logger('console')

export const bucketMs = 5_000
const bucketsKept = 720 // an hour
const reservoirSize = 400
const eventsKept = 2_000
/** Records per partition read back at start: scores, and each event topic. */
const scoreBacklog = 20_000n
const eventBacklog = 500n

export type TimelineEventType = 'phase' | 'drift' | 'retrain' | 'version' | 'shadow' | 'promotion' | 'rollback'

export interface TimelineEvent {
  id: string
  /** Ms since the epoch: the record's time, or the registry record's own time. */
  at: number
  type: TimelineEventType
  title: string
  kind?: string
  version?: string
}

export interface ModelView extends ModelVersion {
  state: 'live' | 'shadow' | 'inactive'
}

/** A request the registry cannot answer as asked: 409 with the reason. */
export class Conflict extends Error {
  readonly statusCode = 409
}

class ScoreBucket {
  count = 0
  sum = 0
  max = 0
  flagged = 0
  readonly sample: number[] = []
  add(score: number, threshold: number) {
    this.count++
    this.sum += score
    if (score > this.max) this.max = score
    if (score >= threshold) this.flagged++
    // reservoir sampling: every score of the bucket is equally likely to be in the sample
    if (this.sample.length < reservoirSize) this.sample.push(score)
    else {
      const slot = Math.floor(Math.random() * this.count)
      if (slot < reservoirSize) this.sample[slot] = score
    }
  }
  p99(): number {
    const sorted = [...this.sample].sort((a, b) => a - b)
    return sorted[Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] ?? 0
  }
}

export class Timeline {
  readonly #kafka: ConsoleKafka
  readonly #threshold: number
  readonly #topics: { scores: string; phases: string; drift: string; triggers: string }
  readonly registry: ModelRegistry
  readonly #buckets = new Map<number, ScoreBucket>()
  readonly #events = new Map<string, TimelineEvent>()
  readonly #seen = { live: new Map<string, string>(), shadow: new Map<string, string>() }
  readonly #follower: TopicFollower
  #registryStarted = false
  #stopped = false

  constructor(kafka: ConsoleKafka, config: Config) {
    this.#kafka = kafka
    this.#threshold = config['score.threshold']
    const prefix = config['topics.prefix']
    this.#topics = {
      scores: topicName(prefix, 'anomalyScores'),
      phases: topicName(prefix, 'phaseTransitions'),
      drift: topicName(prefix, 'driftEvents'),
      triggers: topicName(prefix, 'retrainingTriggers'),
    }
    this.registry = new ModelRegistry(kafka.context)
    this.registry.onChange(() => this.#registryChanged())
    this.#follower = new TopicFollower(kafka, {
      name: 'timeline',
      topics: Object.values(this.#topics),
      startAt: (topic, partition) =>
        recordsBeforeEnd(topic === this.#topics.scores ? scoreBacklog : eventBacklog, partition),
      onRecord: (message) => this.#record(message),
    })
  }

  async start(): Promise<void> {
    this.#follower.start()
    await this.#startRegistry()
  }

  /** Reads model-versions up to its end; when that fails (no topic yet), tries again in the background. */
  async #startRegistry(): Promise<void> {
    try {
      await this.registry.start()
      this.#registryStarted = true
    } catch (error) {
      if (this.#stopped) return
      log.debug('console cannot read the model registry yet; trying again', { error: String(error) })
      await this.registry.stop().catch(() => {})
      setTimeout(() => void this.#startRegistry(), 5_000).unref()
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await this.#follower.stop()
    await this.registry.stop()
  }

  #record(message: FollowedMessage) {
    const at = Number(message.timestamp)
    const text = message.value?.toString() ?? ''
    if (!text) return
    const id = `${message.topic}:${message.partition}:${message.offset}`
    if (message.topic === this.#topics.scores) {
      const { score } = JSON.parse(text) as { score?: unknown }
      if (typeof score !== 'number' || !Number.isFinite(score)) return
      const start = Math.floor(at / bucketMs) * bucketMs
      let bucket = this.#buckets.get(start)
      if (!bucket) {
        bucket = new ScoreBucket()
        this.#buckets.set(start, bucket)
        if (this.#buckets.size > bucketsKept) {
          const oldest = [...this.#buckets.keys()].sort((a, b) => a - b).slice(0, this.#buckets.size - bucketsKept)
          for (const key of oldest) this.#buckets.delete(key)
        }
      }
      bucket.add(score, this.#threshold)
    } else if (message.topic === this.#topics.phases) {
      const phase = JSON.parse(text) as PhaseTransition
      this.#add({ id, at, type: 'phase', title: `phase ${phase.phase} from event ${phase.event_number}` })
    } else if (message.topic === this.#topics.drift) {
      const drift = JSON.parse(text) as DriftRecord
      this.#add({
        id,
        at,
        type: 'drift',
        kind: drift.kind,
        title: `drift: ${drift.detector} on ${drift.signal} (partition ${drift.partition}${drift.eventNumber === null ? '' : `, event ${drift.eventNumber}`}, model ${drift.modelVersion ?? 'none'})`,
      })
    } else if (message.topic === this.#topics.triggers) {
      const trigger = JSON.parse(text) as RetrainingTrigger
      this.#add({
        id,
        at,
        type: 'retrain',
        kind: trigger.kind,
        title: `retraining requested (partition ${trigger.partition}): ${trigger.reason}`,
      })
    }
  }

  #add(event: TimelineEvent) {
    if (this.#events.has(event.id)) return
    this.#events.set(event.id, event)
    if (this.#events.size > eventsKept) {
      const oldest = [...this.#events.values()].sort((a, b) => a.at - b.at).slice(0, this.#events.size - eventsKept)
      for (const old of oldest) this.#events.delete(old.id)
    }
  }

  /** Called after every registry record: new versions and changed pointers become events. */
  #registryChanged() {
    for (const version of this.registry.versions.values())
      this.#add({
        id: `version:${version.version}`,
        at: Date.parse(version.createdAt),
        type: 'version',
        kind: version.kind,
        version: version.version,
        title: `${version.version} trained (${version.trainedOn.rows} rows, parent ${version.parent ?? 'none'}${version.reason ? `; ${version.reason}` : ''})`,
      })
    for (const [kind, live] of this.registry.live) {
      const key = `${live.version}@${live.at}`
      if (this.#seen.live.get(kind) === key) continue
      this.#seen.live.set(kind, key)
      const rollback = /rollback/.test(live.by)
      this.#add({
        id: `live:${kind}:${key}`,
        at: Date.parse(live.at),
        type: rollback ? 'rollback' : 'promotion',
        kind,
        version: live.version,
        title: rollback
          ? `rolled back: ${live.version} live again (${live.by})`
          : `${live.version} promoted to live (${live.by})`,
      })
    }
    for (const [kind, shadow] of this.registry.shadow) {
      const key = `${shadow.version}@${shadow.at}`
      if (this.#seen.shadow.get(kind) === key) continue
      this.#seen.shadow.set(kind, key)
      this.#add({
        id: `shadow:${kind}:${key}`,
        at: Date.parse(shadow.at),
        type: 'shadow',
        kind,
        version: shadow.version,
        title: `${shadow.version} scores in shadow (${shadow.by})`,
      })
    }
  }

  /** The score points and events since `sinceMs` (events newest last). */
  view(sinceMs: number) {
    const starts = [...this.#buckets.keys()].filter((start) => start >= sinceMs).sort((a, b) => a - b)
    const points = starts.map((start) => this.#buckets.get(start)!)
    return {
      bucketSeconds: bucketMs / 1000,
      threshold: this.#threshold,
      score: {
        t: starts.map((start) => start / 1000),
        mean: points.map((b) => round(b.sum / b.count)),
        p99: points.map((b) => round(b.p99())),
        max: points.map((b) => round(b.max)),
        flaggedShare: points.map((b) => round(b.flagged / b.count)),
        events: points.map((b) => b.count),
      },
      events: [...this.#events.values()].filter((e) => e.at >= sinceMs).sort((a, b) => a.at - b.at),
    }
  }

  #state(version: ModelVersion): ModelView['state'] {
    if (this.registry.live.get(version.kind)?.version === version.version) return 'live'
    if (this.registry.shadow.get(version.kind)?.version === version.version) return 'shadow'
    return 'inactive'
  }

  models(): { models: ModelView[]; live: Pointer[]; shadow: Pointer[]; ready: boolean } {
    return {
      models: [...this.registry.versions.values()]
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .map((version) => ({ ...version, state: this.#state(version) })),
      live: [...this.registry.live.values()],
      shadow: [...this.registry.shadow.values()],
      ready: this.#registryStarted,
    }
  }

  model(name: string): ModelView {
    const version = this.registry.versions.get(name)
    if (!version) throw new NotFound(`no model version "${name}": GET /api/models lists them`)
    return { ...version, state: this.#state(version) }
  }

  /** Makes `name` live (every scorer switches at its next batch); resolves once the registry shows it. */
  async promote(name: string, by: string): Promise<ModelView> {
    const version = this.model(name)
    if (version.state === 'live') throw new Conflict(`${name} is already the live ${version.kind} model`)
    await publishRegistryRecords(this.#kafka.context, promotionRecords(this.registry, version.kind, name, by))
    if (!(await waitForLive(this.registry, version.kind, name)))
      throw new Error(`the promotion of ${name} was written but not read back from model-versions within 10 s`)
    return this.model(name)
  }

  /** Puts back the version live before the current one of `kind` (and drops any shadow). */
  async rollback(kind: EventKind, by: string): Promise<ModelView> {
    let records: { key: string; value: unknown }[]
    try {
      records = rollbackRecords(this.registry, kind, by)
    } catch (error) {
      if (error instanceof LookoutError && error.code === ErrorCodes.USAGE) throw new Conflict(error.message)
      throw error
    }
    const target = (records[0]!.value as Pointer).version
    await publishRegistryRecords(this.#kafka.context, records)
    if (!(await waitForLive(this.registry, kind, target)))
      throw new Error(`the rollback to ${target} was written but not read back from model-versions within 10 s`)
    return this.model(target)
  }
}

const round = (value: number) => Math.round(value * 10_000) / 10_000
