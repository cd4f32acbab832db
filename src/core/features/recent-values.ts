// The entity's last few values (default 32) and robust statistics over them: median, MAD
// and a robust z-score. Exact over the window, bounded state (a plain array), and cheap at
// this size (an insertion sort of ≤ 32 numbers in a reused buffer). Written here because no shared
// streaming median/MAD existed in core/anomaly when the extractors needed one.

import { clippedZ } from './welford.ts'

/**
 * Oldest first, at most `capacity` values, each stored as `Math.round(x / quantum)`: with a
 * quantum of 0.01 an amount is kept in whole cents, exact for currency amounts, and integers
 * serialise to JSON several times faster than fractional doubles (measured: the changelog
 * write was dominated by formatting 32 fractional amounts). z-scores do not depend on the unit.
 */
export type RecentValuesState = readonly number[]

/** Quantum for currency amounts: whole cents. */
export const centsQuantum = 0.01

export const defaultRecentCapacity = 32

/** Fewer values than this give a robust z-score of 0: too few to tell spread from noise. */
export const minRobustSamples = 5

/** 1 / Φ⁻¹(3/4): makes the MAD a consistent estimate of the standard deviation for normal data. */
const madToStd = 1.4826
/** √(π/2): the same for the mean absolute deviation (the fallback when the MAD is 0). */
const meanAdToStd = 1.2533141373155003

let scratch = new Float64Array(64)

/**
 * The values with `x` appended (as `Math.round(x / quantum)`; pass quantum 0 to keep `x` as it
 * is), the oldest dropped beyond `capacity`. The input is not changed.
 */
export function recentPush(
  state: RecentValuesState | undefined,
  x: number,
  quantum: number,
  capacity: number = defaultRecentCapacity,
): number[] {
  const old = state ?? []
  const from = old.length >= capacity ? old.length - capacity + 1 : 0
  const next = old.slice(from)
  next.push(quantum > 0 ? Math.round(x / quantum) : x)
  return next
}

export interface RobustLocation {
  median: number
  /** Robust estimate of the standard deviation: 1.4826 × MAD, or 1.2533 × mean absolute deviation when the MAD is 0. */
  scale: number
}

/** Median and robust scale of the stored values (in stored units); both 0 for no values. */
export function robustLocation(values: RecentValuesState): RobustLocation {
  const n = values.length
  if (n === 0) return { median: 0, scale: 0 }
  if (scratch.length < n) scratch = new Float64Array(Math.max(n, scratch.length * 2))
  const a = scratch
  // insertion sort: faster than a library sort at these sizes, no allocation
  for (let i = 0; i < n; i++) {
    const x = values[i]!
    let j = i - 1
    while (j >= 0 && a[j]! > x) {
      a[j + 1] = a[j]!
      j--
    }
    a[j + 1] = x
  }
  const half = n >> 1
  const median = n % 2 === 1 ? a[half]! : (a[half - 1]! + a[half]!) / 2
  // |a[i] − median| grows walking left from half − 1 and right from half: merge the two runs
  // up to the middle rank to get the MAD without a second sort
  let left = half - 1
  let right = half
  let previous = 0
  let mad = 0
  for (let rank = 0; rank <= half; rank++) {
    let deviation: number
    if (right >= n || (left >= 0 && median - a[left]! <= a[right]! - median)) deviation = median - a[left--]!
    else deviation = a[right++]! - median
    if (rank === half) mad = n % 2 === 1 ? deviation : (previous + deviation) / 2
    previous = deviation
  }
  let scale = madToStd * mad
  if (!(scale > 0)) {
    let absoluteSum = 0
    for (let i = 0; i < n; i++) absoluteSum += Math.abs(a[i]! - median)
    scale = (meanAdToStd * absoluteSum) / n
  }
  return { median, scale }
}

/**
 * How far `x` lies from the median of the values, in robust standard deviations, clipped to
 * ±zScoreLimit. 0 with fewer than `minRobustSamples` values. `quantum` is the one the values
 * were pushed with.
 */
export function robustZScore(values: RecentValuesState | undefined, x: number, quantum: number): number {
  if (values === undefined || values.length < minRobustSamples) return 0
  const { median, scale } = robustLocation(values)
  return clippedZ((quantum > 0 ? x / quantum : x) - median, scale, median)
}
