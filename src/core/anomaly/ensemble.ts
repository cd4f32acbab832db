// Combines several detectors' raw scores, and any rule hits, into one score in [0, 1] whose
// meaning does not depend on the detectors' scales or on the stream.
//
// 1. Per detector: the raw score becomes its calibrated score p = F(raw), the share of that
//    detector's recent raw scores below it (a `ScoreCalibrator`: bounded reservoir that
//    forgets over `horizon` events). A p of 0.99 means "higher than 99% of recent traffic".
// 2. Combination: the evidence -ln(1 - p) of each detector (large when p is near 1) is
//    averaged with the detector weights, as in Fisher's method. One detector far in its tail
//    is enough to raise it; several detectors moderately high raise it too.
// 3. The combined evidence is itself calibrated against its own recent values, so the final
//    score is again "the share of recent events with weaker evidence".
// 4. Rule hits pass through: the score is at least the severity of any rule that fired
//    (default 1), whatever the detectors say.
//
// What a threshold means: on traffic like the recent past, `score > 0.99` flags about 1% of
// events (0.9 flags about 10%), on every stream, whatever the detectors' raw scales, and it
// keeps meaning that as the traffic slowly changes; rule hits are flagged at any threshold
// below their severity. The share is estimated from 4096 remembered values per calibration,
// so it is within about ±1.5 points at 0.9 and ±0.5 points at 0.99 (three standard errors).
// Until `warmup` events have been observed the detector part of the
// score is 0 (only rules can flag), because the calibration has nothing to rank against.
//
// `calibrate()` reads the state only; `observe()` updates it. A scorer calls calibrate then
// observe for each event, so an event is never ranked against itself.
import { Random } from '../random.ts'
import { ScoreCalibrator, type ScoreCalibratorState } from './score-calibrator.ts'

export interface ScoreEnsembleOptions {
  /** Detector names, in the order their scores are expected. */
  readonly detectors: readonly string[]
  /** Relative weight of each detector in the combination (default 1 each). */
  readonly weights?: Readonly<Record<string, number>>
  /** Score given by a hit of each rule (default `ruleSeverity`). */
  readonly rules?: Readonly<Record<string, number>>
  /** Score of a hit of a rule not listed in `rules` (default 1). */
  readonly ruleSeverity?: number
  /** Observations before detector scores count (default 200). */
  readonly warmup?: number
  /** Reservoir size of each calibration (default 4096). */
  readonly capacity?: number
  /** Events a calibration remembers, on average (default 100,000). */
  readonly horizon?: number
  readonly seed?: number
}

export interface EnsembleScore {
  /** Combined calibrated score in [0, 1]. */
  readonly score: number
  /** Calibrated score per detector, and the severity of each rule that fired (`rule:<name>`). */
  readonly scores: Readonly<Record<string, number>>
  /** Raw detector scores as given. */
  readonly raw: Readonly<Record<string, number>>
  /** False during warm-up: detector scores are not yet calibrated and do not count. */
  readonly calibrated: boolean
}

export interface ScoreEnsembleState {
  readonly type: 'score-ensemble'
  readonly detectors: readonly string[]
  readonly weights: Readonly<Record<string, number>>
  readonly rules: Readonly<Record<string, number>>
  readonly ruleSeverity: number
  readonly warmup: number
  readonly observed: number
  readonly calibrators: Readonly<Record<string, ScoreCalibratorState>>
  readonly combined: ScoreCalibratorState
  /** Detectors calibrated by a fixed reference sample (`freezeWith`); the combination is then fixed too. */
  readonly frozen?: readonly string[]
}

export const scoreEnsembleDefaults = {
  ruleSeverity: 1,
  warmup: 200,
  capacity: 4096,
  horizon: 100_000,
  seed: 1,
} as const

/** Samples in a frozen combination's reference (see `freezeWith`). */
const referenceDraws = 4096

/** Evidence cap: -ln(1e-12). Keeps one p = 1 from making the average infinite. */
const MAX_EVIDENCE = -Math.log(1e-12)

export class ScoreEnsemble {
  readonly detectors: readonly string[]
  readonly weights: Readonly<Record<string, number>>
  readonly rules: Readonly<Record<string, number>>
  readonly ruleSeverity: number
  readonly warmup: number
  readonly #calibrators: ScoreCalibrator[]
  #combined: ScoreCalibrator
  readonly #weight: Float64Array
  #observed = 0
  /** Detectors whose calibration is a fixed reference sample (`freezeWith`). */
  readonly #frozen = new Set<number>()
  #combinedFrozen = false

  constructor(options: ScoreEnsembleOptions) {
    if (options.detectors.length === 0 || new Set(options.detectors).size !== options.detectors.length)
      throw new RangeError('ScoreEnsemble: detectors must be a non-empty list of distinct names')
    this.detectors = Object.freeze([...options.detectors])
    const weights: Record<string, number> = {}
    for (const name of this.detectors) {
      const weight = options.weights?.[name] ?? 1
      if (!(weight >= 0) || !Number.isFinite(weight))
        throw new RangeError(`ScoreEnsemble: weight of ${name} is ${weight}; expected a finite number ≥ 0`)
      weights[name] = weight
    }
    for (const name of Object.keys(options.weights ?? {}))
      if (!this.detectors.includes(name))
        throw new RangeError(`ScoreEnsemble: weight given for unknown detector ${name}`)
    this.weights = Object.freeze(weights)
    this.ruleSeverity = checkUnit('ruleSeverity', options.ruleSeverity ?? scoreEnsembleDefaults.ruleSeverity)
    const rules: Record<string, number> = {}
    for (const [rule, severity] of Object.entries(options.rules ?? {}))
      rules[rule] = checkUnit(`rules.${rule}`, severity)
    this.rules = Object.freeze(rules)
    this.warmup = options.warmup ?? scoreEnsembleDefaults.warmup
    if (!Number.isInteger(this.warmup) || this.warmup < 0)
      throw new RangeError(`ScoreEnsemble: warmup is ${this.warmup}; expected an integer ≥ 0`)
    const seed = options.seed ?? scoreEnsembleDefaults.seed
    const calibration = {
      capacity: options.capacity ?? scoreEnsembleDefaults.capacity,
      horizon: options.horizon ?? scoreEnsembleDefaults.horizon,
    }
    // Distinct seeds: the reservoirs should not replace the same slots in lock-step.
    this.#calibrators = this.detectors.map((_, i) => new ScoreCalibrator({ ...calibration, seed: seed + i + 1 }))
    this.#combined = new ScoreCalibrator({ ...calibration, seed })
    this.#weight = Float64Array.from(this.detectors, (name) => weights[name]!)
  }

  static fromJSON(state: ScoreEnsembleState): ScoreEnsemble {
    if (state?.type !== 'score-ensemble') throw new TypeError('not a score-ensemble state')
    const ensemble = new ScoreEnsemble({
      detectors: state.detectors,
      weights: state.weights,
      rules: state.rules,
      ruleSeverity: state.ruleSeverity,
      warmup: state.warmup,
    })
    ensemble.detectors.forEach((name, i) => {
      const saved = state.calibrators[name]
      if (saved === undefined) throw new RangeError(`score-ensemble state lacks the calibration of ${name}`)
      ensemble.#calibrators[i] = ScoreCalibrator.fromJSON(saved)
    })
    ensemble.#combined = ScoreCalibrator.fromJSON(state.combined)
    ensemble.#observed = state.observed
    for (const name of state.frozen ?? []) ensemble.#frozen.add(ensemble.detectors.indexOf(name))
    ensemble.#combinedFrozen = ensemble.#frozen.size > 0
    return ensemble
  }

  /** Events observed so far. */
  get observed(): number {
    return this.#observed
  }

  /**
   * Scores one event without changing any state. `raw` maps detector names to raw scores (a
   * detector may be missing; unknown names are an error); `ruleHits` names the rules that
   * fired.
   */
  calibrate(raw: Readonly<Record<string, number>>, ruleHits: readonly string[] = []): EnsembleScore {
    const scores: Record<string, number> = {}
    const score = this.#combinedScore(this.#evidence(raw, scores), ruleHits, scores)
    return { score, scores, raw: { ...raw }, calibrated: this.#observed >= this.warmup }
  }

  /**
   * Calibrates one detector by a fixed reference sample of its raw scores (an offline model's
   * scores of its training rows) instead of by recent traffic: its calibrated score becomes
   * the share of the model's training rows it beats, the same map for every event until the
   * next model, so a burst of anomalies does not teach the calibration that they are usual
   * (drift is the drift detectors' and the retrainer's business: a new model brings a new
   * reference). The combined calibration is fixed too, to the evidence of the reference
   * scores beside independent draws of the other detectors' evidence (see below). The
   * ensemble is calibrated from its first event.
   */
  freezeWith(name: string, values: readonly number[]): void {
    const i = this.detectors.indexOf(name)
    if (i < 0) throw new RangeError(`ScoreEnsemble: unknown detector ${name}`)
    if (values.length === 0) throw new RangeError('ScoreEnsemble: a reference sample needs at least one score')
    const size = Math.max(2, values.length)
    const fixed = new ScoreCalibrator({ capacity: size, horizon: size })
    for (const value of values) fixed.observe(value)
    this.#calibrators[i] = fixed
    let total = 0
    for (let d = 0; d < this.detectors.length; d++) total += this.#weight[d]!
    const own = this.#weight[i]!
    // The other detectors are calibrated by recent traffic, so on ordinary traffic each one's p
    // is uniform and its evidence -ln(1 - p) exponential: the reference of the combination is
    // the model's reference evidence beside independent draws of theirs (`referenceDraws` per
    // reference score).
    const draws = own < total ? Math.max(1, Math.ceil(referenceDraws / values.length)) : 1
    const combined = new ScoreCalibrator({ capacity: size * draws, horizon: size * draws })
    const random = new Random(1)
    for (const value of values) {
      const evidence = Math.min(MAX_EVIDENCE, -Math.log(1 - fixed.cdf(value)))
      for (let k = 0; k < draws; k++) {
        let sum = own * evidence
        for (let d = 0; d < this.detectors.length; d++)
          if (d !== i) sum += this.#weight[d]! * Math.min(MAX_EVIDENCE, -Math.log(1 - random.next()))
        combined.observe(total > 0 ? sum / total : evidence)
      }
    }
    this.#combined = combined
    this.#frozen.add(i)
    this.#combinedFrozen = true
    if (this.#observed < this.warmup) this.#observed = this.warmup
  }

  /**
   * Takes over the calibrations of `previous` for the detectors both ensembles have and this one
   * calibrates by recent traffic: a new model changes its own detector, not the traffic the
   * others are ranked against.
   */
  continueFrom(previous: ScoreEnsemble): void {
    this.detectors.forEach((name, i) => {
      const j = previous.detectors.indexOf(name)
      if (j < 0 || this.#frozen.has(i) || previous.#frozen.has(j)) return
      this.#calibrators[i] = ScoreCalibrator.fromJSON(previous.#calibrators[j]!.toJSON())
    })
  }

  /** Adds one event's raw scores to the calibrations. */
  observe(raw: Readonly<Record<string, number>>): void {
    // Evidence is measured against the calibrations before this event joins them, exactly as
    // `calibrate` measured it.
    this.#observe(raw, this.#evidence(raw, undefined))
  }

  /**
   * `calibrate` then `observe` of one event, the evidence computed once: what a scorer does
   * per event, with the same result as the two calls. The combined score and the rule
   * severities are written into `scores`; the combined score is returned.
   */
  scoreAndObserve(
    raw: Readonly<Record<string, number>>,
    ruleHits: readonly string[],
    scores: Record<string, number>,
  ): number {
    const evidence = this.#evidence(raw, scores)
    const score = this.#combinedScore(evidence, ruleHits, scores)
    this.#observe(raw, evidence)
    return score
  }

  /** The combined score of an event's evidence, raised to the severity of any rule hit (written into `scores`). */
  #combinedScore(evidence: number | undefined, ruleHits: readonly string[], scores: Record<string, number>): number {
    let score = this.#observed >= this.warmup && evidence !== undefined ? this.#combined.cdf(evidence) : 0
    for (const rule of ruleHits) {
      const severity = this.rules[rule] ?? this.ruleSeverity
      scores[`rule:${rule}`] = severity
      if (severity > score) score = severity
    }
    return score
  }

  #observe(raw: Readonly<Record<string, number>>, evidence: number | undefined): void {
    for (let i = 0; i < this.detectors.length; i++) {
      const value = raw[this.detectors[i]!]
      if (value !== undefined && !this.#frozen.has(i)) this.#calibrators[i]!.observe(value)
    }
    if (evidence !== undefined && !this.#combinedFrozen) this.#combined.observe(evidence)
    this.#observed++
  }

  toJSON(): ScoreEnsembleState {
    const calibrators: Record<string, ScoreCalibratorState> = {}
    this.detectors.forEach((name, i) => {
      calibrators[name] = this.#calibrators[i]!.toJSON()
    })
    return {
      type: 'score-ensemble',
      detectors: [...this.detectors],
      weights: { ...this.weights },
      rules: { ...this.rules },
      ruleSeverity: this.ruleSeverity,
      warmup: this.warmup,
      observed: this.#observed,
      calibrators,
      combined: this.#combined.toJSON(),
      ...(this.#frozen.size > 0 ? { frozen: [...this.#frozen].map((i) => this.detectors[i]!) } : {}),
    }
  }

  /** Weighted mean of -ln(1 - p) over the detectors present; undefined when none is. */
  #evidence(raw: Readonly<Record<string, number>>, scores: Record<string, number> | undefined): number | undefined {
    for (const name in raw)
      if (!this.detectors.includes(name)) throw new RangeError(`ScoreEnsemble: unknown detector ${name}`)
    let sum = 0
    let weight = 0
    for (let i = 0; i < this.detectors.length; i++) {
      const value = raw[this.detectors[i]!]
      if (value === undefined || Number.isNaN(value)) continue
      const calibrator = this.#calibrators[i]!
      // beside a model (whose combination is fixed), a detector whose calibration has seen
      // fewer than `warmup` events has nothing to rank against yet: it counts as at its median.
      // (Without a model the whole ensemble waits for `warmup` events instead.)
      const p =
        this.#combinedFrozen && !this.#frozen.has(i) && calibrator.observed < this.warmup ? 0.5 : calibrator.cdf(value)
      if (scores !== undefined) scores[this.detectors[i]!] = p
      sum += this.#weight[i]! * Math.min(MAX_EVIDENCE, -Math.log(1 - p))
      weight += this.#weight[i]!
    }
    return weight > 0 ? sum / weight : undefined
  }
}

function checkUnit(setting: string, value: number): number {
  if (!(value >= 0 && value <= 1))
    throw new RangeError(`ScoreEnsemble: ${setting} is ${value}; expected a number in [0, 1]`)
  return value
}
