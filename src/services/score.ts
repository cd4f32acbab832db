import { Gauge, type Registry } from 'prom-client'
import type { Config } from '../config/settings.ts'
import type { EventKind } from '../core/features/index.ts'
import { decodeWithLabels, joinEvent, joinLabel, type WithLabels } from '../core/feedback-join.ts'
import { type RuleOptions, ruleOptionsFrom } from '../core/kinds.ts'
import { decodeEnriched } from '../core/pipeline/enriched-record.ts'
import type { EnrichedEvent } from '../core/pipeline/events.ts'
import { type LoadedModel, PartitionScorer, type PartitionScorerState } from '../core/pipeline/scorer.ts'
import { ShadowJudges, type ShadowVerdict, shadowScores } from '../core/pipeline/shadow.ts'
import type { KafkaContext } from '../kafka/context.ts'
import type { OutputRecord, Processor } from '../kafka/processor.ts'
import type { StateStore } from '../kafka/state-store.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'
import { ModelRegistry, promotionRecords, publishRegistryRecords } from './models.ts'
import type { ServiceDefinition } from './service.ts'

const scorerKey = '__scorer__'

/**
 * The scorer's checkpoint is one store record per event kind (`__scorer__/<kind>`, each well
 * under the broker's 1 MB record limit) and an index of them under `__scorer__`; a checkpoint
 * of an earlier version (the whole state under `__scorer__`) is read as it is.
 */
function restoreScorer(store: StateStore): PartitionScorerState | undefined {
  const saved = store.get<PartitionScorerState | { kindKeys: string[] }>(scorerKey)
  if (!saved || !('kindKeys' in saved)) return saved
  const kinds: PartitionScorerState['kinds'] = {}
  for (const kind of saved.kindKeys) {
    const state = store.get<PartitionScorerState['kinds'][EventKind]>(`${scorerKey}/${kind}`)
    if (state) kinds[kind as EventKind] = state
  }
  return { kinds }
}

function checkpointScorer(store: StateStore, scorer: PartitionScorer): void {
  const state = scorer.toJSON()
  const kindKeys = Object.keys(state.kinds)
  for (const kind of kindKeys) store.put(`${scorerKey}/${kind}`, state.kinds[kind as EventKind])
  store.put(scorerKey, { kindKeys })
}

export interface ScoreOptions {
  topicPrefix: string
  threshold: number
  checkpointEvents: number
  /** The model in use for each kind (changes when a new version is promoted). */
  models: (kind: EventKind) => LoadedModel | undefined
  seed?: number
  /** Rule thresholds (the score.* settings); defaults where not given. */
  rules?: RuleOptions
  /** A candidate scoring in shadow beside the live model, if any. */
  shadow?: (kind: EventKind) => LoadedModel | undefined
  /** Told each shadow-scored event: the raw Isolation Forest scores of live and shadow, and the label. */
  onShadowScore?: (
    kind: EventKind,
    shadowVersion: string,
    live: number | undefined,
    shadow: number,
    label: 0 | 1 | undefined,
  ) => void
  /**
   * Told each analyst's label joined with a shadow-scored event that had none (the labels
   * topic): the raw scores it was given then, and the label.
   */
  onShadowLabel?: (
    kind: EventKind,
    shadowVersion: string,
    live: number | undefined,
    shadow: number,
    label: 0 | 1,
  ) => void
}

/** What the score service remembers of a flagged, shadow-scored event without ground truth, for a later mark. */
interface ShadowScored {
  kind: EventKind
  shadowVersion: string
  live?: number
  shadow: number
}

/**
 * score: enriched events → every detector, the calibrated ensemble, rules and explanations.
 * Each input partition has its own scorer, checkpointed to the changelog every
 * `checkpointEvents` events; the model in use is re-read at every batch boundary (hot swap).
 */
export function scoreProcessor(
  options: ScoreOptions,
): Processor<WithLabels<EnrichedEvent>> & { scorers: WeakMap<StateStore, PartitionScorer> } {
  const scores = topicName(options.topicPrefix, 'anomalyScores')
  const anomalies = topicName(options.topicPrefix, 'anomalies')
  const scorers = new WeakMap<StateStore, PartitionScorer>()
  const sinceCheckpoint = new WeakMap<StateStore, number>()
  return {
    name: 'score',
    scorers,
    decode: decodeWithLabels(topicName(options.topicPrefix, 'labels'), decodeEnriched),
    process(records, { store }) {
      let scorer = scorers.get(store)
      if (!scorer) {
        scorer = new PartitionScorer(options.models, options.seed ?? 1, restoreScorer(store), {
          ...(options.rules ? { rules: options.rules } : {}),
          explainFrom: options.threshold,
        })
        scorers.set(store, scorer)
      } else {
        scorer.refreshModels(options.models)
      }
      const outputs: OutputRecord[] = []
      // the shadow in use is fixed per batch too, like the live model
      const shadows = new Map<EventKind, LoadedModel | undefined>()
      let events = 0
      for (const record of records) {
        if ('label' in record.value) {
          const { label } = record.value
          const joined = joinLabel<ShadowScored>(store, label)
          if (joined.outcome === 'joined') {
            const { kind, shadowVersion, live, shadow } = joined.event
            options.onShadowLabel?.(kind, shadowVersion, live, shadow, label.label)
          }
          continue
        }
        events++
        const enriched = record.value.event
        const scored = scorer.score(enriched)
        if (options.shadow) {
          const kind = enriched.kind
          if (!shadows.has(kind)) shadows.set(kind, options.shadow(kind))
          const shadow = shadows.get(kind)
          const both = shadow && shadowScores(enriched, scored, options.models(kind), shadow)
          if (shadow && both) {
            // recorded beside the live score, which it does not change
            scored.shadow = { modelVersion: shadow.version, isolationForest: both.shadow }
            options.onShadowScore?.(kind, shadow.version, both.live, both.shadow, scored.label)
            if (scored.label === undefined) {
              // an analyst may label it later, if it is flagged (alerted)
              const remembered = {
                id: scored.id,
                kind,
                shadowVersion: shadow.version,
                ...(both.live === undefined ? {} : { live: both.live }),
                shadow: both.shadow,
              }
              const waiting = joinEvent(store, scored.entity, remembered, scored.score >= options.threshold)
              if (waiting) options.onShadowLabel?.(kind, shadow.version, both.live, both.shadow, waiting.label)
            }
          }
        }
        const value = JSON.stringify(scored)
        outputs.push({ topic: scores, key: scored.entity, value })
        if (scored.score >= options.threshold) outputs.push({ topic: anomalies, key: scored.entity, value })
      }
      const count = (sinceCheckpoint.get(store) ?? 0) + events
      if (count >= options.checkpointEvents) {
        checkpointScorer(store, scorer)
        sinceCheckpoint.set(store, 0)
      } else sinceCheckpoint.set(store, count)
      return outputs
    },
  }
}

/**
 * The score service's shadow judge: one ShadowJudge per kind and shadow version; its verdict
 * promotes the shadow (live pointer) or clears it, once per version. Events labelled by their
 * source and by analysts' marks count alike; `score_shadow_labelled_events` shows how many of
 * each the current judge of a kind has seen.
 */
export function shadowVerdicts(
  config: Config,
  kafka: KafkaContext,
  models: ModelRegistry,
  registry?: Registry,
): Required<Pick<ScoreOptions, 'onShadowScore' | 'onShadowLabel'>> {
  const log = logger('service')
  const judges = new ShadowJudges({
    minLabelled: config['models.shadowMinLabelled'],
    promoteAfterEvents: config['models.shadowPromoteAfterEvents'],
  })
  const labelled = new Gauge({
    name: 'score_shadow_labelled_events',
    help: "labelled events the shadow judge of a kind has counted for its current shadow version (source: the event's own ground truth, or an analyst's mark)",
    labelNames: ['kind', 'source'],
    registers: registry ? [registry] : [],
  })
  const decided = (kind: EventKind, shadowVersion: string, verdict: ShadowVerdict | undefined) => {
    const counts = judges.labelled(kind)
    if (counts) {
      labelled.set({ kind, source: 'event' }, counts.total - counts.analyst)
      labelled.set({ kind, source: 'analyst' }, counts.analyst)
    }
    if (!verdict) return
    log.info(`shadow model ${verdict.decision === 'promote' ? 'promoted' : 'rejected'}`, {
      version: shadowVersion,
      reason: verdict.reason,
      labelled: verdict.labelled,
      analystLabelled: verdict.analystLabelled,
    })
    // another instance may decide too: the records say the same, so the race is harmless
    const records =
      verdict.decision === 'promote'
        ? promotionRecords(models, kind, shadowVersion, `shadow: ${verdict.reason}`)
        : [{ key: `shadow:${kind}`, value: null }]
    void publishRegistryRecords(kafka, records).catch((error: unknown) => {
      judges.reopen(shadowVersion)
      log.error('cannot publish the shadow verdict', { version: shadowVersion, error: String(error) })
    })
  }
  return {
    onShadowScore: (kind, shadowVersion, live, shadow, label) =>
      decided(kind, shadowVersion, judges.observe(kind, shadowVersion, { live, shadow }, label)),
    onShadowLabel: (kind, shadowVersion, live, shadow, label) =>
      decided(kind, shadowVersion, judges.observeLabel(kind, shadowVersion, { live, shadow }, label)),
  }
}

export const scoreService: ServiceDefinition = {
  name: 'score',
  description:
    'enriched-features → anomaly-scores and anomalies (detectors, ensemble, rules, shadow models judged on labelled events and analysts’ labels)',
  section: 'score',
  async start(context) {
    const { config, kafka } = context
    const models = new ModelRegistry(kafka)
    context.onStop(() => models.stop())
    await models.start()
    const judge = shadowVerdicts(config, kafka, models, context.registry)
    const runtimes = context.processorRuntimes(['enrichedFeatures', 'labels'], () =>
      scoreProcessor({
        topicPrefix: kafka.topicPrefix,
        threshold: config['score.threshold'],
        checkpointEvents: config['score.checkpointEvents'],
        rules: ruleOptionsFrom(config),
        models: (kind) => models.liveModel(kind),
        shadow: (kind) => models.shadowModel(kind),
        ...judge,
      }),
    )
    return { runtimes }
  },
}
