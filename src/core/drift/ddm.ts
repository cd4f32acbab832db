// DDM, the Drift Detection Method (Gama, Medas, Castillo & Rodrigues, SBIA 2004).
//
// Input is a stream of prediction errors (true = the model was wrong). While the concept is
// stable the running error rate p and its binomial deviation s = sqrt(p(1-p)/n) shrink, so
// DDM remembers where p + s was lowest and signals a warning when p + s exceeds
// p_min + 2·s_min and a drift at p_min + 3·s_min. Semantics, defaults and arithmetic order
// follow River's `drift.binary.DDM` so detection indices match it exactly: nothing is
// signalled until more than `warmStart` errors are seen, and the state is cleared on the
// update after a drift.
//
// One deliberate option beyond River: `minErrors`. After an error-free start, p and s are 0, so
// River's minimum is p_min = s_min = 0 and the first error is a drift, however rare errors are
// (a scorer wrong once in a thousand events would "drift" on its first mistake). With
// `minErrors` > 0 the minimum is tracked, and so a warning or drift signalled, only once that
// many errors have been seen since the reset. The default, 0, is River's behaviour.
import type { BinaryDriftDetector, DriftStatistic } from './detector.ts'
import { checkFinite, checkInteger, invalidOption, SavedState, storeNumber } from './state.ts'

export interface DdmOptions {
  /** Observations before a warning or drift can be signalled (River `warm_start`). */
  readonly warmStart?: number
  /** Deviations above the minimum for a warning (≈95% confidence). */
  readonly warningThreshold?: number
  /** Deviations above the minimum for a drift (≈99% confidence). */
  readonly driftThreshold?: number
  /** Errors to see since the reset before the minimum is tracked (0: River's DDM). */
  readonly minErrors?: number
}

export const ddmDefaults = { warmStart: 30, warningThreshold: 2, driftThreshold: 3, minErrors: 0 } as const

export type DdmState = {
  readonly type: 'ddm'
  readonly options: Required<DdmOptions>
  readonly n: number
  readonly errorRate: number
  /** null until the warm start is over (River's `None`). */
  readonly pMin: number | null
  readonly sMin: number | null
  readonly psMin: number | null
  readonly drift: boolean
  readonly warning: boolean
}

export class DDM implements BinaryDriftDetector {
  readonly name = 'ddm'
  readonly warmStart: number
  readonly warningThreshold: number
  readonly driftThreshold: number
  readonly minErrors: number

  #n = 0
  /** Running error rate, updated as River's `stats.Mean` does. */
  #p = 0
  #s = 0
  #pMin = Number.NaN
  #sMin = Number.NaN
  #psMin = Number.POSITIVE_INFINITY
  #drift = false
  #warning = false

  constructor(options: DdmOptions = {}) {
    this.warmStart = checkInteger('DDM', 'warmStart', options.warmStart ?? ddmDefaults.warmStart, 0)
    this.warningThreshold = checkFinite(
      'DDM',
      'warningThreshold',
      options.warningThreshold ?? ddmDefaults.warningThreshold,
      0,
      true,
    )
    this.driftThreshold = checkFinite(
      'DDM',
      'driftThreshold',
      options.driftThreshold ?? ddmDefaults.driftThreshold,
      0,
      true,
    )
    this.minErrors = checkInteger('DDM', 'minErrors', options.minErrors ?? ddmDefaults.minErrors, 0)
    if (this.driftThreshold < this.warningThreshold)
      throw invalidOption('DDM', 'driftThreshold', this.driftThreshold, `≥ warningThreshold (${this.warningThreshold})`)
  }

  get drift(): boolean {
    return this.#drift
  }

  get warning(): boolean {
    return this.#warning
  }

  /** Observations since the last reset. */
  get count(): number {
    return this.#n
  }

  /** Error rate since the last reset. */
  get errorRate(): number {
    return this.#p
  }

  /**
   * `pPlusS` is the quantity tested; it is compared with `pMin + threshold · sMin`. `level`
   * is how many `sMin` the current p + s sits above `pMin` (NaN before the warm start ends).
   */
  get statistic(): DriftStatistic {
    const pPlusS = this.#p + this.#s
    return {
      n: this.#n,
      errorRate: this.#p,
      std: this.#s,
      pPlusS,
      pMin: this.#pMin,
      sMin: this.#sMin,
      psMin: this.#psMin,
      warningLevel: this.#pMin + this.warningThreshold * this.#sMin,
      driftLevel: this.#pMin + this.driftThreshold * this.#sMin,
      level: (pPlusS - this.#pMin) / this.#sMin,
    }
  }

  update(error: boolean): void {
    if (this.#drift) this.reset()
    this.#n += 1
    this.#p += (1 / this.#n) * ((error ? 1 : 0) - this.#p)
    const p = this.#p
    const s = Math.sqrt((p * (1 - p)) / this.#n)
    this.#s = s
    if (this.#n <= this.warmStart || Math.round(p * this.#n) < this.minErrors) return

    if (p + s <= this.#psMin) {
      this.#pMin = p
      this.#sMin = s
      this.#psMin = p + s
    }
    this.#drift = p + s > this.#pMin + this.driftThreshold * this.#sMin
    this.#warning = !this.#drift && p + s > this.#pMin + this.warningThreshold * this.#sMin
  }

  reset(): void {
    this.#n = 0
    this.#p = 0
    this.#s = 0
    this.#pMin = Number.NaN
    this.#sMin = Number.NaN
    this.#psMin = Number.POSITIVE_INFINITY
    this.#drift = false
    this.#warning = false
  }

  toJSON(): DdmState {
    const started = !Number.isNaN(this.#pMin)
    return {
      type: 'ddm',
      options: {
        warmStart: this.warmStart,
        warningThreshold: this.warningThreshold,
        driftThreshold: this.driftThreshold,
        minErrors: this.minErrors,
      },
      n: this.#n,
      errorRate: this.#p,
      pMin: started ? this.#pMin : null,
      sMin: started ? this.#sMin : null,
      psMin: storeNumber(this.#psMin),
      drift: this.#drift,
      warning: this.#warning,
    }
  }

  static fromJSON(json: unknown): DDM {
    const saved = new SavedState(json, 'ddm')
    const options = saved.object('options')
    const detector = new DDM({
      warmStart: options.number('warmStart'),
      warningThreshold: options.number('warningThreshold'),
      driftThreshold: options.number('driftThreshold'),
      minErrors: options.numberAddedLater('minErrors', ddmDefaults.minErrors),
    })
    const n = saved.number('n')
    const p = saved.number('errorRate')
    if (!Number.isInteger(n) || n < 0) throw saved.fail('n', n, 'a non-negative integer')
    if (p < 0 || p > 1) throw saved.fail('errorRate', p, 'a rate in [0, 1]')
    detector.#n = n
    detector.#p = p
    detector.#s = n === 0 ? 0 : Math.sqrt((p * (1 - p)) / n)
    detector.#pMin = saved.numberOr('pMin', Number.NaN)
    detector.#sMin = saved.numberOr('sMin', Number.NaN)
    detector.#psMin = saved.numberOr('psMin', Number.POSITIVE_INFINITY)
    detector.#drift = saved.boolean('drift')
    detector.#warning = saved.boolean('warning')
    return detector
  }
}
