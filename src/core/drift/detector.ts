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
  reset(): void
  toJSON(): { readonly type: string; readonly [field: string]: unknown }
}

export type BinaryDriftDetector = DriftDetector<boolean>
export type NumericDriftDetector = DriftDetector<number>
