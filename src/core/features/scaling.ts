// Bounded transforms of amounts: finite for every finite input, so no feature is ever NaN or
// Infinity, whatever an entity's history looks like.

/** Ratios to an average are clipped here (an amount 1,000 times the usual is already extreme). */
export const ratioLimit = 1000

/** log(1 + |x|) with the sign of x: compresses amounts spanning orders of magnitude, 0 at 0. */
export function signedLog1p(x: number): number {
  return x < 0 ? -Math.log1p(-x) : Math.log1p(x)
}

/**
 * x / average, clipped to [−ratioLimit, ratioLimit]. 1 when there is no history yet (count 0:
 * the first amount is taken as typical); with a zero average, 1 for a zero x and the limit
 * (with x's sign) otherwise.
 */
export function ratioToAverage(x: number, average: number, count: number): number {
  if (count === 0) return 1
  if (average === 0) return x === 0 ? 1 : x > 0 ? ratioLimit : -ratioLimit
  const ratio = x / average
  return ratio > ratioLimit ? ratioLimit : ratio < -ratioLimit ? -ratioLimit : Number.isNaN(ratio) ? 1 : ratio
}

/** 1 or 0. */
export function flag(value: boolean): number {
  return value ? 1 : 0
}
