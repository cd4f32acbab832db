/**
 * A concept-drift detector: `update(value)` once per observation, then read `drift` and
 * `warning` for that observation. Binary detectors (DDM) take 0/1 errors; numeric ones
 * (ADWIN, Page-Hinkley) take real values. State serialises with `toJSON()`.
 */
export interface DriftDetector<Input extends number | boolean = number> {
  readonly name: string
  update(value: Input): void
  readonly drift: boolean
  readonly warning: boolean
  /** A fresh snapshot of the evidence behind `drift` / `warning`. */
  readonly statistic: DriftStatistic
  reset(): void
  toJSON(): { readonly type: string; readonly [field: string]: unknown }
}

export type BinaryDriftDetector = DriftDetector<boolean>
export type NumericDriftDetector = DriftDetector<number>

/**
 * Numbers describing a detector's current evidence (window width, means, cumulative sums),
 * attached to drift events so a reader can see why the detector fired.
 */
export type DriftStatistic = Readonly<Record<string, number>>
