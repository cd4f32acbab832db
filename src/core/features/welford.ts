// Running mean and variance (Welford, 1962): one pass, numerically stable, three numbers of
// state. Plain JSON so it can live in an entity's changelog record.

export interface WelfordState {
  /** Number of values seen. */
  readonly n: number
  readonly mean: number
  /** Sum of squared deviations from the mean. */
  readonly m2: number
}

export const emptyWelford: WelfordState = Object.freeze({ n: 0, mean: 0, m2: 0 })

/**
 * z-scores and ratios are clipped to ±this: a value that is 50 standard deviations out is
 * already as anomalous as a feature can say, and a bound keeps degenerate histories (zero
 * variance after two equal amounts) from producing huge numbers.
 */
export const zScoreLimit = 50

/** The state after also seeing `x`; the input state is not changed. */
export function welfordUpdate(state: WelfordState | undefined, x: number): WelfordState {
  const s = state ?? emptyWelford
  const n = s.n + 1
  const delta = x - s.mean
  const mean = s.mean + delta / n
  return { n, mean, m2: s.m2 + delta * (x - mean) }
}

/** Sample variance (n − 1 in the denominator); 0 with fewer than two values. */
export function welfordVariance(state: WelfordState): number {
  return state.n < 2 ? 0 : Math.max(0, state.m2 / (state.n - 1))
}

export function welfordStd(state: WelfordState): number {
  return Math.sqrt(welfordVariance(state))
}

/**
 * How many standard deviations `x` lies from the mean of the values seen so far, clipped to
 * ±zScoreLimit. 0 while fewer than two values have been seen (no spread to measure yet).
 * With zero spread, `x` equal to the mean scores 0 and anything else scores ±zScoreLimit.
 */
export function welfordZScore(state: WelfordState | undefined, x: number): number {
  if (state === undefined || state.n < 2) return 0
  return clippedZ(x - state.mean, welfordStd(state), state.mean)
}

/** `deviation / scale` clipped to ±zScoreLimit, with a tiny scale floor relative to `level`. */
export function clippedZ(deviation: number, scale: number, level: number): number {
  const floor = 1e-12 * Math.max(1, Math.abs(level))
  if (!(scale > floor)) {
    if (deviation === 0) return 0
    return deviation > 0 ? zScoreLimit : -zScoreLimit
  }
  const z = deviation / scale
  return Math.max(-zScoreLimit, Math.min(zScoreLimit, z))
}
