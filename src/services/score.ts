import type { Config } from '../config/settings.ts'
import type { EventKind } from '../core/features/index.ts'
import { type RuleOptions, ruleOptionsFrom } from '../core/kinds.ts'
import { decodeEnriched, type EnrichedEvent } from '../core/pipeline/events.ts'
import { type LoadedModel, PartitionScorer, type PartitionScorerState } from '../core/pipeline/scorer.ts'
import { ShadowJudges, shadowScores } from '../core/pipeline/shadow.ts'
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
}

/**
 * score: enriched events → every detector, the calibrated ensemble, rules and explanations.
 * Each input partition has its own scorer, checkpointed to the changelog every
 * `checkpointEvents` events; the model in use is re-read at every batch boundary (hot swap).
 */
export function scoreProcessor(
  options: ScoreOptions,
): Processor<EnrichedEvent> & { scorers: WeakMap<StateStore, PartitionScorer> } {
  const scores = topicName(options.topicPrefix, 'anomalyScores')
  const anomalies = topicName(options.topicPrefix, 'anomalies')
  const scorers = new WeakMap<StateStore, PartitionScorer>()
  const sinceCheckpoint = new WeakMap<StateStore, number>()
  return {
    name: 'score',
    scorers,
    decode: (value) => decodeEnriched(value.toString()),
    process(records, { store }) {
      let scorer = scorers.get(store)
      if (!scorer) {
        scorer = new PartitionScorer(
          options.models,
          options.seed ?? 1,
          restoreScorer(store),
          options.rules ? { rules: options.rules } : {},
        )
        scorers.set(store, scorer)
      } else {
        scorer.refreshModels(options.models)
      }
      const outputs: OutputRecord[] = []
      // the shadow in use is fixed per batch too, like the live model
      const shadows = new Map<EventKind, LoadedModel | undefined>()
      for (const record of records) {
        const scored = scorer.score(record.value)
        if (options.shadow) {
          const kind = record.value.kind
          if (!shadows.has(kind)) shadows.set(kind, options.shadow(kind))
          const shadow = shadows.get(kind)
          const both = shadow && shadowScores(record.value, scored, options.models(kind), shadow)
          if (shadow && both) {
            // recorded beside the live score, which it does not change
            scored.shadow = { modelVersion: shadow.version, isolationForest: both.shadow }
            options.onShadowScore?.(kind, shadow.version, both.live, both.shadow, scored.label)
          }
        }
        const value = JSON.stringify(scored)
        outputs.push({ topic: scores, key: scored.entity, value })
        if (scored.score >= options.threshold) outputs.push({ topic: anomalies, key: scored.entity, value })
      }
      const count = (sinceCheckpoint.get(store) ?? 0) + records.length
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
 * promotes the shadow (live pointer) or clears it, once per version.
 */
export function shadowVerdicts(
  config: Config,
  kafka: KafkaContext,
  models: ModelRegistry,
): NonNullable<ScoreOptions['onShadowScore']> {
  const log = logger('service')
  const judges = new ShadowJudges({
    minLabelled: config['models.shadowMinLabelled'],
    promoteAfterEvents: config['models.shadowPromoteAfterEvents'],
  })
  return (kind, shadowVersion, live, shadow, label) => {
    const verdict = judges.observe(kind, shadowVersion, { live, shadow }, label)
    if (!verdict) return
    log.info(`shadow model ${verdict.decision === 'promote' ? 'promoted' : 'rejected'}`, {
      version: shadowVersion,
      reason: verdict.reason,
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
}

export const scoreService: ServiceDefinition = {
  name: 'score',
  description: 'enriched-features → anomaly-scores and anomalies (detectors, ensemble, rules, shadow models)',
  section: 'score',
  async start(context) {
    const { config, kafka } = context
    const models = new ModelRegistry(kafka)
    context.onStop(() => models.stop())
    await models.start()
    const onShadowScore = shadowVerdicts(config, kafka, models)
    const runtimes = context.processorRuntimes('enrichedFeatures', () =>
      scoreProcessor({
        topicPrefix: kafka.topicPrefix,
        threshold: config['score.threshold'],
        checkpointEvents: config['score.checkpointEvents'],
        rules: ruleOptionsFrom(config),
        models: (kind) => models.liveModel(kind),
        shadow: (kind) => models.shadowModel(kind),
        onShadowScore,
      }),
    )
    return { runtimes }
  },
}
