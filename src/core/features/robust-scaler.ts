// Robust per-feature scaling to (0, 1) for Half-Space Trees, whose splits are drawn once in a
// fixed [0, 1] range per feature.
//
// Online min–max scaling (River pairs HST with MinMaxScaler) lets one outlier decide the range
// for ever: after a value 1,000 times the usual one, every later value is squashed into the
// bottom 0.1 % of the range, where no split falls, so the trees stop separating anything. Here
// each feature is mapped by a logistic curve centred on its median, with twice its interquartile
// range as the scale:
//
//     s(x) = 1 / (1 + exp(-(x − median) / (2 · IQR)))
//
// Why twice: the trees' first splits fall in [0.15, 0.85] (15 % padding), which this curve maps
// back to median ± 3.5 IQR, about ± 4.7 standard deviations of normal data: the span min–max
// gives on clean data of a few thousand rows, so the trees resolve the tails, where anomalies
// are. With the IQR itself the splits covered only ± 2.3 standard deviations and every value
// beyond fell into the same outer cells (on the five ADBench files of bench/real-data.ts, Half-
// Space Trees' ROC-AUC at seeds 42–44 rose on every file with the wider curve).
//
// The median and the IQR come from a biased reservoir of the feature's past values (the same
// sampling as `ScoreCalibrator`: every value is kept until `capacity` are held, then each enters
// with probability capacity / horizon and replaces a random resident), so an outlier is one
// value among `capacity` and moves neither. Values beyond the usual range still keep their
// order (towards 0 or 1) instead of being clipped to the edge. A feature whose IQR is 0 (mostly
// one value) falls back to a quarter of its 1–99 % range, then of its full range; a constant
// feature maps to 0.5, and values off that constant to 0 or 1.
//
// The median and scale are recomputed at each of the first `refreshEvery` observations, every
// `refreshEvery` while the reservoir fills and every 8 × `refreshEvery` after, so the scaling
// follows slow drift without changing (or costing a sort) on every event.
import { Random, type RandomState } from '../random.ts'
import { insertSorted, replaceSorted } from '../sorted.ts'

export interface RobustScalerOptions {
  readonly dimensions: number
  /** Values remembered per feature (default 256). */
  readonly capacity?: number
  /** Observations a value is remembered for on average (default 10,000). */
  readonly horizon?: number
  /** Observations between recomputations of the medians and scales (default 32). */
  readonly refreshEvery?: number
  readonly seed?: number
}

export interface RobustScalerState {
  readonly type: 'robust-scaler'
  readonly dimensions: number
  readonly capacity: number
  readonly horizon: number
  readonly refreshEvery: number
  readonly observed: number
  /** Remembered values of each feature (unordered). */
  readonly values: readonly (readonly number[])[]
  /** The medians and scales in use (as last recomputed). */
  readonly median: readonly number[]
  readonly scale: readonly number[]
  readonly random: RandomState
}

export const robustScalerDefaults = { capacity: 256, horizon: 10_000, refreshEvery: 32, seed: 1 } as const

/** The logistic's scale in interquartile ranges (see the header). */
export const iqrPerScale = 2

export class RobustScaler {
  readonly dimensions: number
  readonly capacity: number
  readonly horizon: number
  readonly refreshEvery: number
  readonly #values: number[][]
  /** The same values of each feature, kept sorted as they change (the quantiles are read off them). */
  readonly #sorted: Float64Array[]
  readonly #median: Float64Array
  readonly #scale: Float64Array
  #observed = 0
  #random: Random

  constructor(options: RobustScalerOptions) {
    this.dimensions = options.dimensions
    this.capacity = options.capacity ?? robustScalerDefaults.capacity
    this.horizon = options.horizon ?? robustScalerDefaults.horizon
    this.refreshEvery = options.refreshEvery ?? robustScalerDefaults.refreshEvery
    if (!Number.isInteger(this.dimensions) || this.dimensions < 1)
      throw new RangeError(`RobustScaler: dimensions is ${this.dimensions}; expected an integer ≥ 1`)
    if (!Number.isInteger(this.capacity) || this.capacity < 4)
      throw new RangeError(`RobustScaler: capacity is ${this.capacity}; expected an integer ≥ 4`)
    if (!(this.horizon >= this.capacity))
      throw new RangeError(`RobustScaler: horizon is ${this.horizon}; expected a number ≥ capacity`)
    if (!Number.isInteger(this.refreshEvery) || this.refreshEvery < 1)
      throw new RangeError(`RobustScaler: refreshEvery is ${this.refreshEvery}; expected an integer ≥ 1`)
    this.#values = Array.from({ length: this.dimensions }, () => [])
    this.#sorted = Array.from({ length: this.dimensions }, () => new Float64Array(this.capacity))
    this.#median = new Float64Array(this.dimensions)
    this.#scale = new Float64Array(this.dimensions)
    this.#random = new Random(options.seed ?? robustScalerDefaults.seed)
  }

  static fromJSON(state: RobustScalerState): RobustScaler {
    if (state?.type !== 'robust-scaler') throw new TypeError('not a robust-scaler state')
    const scaler = new RobustScaler({
      dimensions: state.dimensions,
      capacity: state.capacity,
      horizon: state.horizon,
      refreshEvery: state.refreshEvery,
    })
    if (state.values.length !== state.dimensions) throw new RangeError('robust-scaler state has the wrong dimensions')
    state.values.forEach((values, f) => {
      if (values.length > state.capacity)
        throw new RangeError('robust-scaler state holds more values than its capacity')
      scaler.#values[f] = values.map(Number)
      scaler.#sorted[f]!.set(Float64Array.from(scaler.#values[f]!).sort())
    })
    scaler.#observed = state.observed
    scaler.#random = new Random(state.random)
    if (state.median?.length === state.dimensions && state.scale?.length === state.dimensions) {
      scaler.#median.set(state.median)
      scaler.#scale.set(state.scale)
    } else scaler.#refresh()
    return scaler
  }

  get observed(): number {
    return this.#observed
  }

  /** The scaled vector, each value in [0, 1]. Reads the state only. */
  transform(x: ArrayLike<number>, out: Float64Array): Float64Array {
    for (let f = 0; f < this.dimensions; f++) {
      const value = x[f]!
      const median = this.#median[f]!
      const scale = this.#scale[f]!
      if (Number.isNaN(value)) out[f] = 0.5
      else if (scale > 0) out[f] = 1 / (1 + Math.exp(-(value - median) / scale))
      else out[f] = value === median ? 0.5 : value > median ? 1 : 0
    }
    return out
  }

  /** Adds one vector to the reservoirs. Non-finite values are not remembered. */
  observe(x: ArrayLike<number>): void {
    this.#observed++
    const full = this.#values[0]!.length >= this.capacity
    // One draw per vector, so all features keep values of the same events.
    const enter = !full || this.#random.next() < this.capacity / this.horizon
    const slot = full && enter ? this.#random.integer(0, this.capacity - 1) : -1
    if (enter) {
      for (let f = 0; f < this.dimensions; f++) {
        const value = x[f]!
        const values = this.#values[f]!
        const stored = Number.isFinite(value) ? value : (values[values.length - 1] ?? 0)
        if (slot < 0) {
          insertSorted(this.#sorted[f]!, values.length, stored)
          values.push(stored)
        } else {
          replaceSorted(this.#sorted[f]!, values.length, values[slot]!, stored)
          values[slot] = stored
        }
      }
    }
    // while the reservoir fills, often; once full it changes slowly (capacity / horizon of the
    // events enter), so every 8 × refreshEvery is enough
    const n = this.#observed
    const every = n <= this.capacity ? this.refreshEvery : 8 * this.refreshEvery
    if (n <= this.refreshEvery || n % every === 0) this.#refresh()
  }

  toJSON(): RobustScalerState {
    return {
      type: 'robust-scaler',
      dimensions: this.dimensions,
      capacity: this.capacity,
      horizon: this.horizon,
      refreshEvery: this.refreshEvery,
      observed: this.#observed,
      values: this.#values.map((values) => [...values]),
      median: Array.from(this.#median),
      scale: Array.from(this.#scale),
      random: this.#random.state(),
    }
  }

  #refresh(): void {
    for (let f = 0; f < this.dimensions; f++) {
      const sorted = this.#sorted[f]!
      const n = this.#values[f]!.length
      if (n === 0) continue
      const q = (p: number) => sorted[Math.floor(p * (n - 1))]!
      this.#median[f] = q(0.5)
      let scale = q(0.75) - q(0.25)
      if (!(scale > 0)) scale = (q(0.99) - q(0.01)) / 4
      if (!(scale > 0)) scale = (sorted[n - 1]! - sorted[0]!) / 4
      this.#scale[f] = scale > 0 && Number.isFinite(scale) ? iqrPerScale * scale : 0
    }
  }
}
