// Scoring of enriched events: every detector, the calibrated ensemble, rules and explanations.
// Pure and deterministic: the same events in the same order give the same scores, which is
// what makes offline scoring of a file equal to the stream.
import type { Contribution } from '../anomaly/detector.ts'
import { type EnsembleScore, ScoreEnsemble, type ScoreEnsembleState } from '../anomaly/ensemble.ts'
import { HalfSpaceTrees, type HalfSpaceTreesState } from '../anomaly/half-space-trees.ts'
import type { IsolationForest } from '../anomaly/isolation-forest.ts'
import { EntityZScoreDetector } from '../anomaly/robust-zscore.ts'
import type { RuleHit } from '../anomaly/rules.ts'
import type { SeriesDetector } from '../anomaly/series.ts'
import type { EventKind } from '../features/index.ts'
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
}

/** Online min–max scaling to [0, 1] for Half-Space Trees (River pairs HST with MinMaxScaler). */
interface ScalerState {
  min: number[]
  max: number[]
}

function scale(scaler: ScalerState, x: Float64Array, out: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    const low = scaler.min[i]!
    const high = scaler.max[i]!
    const value = x[i]!
    out[i] = high > low ? Math.min(1, Math.max(0, (value - low) / (high - low))) : 0.5
  }
}

function learnScale(scaler: ScalerState, x: Float64Array): void {
  for (let i = 0; i < x.length; i++) {
    const value = x[i]!
    if (value < scaler.min[i]!) scaler.min[i] = value
    if (value > scaler.max[i]!) scaler.max[i] = value
  }
}

interface KindScorerState {
  scaler: ScalerState
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
  readonly entry: KindEntry<EventKind>
  readonly rules: RuleOptions
  readonly names: readonly string[]
  readonly scaler: ScalerState
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
    rules: RuleOptions,
    state?: KindScorerState,
  ) {
    this.kind = kind
    this.entry = kindOf(kind)
    this.rules = rules
    this.names = this.entry.features.schema.names
    const dimensions = this.names.length
    this.#x = new Float64Array(dimensions)
    this.#scaled = new Float64Array(dimensions)
    this.model = model
    const zIndices = this.names.flatMap((name, i) => (/robust_zscore|_zscore$|deviation/.test(name) ? [i] : []))
    this.zscore =
      zIndices.length > 0
        ? new EntityZScoreDetector({ featureIndices: zIndices, featureNames: zIndices.map((i) => this.names[i]!) })
        : undefined
    if (state) {
      this.scaler = { min: [...state.scaler.min], max: [...state.scaler.max] }
      this.hst = HalfSpaceTrees.fromJSON(state.hst)
      this.ensemble = ScoreEnsemble.fromJSON(state.ensemble)
      const entityDetector = this.entry.entityDetector
      if (entityDetector)
        for (const [entity, saved] of Object.entries(state.series ?? {}))
          this.series.set(entity, entityDetector.fromJSON(saved))
      for (const [entity, saved] of Object.entries(state.rules ?? {})) this.ruleStates.set(entity, saved)
    } else {
      this.scaler = { min: new Array(dimensions).fill(Infinity), max: new Array(dimensions).fill(-Infinity) }
      this.hst = new HalfSpaceTrees({ dimensions, seed, featureNames: this.names })
      this.ensemble = this.#newEnsemble(seed)
    }
  }

  #newEnsemble(seed: number): ScoreEnsemble {
    const detectors: DetectorName[] = ['half_space_trees']
    if (this.zscore) detectors.push('entity_zscore')
    if (this.model) detectors.push('isolation_forest')
    if (this.entry.entityDetector) detectors.push(this.entry.entityDetector.name)
    return new ScoreEnsemble({ detectors, seed })
  }

  /** A new model restarts the ensemble's calibration (its detector set changes). */
  useModel(model: LoadedModel | undefined, seed: number): void {
    if (model?.version === this.model?.version) return
    this.model = model
    this.ensemble = this.#newEnsemble(seed)
  }

  score(event: EnrichedEvent): ScoredEvent {
    const x = this.#x
    for (let i = 0; i < x.length; i++) x[i] = event.features[i] ?? 0
    scale(this.scaler, x, this.#scaled)
    const raw: Partial<Record<DetectorName, number>> = { half_space_trees: this.hst.score(this.#scaled) }
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
    const hits = this.#rules(event)
    const combined: EnsembleScore = this.ensemble.calibrate(
      raw as Record<string, number>,
      hits.map((hit) => hit.rule),
    )
    this.ensemble.observe(raw as Record<string, number>)
    learnScale(this.scaler, x)
    this.hst.learn(this.#scaled)
    const contributions: Contribution[] = (
      this.model ? this.model.forest.explain(x, 5) : this.hst.explain(this.#scaled, 5)
    )
      .slice(0, 5)
      .map((c) => ({ feature: c.feature, weight: Math.round(c.weight * 1000) / 1000 }))
    return {
      kind: event.kind,
      id: event.id,
      entity: event.entity,
      eventTime: event.eventTime,
      producedAt: event.producedAt,
      score: combined.score,
      scores: combined.scores as Record<string, number>,
      rules: hits.map((hit) => hit.rule),
      contributions,
      modelVersion: this.model?.version ?? null,
      ...(entityDetector ? { entityScore: raw[entityDetector.name]! } : {}),
      ...this.entry.truth(event.event),
    }
  }

  /** The kind's rules on the event, with its entity's rule state (kept per entity). */
  #rules(event: EnrichedEvent): RuleHit[] {
    const rules = this.entry.rules
    if (!rules) return []
    const { hits, next } = rules.step(event.event, event.eventTime, this.ruleStates.get(event.entity), this.rules)
    if (next !== undefined) this.ruleStates.set(event.entity, next)
    return hits
  }

  toJSON(): KindScorerState {
    const state: KindScorerState = {
      scaler: this.scaler,
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
  readonly #rules: RuleOptions
  #models: (kind: EventKind) => LoadedModel | undefined

  constructor(
    models: (kind: EventKind) => LoadedModel | undefined,
    seed = 1,
    state?: PartitionScorerState,
    options: ScorerOptions = {},
  ) {
    this.#models = models
    this.#seed = seed
    this.#rules = options.rules ?? {}
    for (const [kind, saved] of Object.entries(state?.kinds ?? {}) as [EventKind, KindScorerState][]) {
      const model = models(kind)
      const scorer = new KindScorer(
        kind,
        saved.modelVersion === (model?.version ?? null) ? model : undefined,
        seed,
        this.#rules,
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
      scorer = new KindScorer(event.kind, this.#models(event.kind), this.#seed, this.#rules)
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
