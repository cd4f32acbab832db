// Empirical CDF of a stream of raw scores in bounded memory, with forgetting.
//
// A biased reservoir (Aggarwal 2006) keeps `capacity` past values, sorted. Until it is full
// every value is kept; after that each value enters with probability capacity / horizon and
// replaces a uniformly chosen resident, so a value survives about `horizon` observations and
// the reservoir is a uniform sample of a window that fades exponentially over that horizon.
// Randomness comes from a seeded `Random` whose state is saved, so a restored calibrator
// makes the same choices as the original.
//
// `cdf(x)` is the fraction of the remembered scores below x, interpolated between stored
// values (plotting position (i + 1) / (n + 1) for the i-th smallest). Tied values count as
// not below, so a detector that often outputs the same value never inflates those events.
// Above the largest stored value the tail is extrapolated as exponential (a peaks-over-
// threshold fit on the top 5%), so extreme scores still rank against each other and the
// CDF keeps rising towards 1.
import { Random, type RandomState } from '../random.ts'
import { insertSorted, lowerBound } from '../sorted.ts'

export interface ScoreCalibratorOptions {
  /** Values kept (default 4096): resolution of the CDF is about 1 / capacity. */
  readonly capacity?: number
  /** Observations a value is remembered for on average (default 100,000). */
  readonly horizon?: number
  readonly seed?: number
}

export interface ScoreCalibratorState {
  readonly type: 'score-calibrator'
  readonly capacity: number
  readonly horizon: number
  readonly observed: number
  /** Stored values, ascending. */
  readonly values: readonly number[]
  readonly random: RandomState
}

export const scoreCalibratorDefaults = { capacity: 4096, horizon: 100_000, seed: 1 } as const

/** Share of the largest stored values used to fit the exponential tail. */
const TAIL_SHARE = 0.05

export class ScoreCalibrator {
  readonly capacity: number
  readonly horizon: number
  readonly #values: Float64Array
  #size = 0
  #observed = 0
  #random: Random

  constructor(options: ScoreCalibratorOptions = {}) {
    this.capacity = options.capacity ?? scoreCalibratorDefaults.capacity
    this.horizon = options.horizon ?? scoreCalibratorDefaults.horizon
    if (!Number.isInteger(this.capacity) || this.capacity < 2)
      throw new RangeError(`ScoreCalibrator: capacity is ${this.capacity}; expected an integer ≥ 2`)
    if (!(this.horizon >= this.capacity))
      throw new RangeError(
        `ScoreCalibrator: horizon is ${this.horizon}; expected a number ≥ capacity (${this.capacity})`,
      )
    this.#values = new Float64Array(this.capacity)
    this.#random = new Random(options.seed ?? scoreCalibratorDefaults.seed)
  }

  static fromJSON(state: ScoreCalibratorState): ScoreCalibrator {
    if (state?.type !== 'score-calibrator') throw new TypeError('not a score-calibrator state')
    const calibrator = new ScoreCalibrator({ capacity: state.capacity, horizon: state.horizon })
    if (state.values.length > state.capacity)
      throw new RangeError('score-calibrator state holds more values than its capacity')
    for (let i = 0; i < state.values.length; i++) {
      const value = state.values[i]!
      if (!Number.isFinite(value) || (i > 0 && value < state.values[i - 1]!))
        throw new RangeError('score-calibrator values must be finite and ascending')
      calibrator.#values[i] = value
    }
    calibrator.#size = state.values.length
    calibrator.#observed = state.observed
    calibrator.#random = new Random(state.random)
    return calibrator
  }

  /** Values seen since creation (not all are stored). */
  get observed(): number {
    return this.#observed
  }

  /** Values currently stored. */
  get size(): number {
    return this.#size
  }

  /** Adds one raw score. Non-finite values are ignored: they carry no rank information. */
  observe(value: number): void {
    if (!Number.isFinite(value)) return
    this.#observed++
    const values = this.#values
    if (this.#size < this.capacity) {
      this.#insert(value)
      return
    }
    if (this.#random.next() >= this.capacity / this.horizon) return
    // A uniform slot of the sorted array is a uniform resident: drop it, then insert.
    const victim = this.#random.integer(0, this.#size - 1)
    values.copyWithin(victim, victim + 1, this.#size)
    this.#size--
    this.#insert(value)
  }

  /** Estimated P(raw < x) over the remembered window, in [0, 1]; 0 before any observation. */
  cdf(x: number): number {
    const n = this.#size
    if (n === 0 || Number.isNaN(x)) return 0
    const values = this.#values
    const below = lowerBound(values, n, x)
    if (below === 0) return 0
    if (below === n) {
      const top = values[n - 1]!
      if (x === top) return n / (n + 1)
      const scale = this.#tailScale()
      const tail = scale > 0 ? Math.exp(-(x - top) / scale) / (n + 1) : 0
      return 1 - tail
    }
    const low = values[below - 1]!
    const high = values[below]!
    return (below + (x - low) / (high - low)) / (n + 1)
  }

  toJSON(): ScoreCalibratorState {
    return {
      type: 'score-calibrator',
      capacity: this.capacity,
      horizon: this.horizon,
      observed: this.#observed,
      values: Array.from(this.#values.subarray(0, this.#size)),
      random: this.#random.state(),
    }
  }

  #insert(value: number): void {
    insertSorted(this.#values, this.#size, value)
    this.#size++
  }

  /** Mean excess over the threshold at the top TAIL_SHARE of stored values. */
  #tailScale(): number {
    const n = this.#size
    const k = Math.max(1, Math.min(n - 1, Math.ceil(n * TAIL_SHARE)))
    if (n < 2) return 0
    const threshold = this.#values[n - 1 - k]!
    let excess = 0
    for (let i = n - k; i < n; i++) excess += this.#values[i]! - threshold
    return excess / k
  }
}
