// Page-Hinkley test (Page 1954), the CUSUM of deviations from the running mean.
//
// Two fading cumulative sums track deviations x - mean less (increase) or plus (decrease) a
// tolerance delta; a drift is the sum moving more than `threshold` away from its extreme.
// Semantics, defaults and arithmetic order follow River's `drift.PageHinkley`, including
// its quirks: the decrease maximum starts at -1 rather than -Infinity, tests start once
// `minInstances` values are seen, and the state is cleared on the update after a drift.
// Page-Hinkley has no warning zone.
import type { DriftStatistic, NumericDriftDetector } from './detector.ts'
import { checkFinite, checkInteger, invalidOption, nonFiniteInput, SavedState, storeNumber } from './state.ts'

export const PageHinkleyModes = { both: 'both', up: 'up', down: 'down' } as const
export type PageHinkleyMode = (typeof PageHinkleyModes)[keyof typeof PageHinkleyModes]

export interface PageHinkleyOptions {
  /** Values seen before a drift can be signalled. */
  readonly minInstances?: number
  /** Tolerated deviation from the mean per observation. */
  readonly delta?: number
  /** Cumulative deviation that signals a drift (lambda). */
  readonly threshold?: number
  /** Fading factor applied to the cumulative sums each step. */
  readonly alpha?: number
  /** Watch for increases of the mean, decreases, or both. */
  readonly mode?: PageHinkleyMode
}

export const pageHinkleyDefaults = {
  minInstances: 30,
  delta: 0.005,
  threshold: 50,
  alpha: 1 - 0.0001,
  mode: PageHinkleyModes.both,
} as const

export type PageHinkleyState = {
  readonly type: 'page-hinkley'
  readonly options: Required<PageHinkleyOptions>
  readonly n: number
  readonly mean: number
  readonly sumIncrease: number
  readonly sumDecrease: number
  /** null before the first update (Infinity in memory). */
  readonly minIncrease: number | null
  readonly maxDecrease: number
  readonly drift: boolean
}

const modes = new Set<string>(Object.values(PageHinkleyModes))

export class PageHinkley implements NumericDriftDetector {
  readonly name = 'page-hinkley'
  readonly minInstances: number
  readonly delta: number
  readonly threshold: number
  readonly alpha: number
  readonly mode: PageHinkleyMode
  readonly #watchUp: boolean
  readonly #watchDown: boolean

  #n = 0
  #mean = 0
  #sumIncrease = 0
  #sumDecrease = 0
  #minIncrease = Number.POSITIVE_INFINITY
  #maxDecrease = -1
  #drift = false

  constructor(options: PageHinkleyOptions = {}) {
    const defaults = pageHinkleyDefaults
    this.minInstances = checkInteger('PageHinkley', 'minInstances', options.minInstances ?? defaults.minInstances, 1)
    this.delta = checkFinite('PageHinkley', 'delta', options.delta ?? defaults.delta, 0)
    this.threshold = checkFinite('PageHinkley', 'threshold', options.threshold ?? defaults.threshold, 0, true)
    this.alpha = checkFinite('PageHinkley', 'alpha', options.alpha ?? defaults.alpha, 0, true)
    if (this.alpha > 1) throw invalidOption('PageHinkley', 'alpha', this.alpha, 'a number in (0, 1]')
    const mode = options.mode ?? defaults.mode
    if (!modes.has(mode)) throw invalidOption('PageHinkley', 'mode', mode, `one of ${[...modes].join(', ')}`)
    this.mode = mode
    this.#watchUp = mode !== PageHinkleyModes.down
    this.#watchDown = mode !== PageHinkleyModes.up
  }

  get drift(): boolean {
    return this.#drift
  }

  /** Page-Hinkley defines no warning zone. */
  get warning(): boolean {
    return false
  }

  /**
   * `increase` and `decrease` are the two test statistics compared with `threshold`: how far
   * each cumulative sum has moved from its extreme.
   */
  get statistic(): DriftStatistic {
    return {
      n: this.#n,
      mean: this.#mean,
      sumIncrease: this.#sumIncrease,
      sumDecrease: this.#sumDecrease,
      increase: this.#sumIncrease - this.#minIncrease,
      decrease: this.#maxDecrease - this.#sumDecrease,
      threshold: this.threshold,
    }
  }

  update(value: number): void {
    if (!Number.isFinite(value)) throw nonFiniteInput('PageHinkley', value)
    if (this.#drift) this.reset()

    this.#n += 1
    this.#mean += (1 / this.#n) * (value - this.#mean)
    const deviation = value - this.#mean
    this.#sumIncrease = this.alpha * this.#sumIncrease + deviation - this.delta
    this.#sumDecrease = this.alpha * this.#sumDecrease + deviation + this.delta
    if (this.#sumIncrease < this.#minIncrease) this.#minIncrease = this.#sumIncrease
    if (this.#sumDecrease > this.#maxDecrease) this.#maxDecrease = this.#sumDecrease

    if (this.#n >= this.minInstances) {
      this.#drift =
        (this.#watchUp && this.#sumIncrease - this.#minIncrease > this.threshold) ||
        (this.#watchDown && this.#maxDecrease - this.#sumDecrease > this.threshold)
    }
  }

  reset(): void {
    this.#n = 0
    this.#mean = 0
    this.#sumIncrease = 0
    this.#sumDecrease = 0
    this.#minIncrease = Number.POSITIVE_INFINITY
    this.#maxDecrease = -1
    this.#drift = false
  }

  toJSON(): PageHinkleyState {
    return {
      type: 'page-hinkley',
      options: {
        minInstances: this.minInstances,
        delta: this.delta,
        threshold: this.threshold,
        alpha: this.alpha,
        mode: this.mode,
      },
      n: this.#n,
      mean: this.#mean,
      sumIncrease: this.#sumIncrease,
      sumDecrease: this.#sumDecrease,
      minIncrease: storeNumber(this.#minIncrease),
      maxDecrease: this.#maxDecrease,
      drift: this.#drift,
    }
  }

  static fromJSON(json: unknown): PageHinkley {
    const saved = new SavedState(json, 'page-hinkley')
    const options = saved.object('options')
    const mode = options.string('mode')
    if (!modes.has(mode)) throw options.fail('options.mode', mode, [...modes].join(' | '))
    const detector = new PageHinkley({
      minInstances: options.number('minInstances'),
      delta: options.number('delta'),
      threshold: options.number('threshold'),
      alpha: options.number('alpha'),
      mode: mode as PageHinkleyMode,
    })
    const n = saved.number('n')
    if (!Number.isInteger(n) || n < 0) throw saved.fail('n', n, 'a non-negative integer')
    detector.#n = n
    detector.#mean = saved.number('mean')
    detector.#sumIncrease = saved.number('sumIncrease')
    detector.#sumDecrease = saved.number('sumDecrease')
    detector.#minIncrease = saved.numberOr('minIncrease', Number.POSITIVE_INFINITY)
    detector.#maxDecrease = saved.number('maxDecrease')
    detector.#drift = saved.boolean('drift')
    return detector
  }
}
