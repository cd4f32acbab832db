// Per-entity robust z-scores: how far a value is from the entity's own recent history, in units
// of that history's spread, measured with the median and the median absolute deviation (MAD) so
// that the fraud we are looking for does not inflate the yardstick it is measured with.
//
// (a) Pure per-entity state for the features stage: the last `capacity` values in a ring buffer
//     (bounded memory, plain JSON for the changelog) and the median and MAD of that buffer,
//     recomputed exactly on every update. Exact beats stochastic approximation here: an entity
//     has few events, and an approximation needs many of them to settle.
// (b) `EntityZScoreDetector`: reads z-score features from the vector and maps the largest |z|
//     to [0, 1).

import { ErrorCodes, LookoutError } from '../../errors.ts'
import type { Contribution, Detector, DetectorState } from './detector.ts'

/** MAD × 1.4826 estimates σ for normal data, so robust z is comparable to an ordinary z. */
const MAD_TO_SIGMA = 1.4826
/** Mean absolute deviation × 1.2533 estimates σ for normal data; the fallback when MAD is 0. */
const MEAN_ABSOLUTE_DEVIATION_TO_SIGMA = 1.2533
/** |z| is capped so that a constant history gives a large but finite (JSON-safe) z. */
export const MAX_ROBUST_Z = 1000

export interface RobustState {
  /** Ring-buffer size: the history is the last `capacity` values. */
  readonly capacity: number
  /** Values seen in total (the buffer holds min(count, capacity) of them). */
  readonly count: number
  /** Ring buffer, oldest overwritten first; `recent[(count - 1) % capacity]` is the newest. */
  readonly recent: readonly number[]
  /** Median of the buffer (0 while empty). */
  readonly median: number
  /** Median absolute deviation from `median` (0 while empty). */
  readonly mad: number
  /** Mean absolute deviation from `median`, used when MAD is 0. */
  readonly meanDeviation: number
}

export interface RobustZOptions {
  /** History needed before z is reported; below it `robustZ` returns 0. Default 5. */
  minCount?: number
}

export function createRobustState(capacity = 50): RobustState {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > 10_000)
    throw new LookoutError(
      ErrorCodes.CONFIG_INVALID,
      `robust z-score: capacity = ${capacity} is not allowed; expected an integer in 1..10000`,
    )
  return { capacity, count: 0, recent: [], median: 0, mad: 0, meanDeviation: 0 }
}

// Scratch for the order statistics: module-level so an update allocates only the new state.
let scratch = new Float64Array(64)

function medianOf(values: Float64Array, length: number): number {
  const sorted = values.subarray(0, length).sort()
  const middle = length >> 1
  return length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** The entity's state after `value`; `state` is left as it was. Non-finite values are ignored. */
export function updateRobustState(state: RobustState | undefined, value: number): RobustState {
  const current = state ?? createRobustState()
  if (!Number.isFinite(value)) return current
  const { capacity } = current
  const recent = current.recent.slice()
  recent[current.count % capacity] = value
  const length = recent.length
  if (scratch.length < length) scratch = new Float64Array(Math.max(length, scratch.length * 2))
  for (let i = 0; i < length; i++) scratch[i] = recent[i]!
  const median = medianOf(scratch, length)
  let meanDeviation = 0
  for (let i = 0; i < length; i++) {
    const deviation = Math.abs(recent[i]! - median)
    scratch[i] = deviation
    meanDeviation += deviation
  }
  return {
    capacity,
    count: current.count + 1,
    recent,
    median,
    mad: medianOf(scratch, length),
    meanDeviation: meanDeviation / length,
  }
}

/**
 * Robust z of `value` against the history in `state` (so call it before `updateRobustState`):
 * (value − median) / (1.4826·MAD). When MAD is 0 (over half the history is one value) the
 * scale falls back to 1.2533·mean absolute deviation; when that is 0 too (a constant history)
 * any different value gets ±MAX_ROBUST_Z. Returns 0 until `minCount` values have been seen.
 */
export function robustZ(state: RobustState | undefined, value: number, options: RobustZOptions = {}): number {
  if (state === undefined || state.count < (options.minCount ?? 5) || !Number.isFinite(value)) return 0
  const deviation = value - state.median
  if (deviation === 0) return 0
  const scale = state.mad > 0 ? MAD_TO_SIGMA * state.mad : MEAN_ABSOLUTE_DEVIATION_TO_SIGMA * state.meanDeviation
  const z = scale > 0 ? deviation / scale : Math.sign(deviation) * MAX_ROBUST_Z
  return Math.max(-MAX_ROBUST_Z, Math.min(MAX_ROBUST_Z, z))
}

export const ENTITY_ZSCORE_TYPE = 'entity-zscore'

export interface EntityZScoreOptions {
  /** Positions of the z-score features in the vector. */
  featureIndices: readonly number[]
  /** Names for `explain`, one per index; default `z<index>`. */
  featureNames?: readonly string[]
  /** |z| at which the score is 0.5. Default 3.5, Iglewicz & Hoaglin's cut-off for robust z. */
  halfScoreAt?: number
}

export interface EntityZScoreState extends DetectorState {
  readonly type: typeof ENTITY_ZSCORE_TYPE
  readonly featureIndices: readonly number[]
  readonly featureNames: readonly string[]
  readonly halfScoreAt: number
}

/**
 * Scores a vector by its most extreme per-entity z-score feature:
 *
 *   score = z² / (z² + k²),   z = max |z_i| over the configured features, k = `halfScoreAt`
 *
 * 0 at z = 0, 0.5 at |z| = k, 0.8 at 2k, 0.9 at 3k, approaching but never reaching 1; smooth and
 * strictly increasing in |z|, so ranks are kept. NaN features count as 0. Range [0, 1).
 * Stateless: the per-entity history lives in the features stage, so `learn` does nothing.
 */
export class EntityZScoreDetector implements Detector {
  readonly name = ENTITY_ZSCORE_TYPE
  readonly featureIndices: readonly number[]
  readonly featureNames: readonly string[]
  readonly halfScoreAt: number
  readonly #indices: Int32Array
  readonly #squaredHalf: number

  constructor(options: EntityZScoreOptions) {
    const indices = options.featureIndices
    if (indices.length === 0 || indices.some((i) => !Number.isInteger(i) || i < 0))
      throw new LookoutError(
        ErrorCodes.CONFIG_INVALID,
        `entity-zscore: featureIndices = ${JSON.stringify(indices)} is not allowed; expected one or more indices ≥ 0`,
      )
    if (options.featureNames !== undefined && options.featureNames.length !== indices.length)
      throw new LookoutError(
        ErrorCodes.CONFIG_INVALID,
        `entity-zscore: featureNames has ${options.featureNames.length} names for ${indices.length} indices`,
      )
    const halfScoreAt = options.halfScoreAt ?? 3.5
    if (!(halfScoreAt > 0 && Number.isFinite(halfScoreAt)))
      throw new LookoutError(
        ErrorCodes.CONFIG_INVALID,
        `entity-zscore: halfScoreAt = ${halfScoreAt} is not allowed; expected a finite number > 0`,
      )
    this.featureIndices = Object.freeze([...indices])
    this.featureNames = Object.freeze(options.featureNames ? [...options.featureNames] : indices.map((i) => `z${i}`))
    this.halfScoreAt = halfScoreAt
    this.#indices = Int32Array.from(indices)
    this.#squaredHalf = halfScoreAt * halfScoreAt
  }

  learn(_x: Float64Array): void {}

  #zSquared(x: Float64Array, i: number): number {
    const index = this.#indices[i]!
    if (index >= x.length)
      throw new LookoutError(
        ErrorCodes.INPUT_INVALID,
        `entity-zscore: feature index ${index} is outside a vector of ${x.length} features`,
      )
    const z = x[index]!
    return Number.isNaN(z) ? 0 : z * z
  }

  score(x: Float64Array): number {
    let largest = 0
    for (let i = 0; i < this.#indices.length; i++) largest = Math.max(largest, this.#zSquared(x, i))
    // Infinity/Infinity would be NaN: an infinite z is as anomalous as it gets short of 1.
    if (largest === Number.POSITIVE_INFINITY) return 1 - Number.EPSILON
    return largest / (largest + this.#squaredHalf)
  }

  /** Each feature's own score z²/(z² + k²), largest first; the first one's weight is `score(x)`. */
  explain(x: Float64Array): Contribution[] {
    const contributions: Contribution[] = []
    for (let i = 0; i < this.#indices.length; i++) {
      const squared = this.#zSquared(x, i)
      const weight = squared === Number.POSITIVE_INFINITY ? 1 - Number.EPSILON : squared / (squared + this.#squaredHalf)
      contributions.push({ feature: this.featureNames[i]!, weight })
    }
    return contributions.sort((a, b) => b.weight - a.weight)
  }

  toJSON(): EntityZScoreState {
    return {
      type: ENTITY_ZSCORE_TYPE,
      featureIndices: [...this.featureIndices],
      featureNames: [...this.featureNames],
      halfScoreAt: this.halfScoreAt,
    }
  }

  static fromJSON(state: DetectorState): EntityZScoreDetector {
    if (state.type !== ENTITY_ZSCORE_TYPE)
      throw new LookoutError(ErrorCodes.INPUT_INVALID, `entity-zscore state: type is ${JSON.stringify(state.type)}`)
    const s = state as EntityZScoreState
    if (!Array.isArray(s.featureIndices) || !Array.isArray(s.featureNames) || typeof s.halfScoreAt !== 'number')
      throw new LookoutError(
        ErrorCodes.INPUT_INVALID,
        'entity-zscore state: needs featureIndices, featureNames and halfScoreAt',
        { hint: 'load a state written by EntityZScoreDetector.toJSON()' },
      )
    return new EntityZScoreDetector(s)
  }
}

/** Rebuilds a detector from `toJSON()` output; the module-level twin of `EntityZScoreDetector.fromJSON`. */
export function fromJSON(state: DetectorState): EntityZScoreDetector {
  return EntityZScoreDetector.fromJSON(state)
}
