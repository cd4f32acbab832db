// Scoring of enriched events: every detector, the calibrated ensemble, rules and explanations.
// Pure and deterministic: the same events in the same order give the same scores, which is
// what makes offline scoring of a file equal to the stream.
import type { Contribution } from '../anomaly/detector.ts'
import { ScoreEnsemble, type ScoreEnsembleState } from '../anomaly/ensemble.ts'
import { HalfSpaceTrees, type HalfSpaceTreesState } from '../anomaly/half-space-trees.ts'
import type { IsolationForest } from '../anomaly/isolation-forest.ts'
import { EntityZScoreDetector } from '../anomaly/robust-zscore.ts'
import type { SeriesDetector } from '../anomaly/series.ts'
import type { EventKind } from '../features/index.ts'
import { RobustScaler, type RobustScalerState } from '../features/robust-scaler.ts'
import { type DetectorName, type KindEntry, kindOf, type RuleOptions } from '../kinds.ts'
import type { EnrichedEvent, ScoredEvent } from './events.ts'

/** An offline-trained model for one event kind. */
export interface LoadedModel {
  version: string
  kind: EventKind
  forest: IsolationForest
}

export interface ScorerOptions {
  /** Thresholds of the rules (score.* settings); defaults where not given. */
  rules?: RuleOptions
  /** Also return each detector's raw score (`raw`); offline evaluation ranks by them. */
  rawScores?: boolean
  /**
   * Events whose score is at least this are explained (`contributions`, the features that
   * contributed most); the others carry an empty list. Default 0: every event. The score
   * service explains what it flags (score.threshold): only anomalies are read for it.
   */
  explainFrom?: number
}

/**
 * Half-Space Trees' settings in the scorer (one configuration for every kind and schema): more
 * trees than River's default make its scores steadier between seeds; the robust scaler (see
 * `RobustScaler`) gives every feature a range that one outlier cannot squash.
 */
/** Ensemble weight of each online detector while an offline model (weight 1) is live. */
export const onlineWeightWithModel = 0.1

export const scorerHalfSpaceTrees = { trees: 25, height: 8, windowSize: 250 } as const

interface KindScorerState {
  scaler: RobustScalerState
  hst: HalfSpaceTreesState
  ensemble: ScoreEnsembleState
  modelVersion: string | null
  /** The kind's per-entity detector (the series detector of metrics), by entity. */
  series?: Record<string, unknown>
  /** The kind's per-entity rule state (a customer's last payments), by entity. */
  rules?: Record<string, unknown>
}

/** The scoring state of one event kind in one partition. */
class KindScorer {
  readonly kind: EventKind
  readonly entry: KindEntry
  readonly rules: RuleOptions
  readonly rawScores: boolean
  readonly explainFrom: number
  readonly names: readonly string[]
  readonly scaler: RobustScaler
  readonly hst: HalfSpaceTrees
  readonly zscore: EntityZScoreDetector | undefined
  ensemble: ScoreEnsemble
  model: LoadedModel | undefined
  readonly series = new Map<string, SeriesDetector>()
  readonly ruleStates = new Map<string, unknown>()
  readonly #x: Float64Array
  readonly #scaled: Float64Array

  constructor(
    kind: EventKind,
    model: LoadedModel | undefined,
    seed: number,
    options: Required<ScorerOptions>,
    state?: KindScorerState,
  ) {
    this.kind = kind
    this.rawScores = options.rawScores
    this.explainFrom = options.explainFrom
    this.entry = kindOf(kind)
    this.rules = options.rules
    this.names = this.entry.features.schema.names
    const dimensions = this.names.length
    this.#x = new Float64Array(dimensions)
    this.#scaled = new Float64Array(dimensions)
    this.model = model
    const zIndices = this.entry.statisticColumns
    this.zscore =
      zIndices.length > 0
        ? new EntityZScoreDetector({ featureIndices: zIndices, featureNames: zIndices.map((i) => this.names[i]!) })
        : undefined
    if (state) {
      // A checkpoint of a version that scaled by min–max starts its scaler afresh.
      this.scaler =
        state.scaler?.type === 'robust-scaler'
          ? RobustScaler.fromJSON(state.scaler)
          : new RobustScaler({ dimensions, seed })
      this.hst = HalfSpaceTrees.fromJSON(state.hst)
      this.ensemble = ScoreEnsemble.fromJSON(state.ensemble)
      const entityDetector = this.entry.entityDetector
      if (entityDetector)
        for (const [entity, saved] of Object.entries(state.series ?? {}))
          this.series.set(entity, entityDetector.fromJSON(saved))
      for (const [entity, saved] of Object.entries(state.rules ?? {})) this.ruleStates.set(entity, saved)
    } else {
      this.scaler = new RobustScaler({ dimensions, seed })
      this.hst = new HalfSpaceTrees({ dimensions, seed, featureNames: this.names, ...scorerHalfSpaceTrees })
      this.ensemble = this.#newEnsemble(seed)
    }
  }

  #newEnsemble(seed: number): ScoreEnsemble {
    const detectors: DetectorName[] = ['half_space_trees']
    if (this.zscore) detectors.push('entity_zscore')
    if (this.model) detectors.push('isolation_forest')
    if (this.entry.entityDetector) detectors.push(this.entry.entityDetector.name)
    // With an offline model live, the detectors that learn online weigh less: the model was
    // trained on a batch of the stream's own events and ranks far better than they do until
    // they have seen much more; they still raise the score when far in their tails.
    const weights = this.model
      ? Object.fromEntries(detectors.map((name) => [name, name === 'isolation_forest' ? 1 : onlineWeightWithModel]))
      : undefined
    const ensemble = new ScoreEnsemble({ detectors, seed, ...(weights ? { weights } : {}) })
    const reference = this.model?.forest.training.scores
    if (reference && reference.length > 0) ensemble.freezeWith('isolation_forest', reference)
    return ensemble
  }

  /**
   * A new model restarts the ensemble's combination (its detector set changes); the detectors
   * that learn online keep their calibrations.
   */
  useModel(model: LoadedModel | undefined, seed: number): void {
    if (model?.version === this.model?.version) return
    this.model = model
    const previous = this.ensemble
    this.ensemble = this.#newEnsemble(seed)
    this.ensemble.continueFrom(previous)
  }

  score(event: EnrichedEvent): ScoredEvent {
    const x = this.#x
    for (let i = 0; i < x.length; i++) x[i] = event.features[i] ?? 0
    this.scaler.transform(x, this.#scaled)
    // Half-Space Trees score the event and learn it in one walk; nothing below reads them before
    // the explanation, which comes after learning as it always has
    const raw: Partial<Record<DetectorName, number>> = { half_space_trees: this.hst.scoreThenLearn(this.#scaled) }
    if (this.zscore) raw.entity_zscore = this.zscore.score(x)
    if (this.model) raw.isolation_forest = this.model.forest.score(x)
    const entityDetector = this.entry.entityDetector
    if (entityDetector) {
      let detector = this.series.get(event.entity)
      if (!detector) {
        detector = entityDetector.create()
        this.series.set(event.entity, detector)
      }
      raw[entityDetector.name] = detector.update(event.eventTime, entityDetector.value(event.event))
    }
    const rules = this.#rules(event)
    const scores: Record<string, number> = {}
    const score = this.ensemble.scoreAndObserve(raw as Record<string, number>, rules, scores)
    this.scaler.observe(x)
    // explained after learning, so an explanation is the same whichever events get one
    const contributions: Contribution[] =
      score >= this.explainFrom
        ? (this.model ? this.model.forest.explain(x, 5) : this.hst.explain(this.#scaled, 5))
            .slice(0, 5)
            .map((c) => ({ feature: c.feature, weight: Math.round(c.weight * 1000) / 1000 }))
        : []
    const scored: ScoredEvent = {
      kind: event.kind,
      id: event.id,
      entity: event.entity,
      eventTime: event.eventTime,
      producedAt: event.producedAt,
      score,
      scores,
      rules,
      contributions,
      modelVersion: this.model?.version ?? null,
    }
    if (entityDetector) scored.entityScore = raw[entityDetector.name]!
    if (this.rawScores) scored.raw = { ...raw } as Record<string, number>
    return Object.assign(scored, this.entry.truth(event.event))
  }

  /** The names of the kind's rules that fire on the event, with its entity's rule state (kept per entity). */
  #rules(event: EnrichedEvent): string[] {
    const rules = this.entry.rules
    if (!rules) return []
    const { hits, next } = rules.step(event.event, event.eventTime, this.ruleStates.get(event.entity), this.rules)
    if (next !== undefined) this.ruleStates.set(event.entity, next)
    return hits.map((hit) => hit.rule)
  }

  toJSON(): KindScorerState {
    const state: KindScorerState = {
      scaler: this.scaler.toJSON(),
      hst: this.hst.toJSON() as HalfSpaceTreesState,
      ensemble: this.ensemble.toJSON(),
      modelVersion: this.model?.version ?? null,
    }
    if (this.series.size > 0) {
      state.series = Object.fromEntries([...this.series].map(([entity, detector]) => [entity, detector.toJSON()]))
    }
    if (this.ruleStates.size > 0) state.rules = Object.fromEntries(this.ruleStates)
    return state
  }
}

export interface PartitionScorerState {
  kinds: Partial<Record<EventKind, KindScorerState>>
}

/** All scoring state of one input partition (one per partition, so instances can share work). */
export class PartitionScorer {
  readonly #kinds = new Map<EventKind, KindScorer>()
  readonly #seed: number
  readonly #options: Required<ScorerOptions>
  #models: (kind: EventKind) => LoadedModel | undefined

  constructor(
    models: (kind: EventKind) => LoadedModel | undefined,
    seed = 1,
    state?: PartitionScorerState,
    options: ScorerOptions = {},
  ) {
    this.#models = models
    this.#seed = seed
    this.#options = {
      rules: options.rules ?? {},
      rawScores: options.rawScores ?? false,
      explainFrom: options.explainFrom ?? 0,
    }
    for (const [kind, saved] of Object.entries(state?.kinds ?? {}) as [EventKind, KindScorerState][]) {
      const model = models(kind)
      const scorer = new KindScorer(
        kind,
        saved.modelVersion === (model?.version ?? null) ? model : undefined,
        seed,
        this.#options,
        saved,
      )
      scorer.useModel(model, seed)
      this.#kinds.set(kind, scorer)
    }
  }

  /** Switches every kind to the models now returned by `models` (at a batch boundary). */
  refreshModels(models?: (kind: EventKind) => LoadedModel | undefined): void {
    if (models) this.#models = models
    for (const [kind, scorer] of this.#kinds) scorer.useModel(this.#models(kind), this.#seed)
  }

  score(event: EnrichedEvent): ScoredEvent {
    let scorer = this.#kinds.get(event.kind)
    if (!scorer) {
      scorer = new KindScorer(event.kind, this.#models(event.kind), this.#seed, this.#options)
      this.#kinds.set(event.kind, scorer)
    }
    return scorer.score(event)
  }

  toJSON(): PartitionScorerState {
    const kinds: Partial<Record<EventKind, KindScorerState>> = {}
    for (const [kind, scorer] of this.#kinds) kinds[kind] = scorer.toJSON()
    return { kinds }
  }
}
