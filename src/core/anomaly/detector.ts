/**
 * An anomaly detector over fixed-length numeric feature vectors.
 *
 * - `score(x)` is higher for more anomalous `x`; each detector documents its range.
 *   It never changes the detector's state.
 * - `learn(x)` updates the model (a no-op for detectors trained offline).
 * - `toJSON()` captures everything needed to rebuild an identical detector with the
 *   matching `fromJSON` of its module; thresholds live outside the detector.
 */
export interface Detector {
  readonly name: string
  learn(x: Float64Array): void
  score(x: Float64Array): number
  toJSON(): DetectorState
}

export interface DetectorState {
  readonly type: string
  readonly [field: string]: unknown
}

/** One feature's share of an explanation. */
export interface Contribution {
  feature: string
  weight: number
}
