// Counts of one entity's events in two sliding event-time windows, with bounded, compact,
// plain-JSON state:
//
// - the short window (default: the last 60 s) is exact: it keeps the times of the entity's
//   most recent events, at most `shortCapacity` of them, and counts those in (t − shortMs, t].
//   An event exactly `shortMs` before t is outside. Beyond `shortCapacity` events inside one
//   window the count saturates at `shortCapacity` (64 by default, far above any velocity rule).
// - the long window (default: the last hour) is a ring of per-bucket counts (default: 60
//   one-minute buckets). "The last hour at t" is the bucket holding t plus the 59 buckets
//   before it, so it spans between 59 and 60 minutes depending on where t falls in its minute.
//
// Out-of-order events: state follows the newest event time seen (`latest`). A late event is
// counted in its bucket if that bucket is still one of the `buckets` newest, and kept in the
// short ring if it is within `shortMs` of `latest`; otherwise it is dropped (no later query at
// or after `latest` can see it). A late event's own counts are taken at its own time: the short
// count excludes events after it; the long count is bucket-granular, so it includes later events
// in its own bucket. The event being observed always counts itself, even when too late to keep.

export interface WindowConfig {
  /** Length of the exact short window, ms. */
  readonly shortMs: number
  /** Most event times kept for the short window. */
  readonly shortCapacity: number
  /** Width of one long-window bucket, ms. */
  readonly bucketMs: number
  /** Number of buckets in the long window. */
  readonly buckets: number
}

export const minuteAndHour: WindowConfig = Object.freeze({
  shortMs: 60_000,
  shortCapacity: 64,
  bucketMs: 60_000,
  buckets: 60,
})

export interface EventTimeWindowState {
  /** Newest event time seen, ms since epoch. */
  readonly latest: number
  /** Ages (latest − event time, ms) of the events within `shortMs` of `latest`, oldest first. */
  readonly ages: readonly number[]
  /**
   * Event counts per bucket, oldest first; the last is the bucket holding `latest`
   * (id `floor(latest / bucketMs)`), the one before it the bucket before, and so on.
   * At most `buckets` long; shorter when the entity is younger or quiet.
   */
  readonly counts: readonly number[]
}

export interface WindowStats {
  /** Events in (t − shortMs, t], saturating at shortCapacity. */
  shortCount: number
  /** Events in the `buckets` buckets ending with t's bucket. */
  longCount: number
}

export interface WindowObservation extends WindowStats {
  next: EventTimeWindowState
}

/** Counts at time `t` over the state as it is (nothing is added). */
export function windowStats(
  state: EventTimeWindowState | undefined,
  t: number,
  config: WindowConfig = minuteAndHour,
): WindowStats {
  if (state === undefined) return { shortCount: 0, longCount: 0 }
  // an event at age a happened at latest − a; inside (t − shortMs, t] ⇔ latest − t ≤ a < latest − t + shortMs
  const minAge = state.latest - t
  const maxAge = minAge + config.shortMs
  let shortCount = 0
  const ages = state.ages
  for (let i = ages.length - 1; i >= 0; i--) {
    const age = ages[i]!
    if (age >= maxAge) break
    if (age >= minAge) shortCount++
  }
  // bucket of t, as a position in `counts` (last = bucket of latest)
  const counts = state.counts
  const tAt = counts.length - 1 - (Math.floor(state.latest / config.bucketMs) - Math.floor(t / config.bucketMs))
  let longCount = 0
  for (let i = Math.max(0, tAt - config.buckets + 1); i <= tAt && i < counts.length; i++) longCount += counts[i]!
  return { shortCount: Math.min(shortCount, config.shortCapacity), longCount }
}

/** Adds an event at time `t` and returns the counts at `t`, this event included. Input not changed. */
export function windowObserve(
  state: EventTimeWindowState | undefined,
  t: number,
  config: WindowConfig = minuteAndHour,
): WindowObservation {
  if (state === undefined) {
    const next = { latest: t, ages: [0], counts: [1] }
    return { next, shortCount: 1, longCount: 1 }
  }
  const latest = Math.max(state.latest, t)
  const ages = shortRing(state, t, latest, config)
  const counts = bucketRing(state.counts, state.latest, t, latest, config)
  const next: EventTimeWindowState = { latest, ages, counts }
  const stats = windowStats(next, t, config)
  // an event too late to keep still counts itself
  const keptShort = latest - t < config.shortMs && ages.length > 0 && latest - t <= ages[0]!
  if (!keptShort) stats.shortCount = Math.min(stats.shortCount + 1, config.shortCapacity)
  const bucketsBehind = Math.floor(latest / config.bucketMs) - Math.floor(t / config.bucketMs)
  if (bucketsBehind >= config.buckets) stats.longCount += 1
  return { next, ...stats }
}

function shortRing(state: EventTimeWindowState, t: number, latest: number, config: WindowConfig): number[] {
  const shift = latest - state.latest
  const age = latest - t
  const old = state.ages
  const ages: number[] = []
  let inserted = age >= config.shortMs
  for (let i = 0; i < old.length; i++) {
    const shifted = old[i]! + shift
    if (!inserted && age > shifted) {
      ages.push(age)
      inserted = true
    }
    if (shifted < config.shortMs) ages.push(shifted)
  }
  if (!inserted) ages.push(age)
  if (ages.length > config.shortCapacity) ages.splice(0, ages.length - config.shortCapacity)
  return ages
}

function bucketRing(
  old: readonly number[],
  oldLatest: number,
  t: number,
  latest: number,
  config: WindowConfig,
): number[] {
  const oldHead = Math.floor(oldLatest / config.bucketMs)
  const head = Math.floor(latest / config.bucketMs)
  const advance = head - oldHead
  let counts: number[]
  if (advance >= config.buckets) counts = []
  else {
    counts = old.slice(Math.max(0, old.length + advance - config.buckets))
    for (let i = 0; i < advance; i++) counts.push(0)
  }
  const behind = head - Math.floor(t / config.bucketMs)
  if (behind >= config.buckets) return counts
  if (behind >= counts.length) {
    // late into buckets older than any kept: pad in front
    const padding: number[] = new Array(behind - counts.length + 1).fill(0)
    counts = padding.concat(counts)
  }
  counts[counts.length - 1 - behind]! += 1
  // leading empty buckets carry no information (positions count from the end)
  let first = 0
  while (first < counts.length - 1 && counts[first] === 0) first++
  return first === 0 ? counts : counts.slice(first)
}
