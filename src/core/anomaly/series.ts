// Streaming anomaly detector for one univariate time series (`timestamp, value`).
//
// Every point is scored against the points before it, then learned: the detector is causal,
// one pass, and its memory is bounded whatever the length of the series. One configuration
// serves every series; nothing depends on the scale of the values.
//
// The evidence is the *return period* of a few statistics of the series: how many points ago
// something at least as extreme was seen. A value more extreme than anything in the series'
// whole history (a record), by a clear margin of its past range, is an alarm. The statistics:
//
// - value:   the value itself (spikes and dips beyond anything seen);
// - level:   the mean of the last 4 and of the last 16 values, and the median of the last 64
//            (a shift of the level that no single point reveals, in noisy series; the median
//            is not moved by spikes, so a sustained rise shows even after higher spikes);
// - season:  the value minus its time-of-day profile (a peak-sized value at a trough, a day
//            that breaks the daily pattern), used only where the profile explains most of the
//            series' variation;
// - stuck:   the length of a run of (near-)repeated values, five times longer than the longest
//            run seen before (a stuck sensor in a series that moves; integer counts that often
//            repeat have long runs already, so they do not look stuck).
//
// Records adapt by themselves: after a level shift the new level is the new extreme, so a
// shift alarms at its onset and not for ever after. The statistics of one event (a spike is
// also a record of the 4-mean, then of the 16-mean) alarm once: for 16 points after an alarm,
// or after a value more extreme than the whole history (even within the margin), further
// records are the same event and score low; only a new alarm of the value itself breaks
// through the hold of a mere extreme.
//
// Scores are in [0, 1) and ordered, never clipped:
// - an alarm scores in (0.999, 1), higher the further it goes beyond the past range;
// - a value more extreme than at least 90% of the history (its return period) scores in
//   [0.9, 0.99], by that share;
// - a value far from the median of the last 64 (beyond 3 robust standard deviations, the
//   scale floored by the long-run mean absolute change) scores in [0.5, 0.9): a spike no
//   bigger than earlier ones is not novel, so not an alarm, but it outranks ordinary points;
// - any other point scores below 0.5, by its return period;
// - a record within the hold of an earlier event scores below 0.1.

/** Settings; there are none to tune per series: the options exist for tests. */
export interface SeriesDetectorOptions {
  /** Entries kept per return-period stack (bounds memory; older extremes count as "long ago"). */
  readonly stackLength?: number
}

/** Why a point scored as it did: each statistic's own score in [0, 1). */
export interface SeriesScoreComponents {
  /** The value against every earlier value. */
  readonly value: number
  /** The mean of the last 4 or 16 values, or the median of the last 64, against earlier ones. */
  readonly level: number
  /** The value minus its time-of-day profile against earlier such residuals. */
  readonly season: number
  /** A run of repeated values against the longest earlier run. */
  readonly stuck: number
}

/** A statistic's extremes: its range, and the points that are the latest at least-as-extreme ones. */
export interface ExtremesState {
  readonly count: number
  readonly min: number
  readonly max: number
  /** Decreasing values (and their point numbers) from the oldest to the newest: the upper side. */
  readonly upper: number[]
  readonly upperAt: number[]
  readonly lower: number[]
  readonly lowerAt: number[]
  /** Point number of the newest entry dropped from the bottom of a full stack (−1 if none). */
  readonly upperDropped: number
  readonly lowerDropped: number
}

export interface SeriesDetectorState {
  readonly type: 'series'
  readonly version: 2
  readonly stackLength: number
  readonly count: number
  readonly recent: number[]
  readonly value: ExtremesState
  readonly means: ExtremesState[]
  readonly residual: ExtremesState
  readonly firstMs: number
  readonly profile: number[]
  readonly profileSeen: number[]
  readonly level: number
  readonly deviation: number
  readonly residualDeviation: number
  readonly previous: number
  readonly meanChange: number
  readonly run: number
  readonly longestRun: number
  readonly changes: number
  readonly runAlarmed: boolean
  readonly lastAlarm: number
  readonly lastRecord: number
  readonly components: SeriesScoreComponents
}

/**
 * The level statistics (the value itself is the window of 1): short means, and a median over a
 * longer window, which the spikes of a spiky series do not move, so a sustained rise of the
 * level shows even when earlier spikes went higher.
 */
const LEVELS = [
  { window: 4, median: false },
  { window: 16, median: false },
  { window: 64, median: true },
] as const
const RECENT = 64
/** Records within this many points after an alarm belong to the same event. */
const HOLD = 16
/** A record alarms when it goes beyond the past range by more than this share of the range. */
const MARGIN = 0.1
/** Excess over the margin (as a share of the range) at which an alarm's score is halfway to 1. */
const EXCESS_HALF = 0.25
/** Points before which nothing alarms (the range is not yet known). */
const WARMUP = 10
const ALARM_FLOOR = 0.999
const RANK_CEILING = 0.99
const HELD_CEILING = 0.1
const DAY_MS = 86_400_000
/** Time-of-day bins of the seasonal profile (5 minutes each). */
const DAY_BINS = 288
const PROFILE_RATE = 0.1
/** Rate of the running level and mean absolute deviations that gate the seasonal statistic. */
const DEVIATION_RATE = 0.01
/** The seasonal residual counts when its deviation is below this share of the value's. */
const SEASON_GATE = 0.8
/** History the profile needs before its residual counts. */
const SEASON_HISTORY_MS = 2 * DAY_MS
/** Runs: a run alarms once it is this much longer than the longest earlier run… */
const RUN_MARGIN = 4
/** …and at least this long, in a series that has changed value at least RUN_CHANGES times. */
const MIN_RUN = 10
const RUN_CHANGES = 50
/** A change within this share of the mean absolute change repeats the previous value. */
const STILL_SHARE = 0.01
const DEFAULT_STACK = 256
/**
 * The local tier: a value far from the median of the recent values (at least LOCAL_MIN of
 * them), in robust standard deviations, ranks below the return-period tier's rarest points:
 * a spike no bigger than earlier ones is not an alarm, but it outranks ordinary points.
 */
const LOCAL_MIN = 16
const LOCAL_FROM = 3
const LOCAL_SCALE = 4
/** Score bands: rare values in [RARE_FLOOR, RANK_CEILING], local deviations in [LOCAL_FLOOR, RARE_FLOOR). */
const RARE = 0.9
const RARE_FLOOR = 0.9
const LOCAL_FLOOR = 0.5

/** A value's return period as a share of the history: the rarest ones in [0.9, 0.99], the rest below 0.5. */
function rarityTier(rarity: number): number {
  return rarity >= RARE
    ? RARE_FLOOR + ((RANK_CEILING - RARE_FLOOR) * (rarity - RARE)) / (1 - RARE)
    : (LOCAL_FLOOR * rarity) / RARE
}

/** A value far from the recent median (robust z beyond 3): in [0.5, 0.9). */
function localTier(deviation: number): number {
  if (!(deviation > LOCAL_FROM)) return 0
  return LOCAL_FLOOR + (RARE_FLOOR - LOCAL_FLOOR) * (1 - Math.exp(-(deviation - LOCAL_FROM) / LOCAL_SCALE))
}
/** Median absolute deviation × this ≈ standard deviation for Gaussian noise. */
const MAD_TO_SIGMA = 1.4826

/**
 * The extremes of one statistic: its all-time range and, through two monotonic stacks, the
 * return period of a new value (points since one at least as extreme) in amortised O(1).
 */
class Extremes {
  count = 0
  min = Number.POSITIVE_INFINITY
  max = Number.NEGATIVE_INFINITY
  upper: number[] = []
  upperAt: number[] = []
  lower: number[] = []
  lowerAt: number[] = []
  upperDropped = -1
  lowerDropped = -1

  readonly stackLength: number

  constructor(stackLength: number) {
    this.stackLength = stackLength
  }

  /**
   * Sees `x`; returns how far beyond the past range it goes (share of the range, 0 inside) and
   * its return period as a share of the history (1 = more extreme than everything before).
   */
  see(x: number): { excess: number; rarity: number } {
    const n = this.count
    const upper = this.upper
    const lower = this.lower
    while (upper.length > 0 && upper[upper.length - 1]! < x) {
      upper.pop()
      this.upperAt.pop()
    }
    while (lower.length > 0 && lower[lower.length - 1]! > x) {
      lower.pop()
      this.lowerAt.pop()
    }
    let excess = 0
    let rarity = 0
    if (n > 0) {
      const range = this.max - this.min
      if (x > this.max || x < this.min) excess = range > 0 ? Math.max(x - this.max, this.min - x) / range : 1
      const upperAt = upper.length > 0 ? this.upperAt[upper.length - 1]! : this.upperDropped
      const lowerAt = lower.length > 0 ? this.lowerAt[lower.length - 1]! : this.lowerDropped
      // points since a value at least as high (as low); −1 = none in the history
      const since = Math.max(upperAt < 0 ? n + 1 : n - upperAt, lowerAt < 0 ? n + 1 : n - lowerAt)
      rarity = Math.min(since, n) / n
    }
    this.#push(upper, this.upperAt, x, n, 'upperDropped')
    this.#push(lower, this.lowerAt, x, n, 'lowerDropped')
    if (x > this.max) this.max = x
    if (x < this.min) this.min = x
    this.count = n + 1
    return { excess, rarity }
  }

  #push(values: number[], at: number[], x: number, n: number, dropped: 'upperDropped' | 'lowerDropped'): void {
    values.push(x)
    at.push(n)
    if (values.length > this.stackLength) {
      values.shift()
      this[dropped] = at.shift()!
    }
  }

  toJSON(): ExtremesState {
    return {
      count: this.count,
      min: this.count > 0 ? this.min : 0,
      max: this.count > 0 ? this.max : 0,
      upper: [...this.upper],
      upperAt: [...this.upperAt],
      lower: [...this.lower],
      lowerAt: [...this.lowerAt],
      upperDropped: this.upperDropped,
      lowerDropped: this.lowerDropped,
    }
  }

  static fromJSON(state: ExtremesState, stackLength: number): Extremes {
    const extremes = new Extremes(stackLength)
    extremes.count = state.count
    if (state.count > 0) {
      extremes.min = state.min
      extremes.max = state.max
    }
    extremes.upper = [...state.upper]
    extremes.upperAt = [...state.upperAt]
    extremes.lower = [...state.lower]
    extremes.lowerAt = [...state.lowerAt]
    extremes.upperDropped = state.upperDropped
    extremes.lowerDropped = state.lowerDropped
    return extremes
  }
}

/** Mean of the last `window` values. */
function meanOf(values: readonly number[], window: number): number {
  let sum = 0
  for (let j = values.length - window; j < values.length; j++) sum += values[j]!
  return sum / window
}

/** Median of the last `window` values (sorted in `scratch`). */
function medianOf(values: readonly number[], window: number, scratch: Float64Array): number {
  const part = scratch.subarray(0, window)
  for (let j = 0; j < window; j++) part[j] = values[values.length - window + j]!
  part.sort()
  return window % 2 === 1 ? part[(window - 1) / 2]! : (part[window / 2 - 1]! + part[window / 2]!) / 2
}

const NO_COMPONENTS: SeriesScoreComponents = { value: 0, level: 0, season: 0, stuck: 0 }

export class SeriesDetector {
  readonly #stackLength: number
  #count = 0
  #recent: number[] = []
  #value: Extremes
  #means: Extremes[]
  #residual: Extremes
  #firstMs = 0
  #profile = new Float64Array(DAY_BINS)
  #profileSeen = new Uint8Array(DAY_BINS)
  #level = 0
  #deviation = 0
  #residualDeviation = 0
  #previous = 0
  #meanChange = 0
  #run = 0
  #longestRun = 0
  #changes = 0
  #runAlarmed = false
  #lastAlarm = Number.NEGATIVE_INFINITY
  #lastRecord = Number.NEGATIVE_INFINITY
  #components: SeriesScoreComponents = NO_COMPONENTS
  readonly #scratch = new Float64Array(RECENT)

  constructor(options: SeriesDetectorOptions = {}) {
    const stackLength = options.stackLength ?? DEFAULT_STACK
    if (!Number.isInteger(stackLength) || stackLength < 1)
      throw new RangeError(`stackLength must be a positive integer, got ${stackLength}`)
    this.#stackLength = stackLength
    this.#value = new Extremes(stackLength)
    this.#means = LEVELS.map(() => new Extremes(stackLength))
    this.#residual = new Extremes(stackLength)
  }

  /** Points learned so far. */
  get count(): number {
    return this.#count
  }

  /** Each statistic's score for the latest point. */
  components(): SeriesScoreComponents {
    return this.#components
  }

  /** Scores the point against the past, then learns it. A non-finite value scores 0 and is skipped. */
  update(timestampMs: number, value: number): number {
    if (!Number.isFinite(value) || !Number.isFinite(timestampMs)) {
      this.#components = NO_COMPONENTS
      return 0
    }
    const n = this.#count
    if (n === 0) {
      this.#firstMs = timestampMs
      this.#level = value
      this.#previous = value
    }
    const recent = this.#recent
    const deviation = recent.length >= LOCAL_MIN ? this.#localDeviation(value) : 0
    recent.push(value)
    if (recent.length > RECENT) recent.shift()

    const valueSeen = this.#value.see(value)
    let levelExcess = 0
    for (let i = 0; i < LEVELS.length; i++) {
      const { window, median } = LEVELS[i]!
      if (recent.length < window) continue
      const level = median ? medianOf(recent, window, this.#scratch) : meanOf(recent, window)
      levelExcess = Math.max(levelExcess, this.#means[i]!.see(level).excess)
    }
    const seasonExcess = this.#season(timestampMs, value)
    const stuckExcess = this.#stuck(value, n)
    this.#deviation += DEVIATION_RATE * (Math.abs(value - this.#level) - this.#deviation)
    this.#level += DEVIATION_RATE * (value - this.#level)
    this.#count = n + 1

    const afterAlarm = n - this.#lastAlarm <= HOLD
    const held = afterAlarm || n - this.#lastRecord <= HOLD
    const warm = n >= WARMUP
    const grade = (excess: number, isHeld = held): number => {
      if (!warm || excess <= MARGIN) return 0
      const over = excess - MARGIN
      const alarm = ALARM_FLOOR + (1 - ALARM_FLOOR) * (over / (over + EXCESS_HALF))
      return isHeld ? HELD_CEILING * (alarm - ALARM_FLOOR) * 1000 : alarm
    }
    const components: SeriesScoreComponents = {
      // a value beyond the margin is held only by an alarm, not by a mere record just before it
      value: Math.max(
        warm ? localTier(deviation) : 0,
        valueSeen.excess > MARGIN
          ? grade(valueSeen.excess, afterAlarm)
          : warm
            ? held
              ? HELD_CEILING * valueSeen.rarity
              : rarityTier(valueSeen.rarity)
            : 0,
      ),
      level: grade(levelExcess),
      season: grade(seasonExcess),
      stuck: grade(stuckExcess),
    }
    this.#components = components
    const score = Math.max(components.value, components.level, components.season, components.stuck)
    // an alarm, or any value beyond the whole history, starts an event: what follows within the hold belongs to it
    if (score > ALARM_FLOOR) this.#lastAlarm = n
    else if (!held && valueSeen.rarity === 1 && warm) this.#lastRecord = n
    return score
  }

  /** The value's distance from the median of the recent values, in robust standard deviations. */
  #localDeviation(value: number): number {
    const recent = this.#recent
    const n = recent.length
    const part = this.#scratch.subarray(0, n)
    for (let j = 0; j < n; j++) part[j] = recent[j]!
    part.sort()
    const median = n % 2 === 1 ? part[(n - 1) / 2]! : (part[n / 2 - 1]! + part[n / 2]!) / 2
    for (let j = 0; j < n; j++) part[j] = Math.abs(recent[j]! - median)
    part.sort()
    const mad = n % 2 === 1 ? part[(n - 1) / 2]! : (part[n / 2 - 1]! + part[n / 2]!) / 2
    // the long-run mean absolute change bounds the scale from below: after a flat stretch the
    // recent values do not vary, and any change would look infinitely far
    const scale = Math.max(MAD_TO_SIGMA * mad, this.#meanChange)
    const distance = Math.abs(value - median)
    if (scale > 0) return distance / scale
    return distance > 0 ? Number.POSITIVE_INFINITY : 0
  }

  /** Excess of the value's residual from its time-of-day profile, where the profile explains the series. */
  #season(timestampMs: number, value: number): number {
    const bin = Math.floor(((((timestampMs % DAY_MS) + DAY_MS) % DAY_MS) / DAY_MS) * DAY_BINS)
    if (this.#profileSeen[bin] === 0) {
      this.#profile[bin] = value
      this.#profileSeen[bin] = 1
      return 0
    }
    const residual = value - this.#profile[bin]!
    this.#residualDeviation += DEVIATION_RATE * (Math.abs(residual) - this.#residualDeviation)
    const { excess } = this.#residual.see(residual)
    this.#profile[bin]! += PROFILE_RATE * residual
    const seasonal =
      timestampMs - this.#firstMs > SEASON_HISTORY_MS && this.#residualDeviation < SEASON_GATE * this.#deviation
    return seasonal ? excess : 0
  }

  /** Excess of the current run of repeated values over the longest earlier run, once per run. */
  #stuck(value: number, n: number): number {
    if (n === 0) return 0
    const change = Math.abs(value - this.#previous)
    const still = change <= STILL_SHARE * this.#meanChange
    this.#meanChange += DEVIATION_RATE * (change - this.#meanChange)
    if (still) this.#run++
    else {
      this.#longestRun = Math.max(this.#longestRun, this.#run)
      this.#run = 0
      this.#changes++
      this.#runAlarmed = false
    }
    this.#previous = value
    const run = this.#run + 1
    const longest = this.#longestRun + 1
    if (this.#runAlarmed || this.#changes < RUN_CHANGES || run < MIN_RUN || run <= longest * (1 + RUN_MARGIN)) return 0
    this.#runAlarmed = true
    // on the scale of the other statistics: the margin, plus how far beyond it the run went
    return MARGIN + (run - longest * (1 + RUN_MARGIN)) / longest + Number.EPSILON
  }

  toJSON(): SeriesDetectorState {
    return {
      type: 'series',
      version: 2,
      stackLength: this.#stackLength,
      count: this.#count,
      recent: [...this.#recent],
      value: this.#value.toJSON(),
      means: this.#means.map((extremes) => extremes.toJSON()),
      residual: this.#residual.toJSON(),
      firstMs: this.#firstMs,
      profile: Array.from(this.#profile),
      profileSeen: Array.from(this.#profileSeen),
      level: this.#level,
      deviation: this.#deviation,
      residualDeviation: this.#residualDeviation,
      previous: this.#previous,
      meanChange: this.#meanChange,
      run: this.#run,
      longestRun: this.#longestRun,
      changes: this.#changes,
      runAlarmed: this.#runAlarmed,
      lastAlarm: Number.isFinite(this.#lastAlarm) ? this.#lastAlarm : -1 - HOLD,
      lastRecord: Number.isFinite(this.#lastRecord) ? this.#lastRecord : -1 - HOLD,
      components: { ...this.#components },
    }
  }

  static fromJSON(state: SeriesDetectorState): SeriesDetector {
    if (state?.type !== 'series' || state.version !== 2)
      throw new Error(
        `not a series detector state (type ${state?.type}, version ${state?.version}); expected series v2`,
      )
    const detector = new SeriesDetector({ stackLength: state.stackLength })
    detector.#count = state.count
    detector.#recent = [...state.recent]
    detector.#value = Extremes.fromJSON(state.value, state.stackLength)
    detector.#means = state.means.map((extremes) => Extremes.fromJSON(extremes, state.stackLength))
    detector.#residual = Extremes.fromJSON(state.residual, state.stackLength)
    detector.#firstMs = state.firstMs
    detector.#profile = Float64Array.from(state.profile)
    detector.#profileSeen = Uint8Array.from(state.profileSeen)
    detector.#level = state.level
    detector.#deviation = state.deviation
    detector.#residualDeviation = state.residualDeviation
    detector.#previous = state.previous
    detector.#meanChange = state.meanChange
    detector.#run = state.run
    detector.#longestRun = state.longestRun
    detector.#changes = state.changes
    detector.#runAlarmed = state.runAlarmed
    detector.#lastAlarm = state.lastAlarm
    detector.#lastRecord = state.lastRecord
    detector.#components = { ...state.components }
    return detector
  }
}
