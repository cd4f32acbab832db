// Streaming anomaly detector for one univariate time series (`timestamp, value`).
//
// Every point is scored against what came before it, then learned. The model is a robust
// additive Holt–Winters: a level, an optional seasonal profile whose period is found from
// the data (autocorrelation on a time grid, with daily and weekly periods from the sampling
// interval as candidates), and three scale-free statistics on the residual:
//
// - residual:  value − (level + season), over its own robust spread (spikes, dips, onsets);
// - step:      change from the previous clean value, over its own spread (spikes in trends
//              and random walks, where the level lags);
// - shift:     a short exponential mean of the clipped residual, over its own spread (small
//              but persistent level shifts that no single point reveals);
// - stuck:     a run of (near-)repeated values, as the bits it costs under the series' own
//              learned rates of repeats (P(still), P(still | still)), beyond what its length of
//              history makes expected (a stuck sensor in a noisy series; integer counts and
//              other quantized values repeat often, so their runs cost few bits).
//
// Each statistic is a robust z (spread = exponentially weighted mean absolute value, updated
// with clipped inputs so anomalies do not inflate it), mapped to [0, 1] by one fixed function,
// so one threshold means the same on every series whatever its scale. A run of large
// same-sided residuals means the level has moved: the level jumps to the recent median, so a
// shift alarms at its onset and not for ever after. Floors on the spreads (a quarter of the value
// quantum, a share of the long-run spread) keep flat stretches from turning every tiny wiggle
// into an alarm, while a real change after a flat stretch still scores 1.
// The median of the last 15 absolute residuals (and steps) also bounds the spread from below,
// so a new, noisier regime stops alarming within a few points; and each z is divided by how
// much heavier than Gaussian its own tracked 99th percentile is (at most 3×), so series with
// heavy tails do not alarm on every routine excursion.

/** Settings; the defaults are what the benchmark in bench/series-detectors.ts measured. */
export interface SeriesDetectorOptions {
  /** Values kept for period detection (power of two). Bounds the longest period: history / 3. */
  readonly historyLength?: number
}

/** Why a point scored as it did: each statistic's own score in [0, 1]. */
export interface SeriesScoreComponents {
  /** Value against level + season. */
  readonly residual: number
  /** Change from the previous clean value. */
  readonly step: number
  /** Short mean of residuals: a sustained level shift. */
  readonly shift: number
  /** A run of (near-)repeated values: a stuck sensor. */
  readonly stuck: number
}

export interface SeriesDetectorState {
  readonly type: 'series'
  readonly version: 1
  readonly historyLength: number
  readonly count: number
  readonly level: number
  readonly residualSpread: number
  readonly stepSpread: number
  readonly shiftMean: number
  readonly shiftSpread: number
  readonly longSpread: number
  readonly longStepSpread: number
  /** Exponentially weighted counts of still points (all points, and points after a still one). */
  readonly still: number[]
  readonly stillRun: number
  readonly stillBits: number
  readonly stillAlarm: number
  readonly quantum: number
  readonly previousClean: number
  readonly previousValue: number
  readonly run: number
  readonly runSign: number
  readonly recent: number[]
  readonly recentResidual: number[]
  readonly recentStep: number[]
  readonly tail: number[]
  readonly period: number
  readonly gapMs: number
  readonly originMs: number
  readonly profile: number[]
  readonly historyValues: number[]
  readonly historyTimes: number[]
  readonly historyHead: number
  readonly historySize: number
  readonly nextDetection: number
}

const LEVEL_RATE = 0.1
const SPREAD_RATE = 0.02
const LONG_SPREAD_RATE = 0.002
const SHIFT_RATE = 0.2
const SEASON_RATE = 0.1
/** Residuals beyond this many spreads are clipped before they update the model. */
const CLIP = 3
/** A residual beyond this robust z counts towards a level-shift run. */
const RUN_Z = 3.5
/** Consecutive same-sided large residuals after which the level is reset. */
const RUN_LENGTH = 5
/** Mean absolute deviation × this ≈ standard deviation for Gaussian noise. */
const MAD_TO_SIGMA = 1.2533
/** Robust z mapped to score 0.5; the map is 1 − 2^−(z / Z_HALF)^SHAPE. */
const Z_HALF = 4.5
const SHAPE = 4
/** Points before which scores are damped (the spreads are not yet known). */
const WARMUP_START = 5
const WARMUP_LENGTH = 25
const RECENT = 8
/** Recent absolute residuals and steps whose median bounds the spreads from below. */
const RECENT_SPREAD = 15
/** Median |x| ÷ mean |x| for Gaussian noise: puts the recent median on the spread's scale. */
const MEDIAN_TO_MEAN = 1.1843
/** Tail calibration: the 99th percentile of each robust z is tracked; beyond the Gaussian one, z is shrunk. */
const TAIL_QUANTILE = 0.99
const GAUSSIAN_TAIL = 2.5758
const TAIL_STEP = 0.05
const MAX_TAIL_FACTOR = 3
const MIN_PERIOD = 4
/** Seasonality is kept when its variance share beats chance by this much. */
const MIN_STRENGTH = 0.25
const DAY_MS = 86_400_000
/** A change within this share of the long-run mean absolute change is still (quantized values: only repeats). */
const STILL_SHARE = 0.1
/** Forgetting rate of the still counts; its inverse bounds the multiple-testing allowance. */
const STILL_RATE = 0.002
/** Weight, in points, of P(still) as the prior of P(still | still): runs are not assumed until seen. */
const STILL_PRIOR = 50
/** Bits → Gaussian-equivalent z: a two-sided tail of 2^−bits has z ≈ √(2 ln 2 · bits). */
const BITS_TO_Z2 = 2 * Math.LN2
/** A stuck run's z: capped here, held for STUCK_HOLD alarming points, then shrunk by STUCK_DECAY a point. */
const STUCK_CAP = 7
const STUCK_HOLD = 5
const STUCK_DECAY = 0.97
/** z at which zToScore reaches 0.9. */
const Z_ALARM = Z_HALF * Math.log2(10) ** (1 / SHAPE)
/** A period within this factor of the best unexplained variance counts as nearly as good. */
const PERIOD_SLACK = 1.15

export class SeriesDetector {
  readonly #historyLength: number
  #count = 0
  #level = 0
  #residualSpread = 0
  #stepSpread = 0
  #shiftMean = 0
  #shiftSpread = 0
  #longSpread = 0
  #longStepSpread = 0
  /** hits and trials of P(still), then of P(still | previous still). */
  #still: Float64Array = new Float64Array(4)
  #stillRun = 0
  #stillBits = 0
  #stillAlarm = 0
  #quantum = Number.POSITIVE_INFINITY
  #previousClean = Number.NaN
  #previousValue = Number.NaN
  #run = 0
  #runSign = 0
  #recent: Float64Array = new Float64Array(RECENT)
  #recentResidual: Float64Array = new Float64Array(RECENT_SPREAD)
  #recentStep: Float64Array = new Float64Array(RECENT_SPREAD)
  /** Tracked 99th percentile of the residual, step and shift z. */
  #tail: Float64Array = Float64Array.of(GAUSSIAN_TAIL, GAUSSIAN_TAIL, GAUSSIAN_TAIL)
  readonly #scratch = new Float64Array(RECENT_SPREAD)
  #lastResidual = 0
  #lastStep = 0
  #lastShift = 0
  #lastStuck = 0
  #period = 0
  #gapMs = 0
  #originMs = 0
  #profile: Float64Array = new Float64Array(0)
  #historyValues: Float64Array
  #historyTimes: Float64Array
  #historyHead = 0
  #historySize = 0
  #nextDetection = 128

  constructor(options: SeriesDetectorOptions = {}) {
    const length = options.historyLength ?? 8192
    if (!Number.isInteger(length) || length < 64 || (length & (length - 1)) !== 0) {
      throw new RangeError(`historyLength must be a power of two ≥ 64, got ${length}`)
    }
    this.#historyLength = length
    this.#historyValues = new Float64Array(length)
    this.#historyTimes = new Float64Array(length)
  }

  /** Seasonal period in samples currently modelled (0 when none). */
  get period(): number {
    return this.#period
  }

  /** Number of values learned. */
  get count(): number {
    return this.#count
  }

  /** Each statistic's score for the last point (the overall score is their maximum). */
  components(): SeriesScoreComponents {
    return { residual: this.#lastResidual, step: this.#lastStep, shift: this.#lastShift, stuck: this.#lastStuck }
  }

  /** Scores `value` at `timestampMs` against the past only, then learns it. Returns [0, 1]. */
  update(timestampMs: number, value: number): number {
    this.#lastResidual = 0
    this.#lastStep = 0
    this.#lastShift = 0
    this.#lastStuck = 0
    if (!Number.isFinite(value) || !Number.isFinite(timestampMs)) return 0
    const n = this.#count
    if (n === 0) {
      this.#level = value
      this.#previousClean = value
      this.#previousValue = value
      this.#recent[0] = value
      this.#remember(timestampMs, value)
      this.#count = 1
      return 0
    }

    const phase = this.#period > 0 ? this.#phaseOf(timestampMs) : 0
    const seasonal = this.#period > 0 ? this.#profile[phase]! : 0
    const deseasoned = value - seasonal
    const residual = deseasoned - this.#level
    const step = deseasoned - this.#previousClean

    // Spreads in use: the learned ones, bounded below by the floors and by the recent median.
    const floor = this.#floor()
    const residualScale = Math.max(this.#residualSpread, floor, MEDIAN_TO_MEAN * this.#median(this.#recentResidual))
    const stepScale = Math.max(this.#stepSpread, floor, MEDIAN_TO_MEAN * this.#median(this.#recentStep))
    const residualLimit = CLIP * MAD_TO_SIGMA * residualScale
    const shift = this.#shiftMean + SHIFT_RATE * (clip(residual, residualLimit) - this.#shiftMean)
    const shiftScale = Math.max(this.#shiftSpread, floor * SHIFT_NOISE_SHARE)
    const residualZ = robustZ(residual, residualScale)
    const stepZ = robustZ(step, stepScale)
    const shiftZ = robustZ(shift, shiftScale)
    const difference = value - this.#previousValue
    const stuckZ = this.#stuckZ(difference, n)

    const tail = this.#tail
    const warm = n < WARMUP_START + WARMUP_LENGTH
    const damping = warm ? Math.max(0, (n - WARMUP_START) / WARMUP_LENGTH) : 1
    this.#lastResidual = damping * zToScore(residualZ / tailFactor(tail[0]!))
    this.#lastStep = damping * zToScore(stepZ / tailFactor(tail[1]!))
    this.#lastShift = damping * zToScore(shiftZ / tailFactor(tail[2]!))
    this.#lastStuck = damping * zToScore(stuckZ)
    const score = Math.max(this.#lastResidual, this.#lastStep, this.#lastShift, this.#lastStuck)

    // Learn. Equal weights until the exponential weights take over, so early estimates are sane.
    if (!warm) {
      tail[0] = trackQuantile(tail[0]!, residualZ)
      tail[1] = trackQuantile(tail[1]!, stepZ)
      tail[2] = trackQuantile(tail[2]!, shiftZ)
    }
    this.#recentResidual[n % RECENT_SPREAD] = Math.abs(residual)
    this.#recentStep[n % RECENT_SPREAD] = Math.abs(step)
    const spreadRate = Math.max(SPREAD_RATE, 1 / n)
    const levelRate = Math.max(LEVEL_RATE, 1 / (n + 1))
    const levelLimit = warm ? Number.POSITIVE_INFINITY : residualLimit
    if (difference !== 0) this.#quantum = Math.min(this.#quantum, Math.abs(difference))

    this.#level += levelRate * clip(residual, levelLimit)
    this.#residualSpread += spreadRate * (clipAbs(residual, residualScale, warm) - this.#residualSpread)
    this.#longSpread += Math.max(LONG_SPREAD_RATE, 1 / n) * (Math.abs(residual) - this.#longSpread)
    this.#longStepSpread += Math.max(LONG_SPREAD_RATE, 1 / n) * (Math.abs(difference) - this.#longStepSpread)
    this.#stepSpread += spreadRate * (clipAbs(step, stepScale, warm) - this.#stepSpread)
    this.#shiftMean = shift
    this.#shiftSpread += spreadRate * (clipAbs(shift, shiftScale, warm) - this.#shiftSpread)
    if (this.#period > 0) {
      const seasonalError = value - this.#level - this.#profile[phase]!
      this.#profile[phase]! += SEASON_RATE * clip(seasonalError, levelLimit)
    }

    this.#recent[n % RECENT] = deseasoned
    const outlier = !warm && residualZ > RUN_Z
    let reset = false
    if (outlier) {
      const sign = Math.sign(residual)
      this.#run = sign === this.#runSign ? this.#run + 1 : 1
      this.#runSign = sign
      if (this.#run >= RUN_LENGTH) {
        this.#resetLevel(n)
        reset = true
      }
    } else {
      this.#run = 0
      this.#runSign = 0
    }
    // A spike should not make the next ordinary value look like a big step.
    if (!outlier || reset) this.#previousClean = deseasoned
    this.#previousValue = value

    this.#remember(timestampMs, value)
    this.#count = n + 1
    if (this.#count >= this.#nextDetection) {
      this.#detectPeriod()
      this.#nextDetection =
        this.#count < 512 ? this.#count * 2 : this.#count + (this.#count < this.#historyLength ? 512 : 2048)
    }
    return score
  }

  /**
   * Scores a still point by the run it extends, and learns the still counts. The run costs
   * −log2 P(still) for its first point and −log2 P(still | still) for each further one; bits
   * beyond the multiple-testing allowance (log2 of the history in memory) become a z. Once the
   * run has alarmed for a few points it is old news: its z decays, so a sensor stuck for good
   * alarms once and then goes quiet.
   */
  #stuckZ(difference: number, n: number): number {
    const counts = this.#still
    const still = Math.abs(difference) <= STILL_SHARE * this.#longStepSpread
    const after = this.#stillRun > 0
    // P(still) with a weak prior of one half; P(still | still) shrunk towards P(still).
    const p0 = (counts[0]! + 0.5) / (counts[1]! + 1)
    const p1 = (counts[2]! + STILL_PRIOR * p0) / (counts[3]! + STILL_PRIOR)
    const keep = 1 - STILL_RATE
    counts[0] = keep * counts[0]! + (still ? 1 : 0)
    counts[1] = keep * counts[1]! + 1
    if (after) {
      counts[2] = keep * counts[2]! + (still ? 1 : 0)
      counts[3] = keep * counts[3]! + 1
    }
    if (!still) {
      this.#stillRun = 0
      this.#stillBits = 0
      this.#stillAlarm = 0
      return 0
    }
    this.#stillRun++
    this.#stillBits -= Math.log2(after ? p1 : p0)
    const excess = this.#stillBits - Math.log2(Math.min(n, 1 / STILL_RATE))
    if (!(excess > 0)) return 0
    const z = Math.sqrt(BITS_TO_Z2 * excess)
    if (z >= Z_ALARM) this.#stillAlarm++
    return Math.min(z, STUCK_CAP) * STUCK_DECAY ** Math.max(0, this.#stillAlarm - STUCK_HOLD)
  }

  #median(values: Float64Array): number {
    const scratch = this.#scratch
    scratch.set(values)
    // insertion sort: 15 values, no allocation
    for (let i = 1; i < scratch.length; i++) {
      const x = scratch[i]!
      let j = i - 1
      while (j >= 0 && scratch[j]! > x) {
        scratch[j + 1] = scratch[j]!
        j--
      }
      scratch[j + 1] = x
    }
    return scratch[scratch.length >> 1]!
  }

  /** The level has moved: adopt the median of the run, forget the shift evidence. */
  #resetLevel(n: number): void {
    const run = new Float64Array(RUN_LENGTH)
    for (let i = 0; i < RUN_LENGTH; i++) run[i] = this.#recent[(n - i + RECENT) % RECENT]!
    run.sort()
    this.#level = run[RUN_LENGTH >> 1]!
    this.#shiftMean = 0
    this.#run = 0
    this.#runSign = 0
  }

  #floor(): number {
    const quantum = Number.isFinite(this.#quantum) ? this.#quantum : 0
    return Math.max(0.25 * quantum, 0.05 * this.#longSpread, 1e-10 * Math.abs(this.#level))
  }

  #phaseOf(timestampMs: number): number {
    const slot = Math.round((timestampMs - this.#originMs) / this.#gapMs)
    const period = this.#period
    return ((slot % period) + period) % period
  }

  #remember(timestampMs: number, value: number): void {
    this.#historyValues[this.#historyHead] = value
    this.#historyTimes[this.#historyHead] = timestampMs
    this.#historyHead = (this.#historyHead + 1) & (this.#historyLength - 1)
    if (this.#historySize < this.#historyLength) this.#historySize++
  }

  /**
   * Finds the seasonal period on the recent history: values laid on a regular time grid
   * (missing slots carry the last value), candidate lags from autocorrelation peaks and from
   * the daily and weekly period at the median sampling interval, each judged by the share of
   * variance a per-phase profile explains after removing a moving-average trend, less what
   * that many phases would explain by chance.
   */
  #detectPeriod(): void {
    const size = this.#historySize
    const start = (this.#historyHead - size + this.#historyLength) & (this.#historyLength - 1)
    const values = new Float64Array(size)
    const times = new Float64Array(size)
    for (let i = 0; i < size; i++) {
      const j = (start + i) & (this.#historyLength - 1)
      values[i] = this.#historyValues[j]!
      times[i] = this.#historyTimes[j]!
    }
    const gaps = new Float64Array(size - 1)
    let positive = 0
    for (let i = 1; i < size; i++) {
      const gap = times[i]! - times[i - 1]!
      if (gap > 0) gaps[positive++] = gap
    }
    if (positive < size / 2) return
    const sorted = gaps.subarray(0, positive).sort()
    const gapMs = sorted[positive >> 1]!
    const origin = times[0]!
    const slots = Math.round((times[size - 1]! - origin) / gapMs) + 1
    if (slots > 2 * this.#historyLength || slots < 4 * MIN_PERIOD) return
    const grid = new Float64Array(slots)
    let filled = 0
    for (let i = 0; i < size; i++) {
      const slot = Math.min(slots - 1, Math.max(0, Math.round((times[i]! - origin) / gapMs)))
      for (let k = filled; k < slot; k++) grid[k] = values[i - 1]!
      grid[slot] = values[i]!
      filled = slot + 1
    }

    const maxPeriod = Math.floor(slots / 3)
    const lags = new Set<number>(autocorrelationPeaks(grid, maxPeriod))
    const calendar = new Set<number>()
    const daily = Math.round(DAY_MS / gapMs)
    if (daily >= MIN_PERIOD && Math.abs(DAY_MS / gapMs - daily) < 0.01 * daily) {
      if (daily <= maxPeriod) calendar.add(daily)
      if (7 * daily <= maxPeriod) calendar.add(7 * daily)
    }
    const current = this.#period > 0 && this.#gapMs === gapMs && this.#period <= maxPeriod ? this.#period : 0
    if (current > 0) lags.add(current)

    // Unexplained share of variance per candidate; lower is better.
    const fits: { period: number; unexplained: number; profile: Float64Array; calendar: boolean }[] = []
    for (const period of new Set([...calendar, ...lags])) {
      const fit = seasonalFit(grid, period)
      if (fit.strength > MIN_STRENGTH) {
        fits.push({ period, unexplained: 1 - fit.strength, profile: fit.profile, calendar: calendar.has(period) })
      }
    }
    if (fits.length === 0) {
      if (this.#period > 0) this.#adoptSeason(0, gapMs, origin, new Float64Array(0), grid)
      return
    }
    let bestUnexplained = Number.POSITIVE_INFINITY
    for (const fit of fits) bestUnexplained = Math.min(bestUnexplained, fit.unexplained)
    const acceptable = (fit: { unexplained: number }, slack: number) => fit.unexplained <= slack * bestUnexplained
    // Hysteresis: a working period stays while it is nearly as good as the best.
    const kept = fits.find((fit) => fit.period === current)
    if (kept && acceptable(kept, PERIOD_SLACK)) return
    // Daily and weekly periods win when nearly as good (ACF peaks of a sinusoid are fuzzy by a
    // lag or two); otherwise the shortest nearly-best period, not one of its multiples.
    fits.sort((a, b) => a.period - b.period)
    const chosen =
      fits.find((fit) => fit.calendar && acceptable(fit, PERIOD_SLACK)) ??
      fits.find((fit) => acceptable(fit, 1) || (acceptable(fit, PERIOD_SLACK) && !hasNeighbour(fit, fits)))!
    this.#adoptSeason(chosen.period, gapMs, origin, chosen.profile, grid)
  }

  /** Switches to a new seasonal model and re-estimates level and spreads on the grid. */
  #adoptSeason(period: number, gapMs: number, origin: number, profile: Float64Array, grid: Float64Array): void {
    this.#period = period
    this.#gapMs = gapMs
    this.#originMs = origin
    this.#profile = profile
    const slots = grid.length
    const span = Math.min(slots, Math.max(2 * period, 64))
    const begin = slots - span
    const deseasoned = new Float64Array(span)
    for (let i = 0; i < span; i++) {
      const slot = begin + i
      deseasoned[i] = grid[slot]! - (period > 0 ? profile[slot % period]! : 0)
    }
    // Level: exponential smoothing over the window; spreads: mean absolute residual and step.
    let level = deseasoned[0]!
    let residualSum = 0
    let stepSum = 0
    for (let i = 1; i < span; i++) {
      const value = deseasoned[i]!
      residualSum += Math.abs(value - level)
      stepSum += Math.abs(value - deseasoned[i - 1]!)
      level += LEVEL_RATE * (value - level)
    }
    this.#level = level
    this.#residualSpread = residualSum / (span - 1)
    this.#stepSpread = stepSum / (span - 1)
    this.#previousClean = deseasoned[span - 1]!
    this.#shiftMean = 0
    this.#run = 0
    this.#runSign = 0
    for (let i = 0; i < RECENT; i++)
      this.#recent[(this.#count - i + RECENT * 4) % RECENT] = deseasoned[span - 1 - i] ?? level
  }

  toJSON(): SeriesDetectorState {
    const ordered = (buffer: Float64Array): number[] => Array.from(buffer)
    return {
      type: 'series',
      version: 1,
      historyLength: this.#historyLength,
      count: this.#count,
      level: this.#level,
      residualSpread: this.#residualSpread,
      stepSpread: this.#stepSpread,
      shiftMean: this.#shiftMean,
      shiftSpread: this.#shiftSpread,
      longSpread: this.#longSpread,
      longStepSpread: this.#longStepSpread,
      still: ordered(this.#still),
      stillRun: this.#stillRun,
      stillBits: this.#stillBits,
      stillAlarm: this.#stillAlarm,
      quantum: Number.isFinite(this.#quantum) ? this.#quantum : -1,
      previousClean: this.#previousClean,
      previousValue: this.#previousValue,
      run: this.#run,
      runSign: this.#runSign,
      recent: ordered(this.#recent),
      recentResidual: ordered(this.#recentResidual),
      recentStep: ordered(this.#recentStep),
      tail: ordered(this.#tail),
      period: this.#period,
      gapMs: this.#gapMs,
      originMs: this.#originMs,
      profile: ordered(this.#profile),
      historyValues: ordered(this.#historyValues),
      historyTimes: ordered(this.#historyTimes),
      historyHead: this.#historyHead,
      historySize: this.#historySize,
      nextDetection: this.#nextDetection,
    }
  }

  static fromJSON(state: SeriesDetectorState): SeriesDetector {
    if (state.type !== 'series' || state.version !== 1) {
      throw new TypeError(`not a series detector state: ${String(state.type)} v${String(state.version)}`)
    }
    const detector = new SeriesDetector({ historyLength: state.historyLength })
    detector.#count = state.count
    detector.#level = state.level
    detector.#residualSpread = state.residualSpread
    detector.#stepSpread = state.stepSpread
    detector.#shiftMean = state.shiftMean
    detector.#shiftSpread = state.shiftSpread
    detector.#longSpread = state.longSpread
    detector.#longStepSpread = state.longStepSpread ?? state.longSpread
    if (state.still) detector.#still = Float64Array.from(state.still)
    detector.#stillRun = state.stillRun ?? 0
    detector.#stillBits = state.stillBits ?? 0
    detector.#stillAlarm = state.stillAlarm ?? 0
    detector.#quantum = state.quantum < 0 ? Number.POSITIVE_INFINITY : state.quantum
    detector.#previousClean = state.previousClean ?? Number.NaN
    detector.#previousValue = state.previousValue ?? Number.NaN
    detector.#run = state.run
    detector.#runSign = state.runSign
    detector.#recent = Float64Array.from(state.recent)
    detector.#recentResidual = Float64Array.from(state.recentResidual)
    detector.#recentStep = Float64Array.from(state.recentStep)
    detector.#tail = Float64Array.from(state.tail)
    detector.#period = state.period
    detector.#gapMs = state.gapMs
    detector.#originMs = state.originMs
    detector.#profile = Float64Array.from(state.profile)
    detector.#historyValues = Float64Array.from(state.historyValues)
    detector.#historyTimes = Float64Array.from(state.historyTimes)
    detector.#historyHead = state.historyHead
    detector.#historySize = state.historySize
    detector.#nextDetection = state.nextDetection
    return detector
  }
}

/** Spread of the shift statistic relative to the residual's, for white noise: √(r / (2 − r)). */
const SHIFT_NOISE_SHARE = Math.sqrt(SHIFT_RATE / (2 - SHIFT_RATE))

/** Whether a better-fitting candidate sits within 2 % of this one's period (the same peak). */
function hasNeighbour(
  fit: { period: number; unexplained: number },
  fits: readonly { period: number; unexplained: number }[],
): boolean {
  return fits.some(
    (other) => other.unexplained < fit.unexplained && Math.abs(other.period - fit.period) <= 0.02 * fit.period + 1,
  )
}

/** How much heavier than Gaussian this statistic's tail has been (1 … MAX_TAIL_FACTOR). */
function tailFactor(quantile: number): number {
  return Math.min(MAX_TAIL_FACTOR, Math.max(1, quantile / GAUSSIAN_TAIL))
}

/** Stochastic quantile tracking: up by q·step above, down by (1 − q)·step below. */
function trackQuantile(estimate: number, z: number): number {
  if (z > estimate) return estimate + TAIL_STEP * TAIL_QUANTILE
  return estimate - TAIL_STEP * (1 - TAIL_QUANTILE)
}

function clip(x: number, limit: number): number {
  return Math.min(limit, Math.max(-limit, x))
}

/** |x| limited to a few spreads once the spread is known, so outliers barely move it. */
function clipAbs(x: number, spread: number, warm: boolean): number {
  const magnitude = Math.abs(x)
  if (warm || spread <= 0) return magnitude
  return Math.min(magnitude, 2 * CLIP * spread)
}

/** |x| in σ-equivalents of a mean-absolute spread; a change where nothing ever changed is ∞. */
function robustZ(x: number, spread: number): number {
  if (x === 0) return 0
  return spread > 0 ? Math.abs(x) / (MAD_TO_SIGMA * spread) : Number.POSITIVE_INFINITY
}

/** Fixed, scale-free calibration: z = Z_HALF ↦ 0.5, rising steeply beyond. */
export function zToScore(z: number): number {
  if (!(z > 0)) return 0
  if (z === Number.POSITIVE_INFINITY) return 1
  return 1 - 2 ** -((z / Z_HALF) ** SHAPE)
}

/** Local maxima of the autocorrelation (via FFT) in [MIN_PERIOD, maxLag], best first. */
function autocorrelationPeaks(series: Float64Array, maxLag: number): number[] {
  const n = series.length
  let mean = 0
  for (let i = 0; i < n; i++) mean += series[i]!
  mean /= n
  let size = 1
  while (size < 2 * n) size <<= 1
  const re = new Float64Array(size)
  const im = new Float64Array(size)
  for (let i = 0; i < n; i++) re[i] = series[i]! - mean
  fft(re, im, false)
  for (let i = 0; i < size; i++) {
    re[i] = re[i]! * re[i]! + im[i]! * im[i]!
    im[i] = 0
  }
  fft(re, im, true)
  const variance = re[0]! / n
  if (!(variance > 0)) return []
  const acf = new Float64Array(maxLag + 2)
  for (let lag = 0; lag <= maxLag + 1 && lag < n; lag++) acf[lag] = re[lag]! / (n - lag) / variance
  const peaks: { lag: number; value: number }[] = []
  for (let lag = MIN_PERIOD; lag <= maxLag; lag++) {
    const value = acf[lag]!
    if (value > 0.1 && value >= acf[lag - 1]! && value > acf[lag + 1]!) peaks.push({ lag, value })
  }
  peaks.sort((a, b) => b.value - a.value)
  return peaks.slice(0, 4).map((peak) => peak.lag)
}

/**
 * Per-phase median of the series minus its centred moving average of one period (medians, so
 * past anomalies do not become part of the pattern); strength is the adjusted R² of that
 * profile on the detrended series.
 */
function seasonalFit(series: Float64Array, period: number): { strength: number; profile: Float64Array } {
  const n = series.length
  const prefix = new Float64Array(n + 1)
  for (let i = 0; i < n; i++) prefix[i + 1] = prefix[i]! + series[i]!
  const half = period >> 1
  const first = half
  const last = n - period + half
  const profile = new Float64Array(period)
  const points = last - first
  if (points <= 1.5 * period) return { strength: 0, profile }
  const detrended = new Float64Array(n)
  for (let i = first; i < last; i++)
    detrended[i] = series[i]! - (prefix[i - half + period]! - prefix[i - half]!) / period
  const cycle = new Float64Array(Math.ceil(n / period) + 1)
  let profileMean = 0
  for (let p = 0; p < period; p++) {
    let count = 0
    for (let i = first + ((p - (first % period) + period) % period); i < last; i += period)
      cycle[count++] = detrended[i]!
    const phaseValues = cycle.subarray(0, count).sort()
    profile[p] =
      count === 0
        ? 0
        : count % 2
          ? phaseValues[count >> 1]!
          : (phaseValues[(count >> 1) - 1]! + phaseValues[count >> 1]!) / 2
    profileMean += profile[p]!
  }
  profileMean /= period
  for (let p = 0; p < period; p++) profile[p]! -= profileMean
  let total = 0
  let remaining = 0
  for (let i = first; i < last; i++) {
    const rest = detrended[i]! - profile[i % period]!
    total += detrended[i]! * detrended[i]!
    remaining += rest * rest
  }
  if (!(total > 0)) return { strength: 0, profile }
  // adjusted R²: a profile of `period` free values explains about period / points of pure noise
  return { strength: 1 - ((remaining / total) * (points - 1)) / (points - period), profile }
}

/** In-place iterative radix-2 FFT; `inverse` also divides by the length. */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1
    for (; j & bit; bit >>= 1) j ^= bit
    j ^= bit
    if (i < j) {
      const tr = re[i]!
      re[i] = re[j]!
      re[j] = tr
      const ti = im[i]!
      im[i] = im[j]!
      im[j] = ti
    }
  }
  for (let length = 2; length <= n; length <<= 1) {
    const angle = ((inverse ? 2 : -2) * Math.PI) / length
    const wRe = Math.cos(angle)
    const wIm = Math.sin(angle)
    for (let i = 0; i < n; i += length) {
      let curRe = 1
      let curIm = 0
      const halfLength = length >> 1
      for (let k = 0; k < halfLength; k++) {
        const a = i + k
        const b = a + halfLength
        const tRe = re[b]! * curRe - im[b]! * curIm
        const tIm = re[b]! * curIm + im[b]! * curRe
        re[b] = re[a]! - tRe
        im[b] = im[a]! - tIm
        re[a]! += tRe
        im[a]! += tIm
        const nextRe = curRe * wRe - curIm * wIm
        curIm = curRe * wIm + curIm * wRe
        curRe = nextRe
      }
    }
  }
  if (inverse) {
    for (let i = 0; i < n; i++) {
      re[i]! /= n
      im[i]! /= n
    }
  }
}
