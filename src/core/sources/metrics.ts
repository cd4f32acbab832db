// Machine metrics: a CPU-utilisation-like series that mirrors the shape
// of real EC2 CPU series (like NAB's ec2_cpu_utilization data, one sample per
// 5 minutes), and a parser for replaying a `timestamp,value` CSV. Pure: text and times in.

import type { MetricSample } from '../events.ts'
import { Random } from '../random.ts'
import type { RowError } from './row-error.ts'

const minuteMs = 60_000
const hourMs = 3_600_000
const dayMs = 86_400_000
const weekMs = 7 * dayMs

export interface MetricGeneratorOptions {
  seed: number
  /** Time of the first sample, ms since the Unix epoch. */
  startTimeMs: number
  host?: string
  metric?: string
  intervalMs?: number
  /** Long-run mean utilisation (%) on weekdays, before shifts and drift. */
  baseLevel?: number
  /** Half the peak-to-trough swing of the daily cycle (percentage points). */
  dailyAmplitude?: number
  /** UTC hour of the daily peak. */
  peakHour?: number
  /** Saturday and Sunday: level lowered by this many points and the daily swing scaled down. */
  weekendDrop?: number
  weekendAmplitudeFactor?: number
  /** Stationary std of the AR(1) noise and its lag-one autocorrelation. */
  noiseStd?: number
  noiseAutocorrelation?: number
  /** Slow drift: a mean-reverting random walk with this std after one day. */
  driftStdPerDay?: number
  spikesPerDay?: number
  levelShiftsPerWeek?: number
  flatStretchesPerWeek?: number
}

export const metricDefaults = {
  host: 'host-1',
  metric: 'cpu_utilization',
  intervalMs: 5 * minuteMs,
  baseLevel: 40,
  dailyAmplitude: 15,
  peakHour: 14,
  weekendDrop: 8,
  weekendAmplitudeFactor: 0.5,
  noiseStd: 2.5,
  noiseAutocorrelation: 0.6,
  driftStdPerDay: 2,
  spikesPerDay: 1,
  levelShiftsPerWeek: 1,
  flatStretchesPerWeek: 1,
} as const

/** Size of injected events. */
const spikeHeight = { min: 25, max: 55 } as const
const spikeSamples = { min: 1, max: 3 } as const
const levelShiftSize = { min: 10, max: 25 } as const
/** Level shifts keep the shifted base inside this band. */
const shiftedBaseBand = { min: 10, max: 80 } as const
const flatStretchDurationMs = { min: hourMs, max: 6 * hourMs } as const
/** Drift forgets its past over about three days. */
const driftReversionMs = 3 * dayMs

/**
 * value = base + level shift + drift + daily/weekly cycle + AR(1) noise + spike, clipped to
 * [0, 100] and rounded to 3 decimals. Flat stretches repeat the last value exactly (as real
 * series do when an agent stops reporting and the last value is carried forward); no spike or
 * shift starts inside one. anomaly_label is 1 on every spike sample and on a shift's first sample.
 */
export class MetricGenerator {
  readonly #random: Random
  readonly #host: string
  readonly #metric: string
  readonly #intervalMs: number
  readonly #options: Required<Omit<MetricGeneratorOptions, 'seed' | 'startTimeMs' | 'host' | 'metric' | 'intervalMs'>>
  readonly #spikeProbability: number
  readonly #levelShiftProbability: number
  readonly #flatProbability: number
  readonly #driftDecay: number
  readonly #driftStepStd: number
  readonly #noiseInnovationStd: number
  #timeMs: number
  #levelShift = 0
  #drift = 0
  #noise = 0
  #spikeRemaining = 0
  #spikeHeight = 0
  #flatRemaining = 0
  #lastValue = Number.NaN

  constructor(options: MetricGeneratorOptions) {
    const intervalMs = options.intervalMs ?? metricDefaults.intervalMs
    if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${intervalMs}`)
    this.#random = new Random(options.seed)
    this.#host = options.host ?? metricDefaults.host
    this.#metric = options.metric ?? metricDefaults.metric
    this.#intervalMs = intervalMs
    this.#timeMs = options.startTimeMs
    const o = {
      baseLevel: options.baseLevel ?? metricDefaults.baseLevel,
      dailyAmplitude: options.dailyAmplitude ?? metricDefaults.dailyAmplitude,
      peakHour: options.peakHour ?? metricDefaults.peakHour,
      weekendDrop: options.weekendDrop ?? metricDefaults.weekendDrop,
      weekendAmplitudeFactor: options.weekendAmplitudeFactor ?? metricDefaults.weekendAmplitudeFactor,
      noiseStd: options.noiseStd ?? metricDefaults.noiseStd,
      noiseAutocorrelation: options.noiseAutocorrelation ?? metricDefaults.noiseAutocorrelation,
      driftStdPerDay: options.driftStdPerDay ?? metricDefaults.driftStdPerDay,
      spikesPerDay: options.spikesPerDay ?? metricDefaults.spikesPerDay,
      levelShiftsPerWeek: options.levelShiftsPerWeek ?? metricDefaults.levelShiftsPerWeek,
      flatStretchesPerWeek: options.flatStretchesPerWeek ?? metricDefaults.flatStretchesPerWeek,
    }
    if (!(o.noiseAutocorrelation >= 0 && o.noiseAutocorrelation < 1)) {
      throw new RangeError(`noiseAutocorrelation must be in [0, 1), got ${o.noiseAutocorrelation}`)
    }
    this.#options = o
    this.#spikeProbability = Math.min(1, (o.spikesPerDay * intervalMs) / dayMs)
    this.#levelShiftProbability = Math.min(1, (o.levelShiftsPerWeek * intervalMs) / weekMs)
    this.#flatProbability = Math.min(1, (o.flatStretchesPerWeek * intervalMs) / weekMs)
    this.#driftDecay = Math.exp(-intervalMs / driftReversionMs)
    this.#driftStepStd = o.driftStdPerDay * Math.sqrt(intervalMs / dayMs)
    this.#noiseInnovationStd = o.noiseStd * Math.sqrt(1 - o.noiseAutocorrelation ** 2)
  }

  get nextTimeMs(): number {
    return this.#timeMs
  }

  next(): MetricSample {
    const random = this.#random
    const o = this.#options
    const timeMs = this.#timeMs
    this.#timeMs += this.#intervalMs

    // the underlying process evolves every sample, flat or not, so a flat stretch hides it
    this.#drift = this.#drift * this.#driftDecay + random.normal(0, this.#driftStepStd)
    this.#noise = this.#noise * o.noiseAutocorrelation + random.normal(0, this.#noiseInnovationStd)
    const flat = this.#flatRemaining > 0
    let label: 0 | 1 = 0

    if (flat) {
      this.#flatRemaining--
    } else {
      if (random.bernoulli(this.#levelShiftProbability)) {
        const size = random.uniform(levelShiftSize.min, levelShiftSize.max)
        const up = o.baseLevel + this.#levelShift + size <= shiftedBaseBand.max
        const down = o.baseLevel + this.#levelShift - size >= shiftedBaseBand.min
        this.#levelShift += (up && (!down || random.bernoulli(0.5)) ? 1 : -1) * size
        label = 1
      }
      if (this.#spikeRemaining === 0 && random.bernoulli(this.#spikeProbability)) {
        this.#spikeRemaining = random.integer(spikeSamples.min, spikeSamples.max)
        this.#spikeHeight = random.uniform(spikeHeight.min, spikeHeight.max)
      }
      if (!Number.isNaN(this.#lastValue) && random.bernoulli(this.#flatProbability)) {
        const durationMs = random.uniform(flatStretchDurationMs.min, flatStretchDurationMs.max)
        this.#flatRemaining = Math.max(1, Math.round(durationMs / this.#intervalMs))
      }
    }

    let value: number
    if (flat) {
      value = this.#lastValue
    } else {
      const dayPosition = (timeMs - Math.floor(timeMs / dayMs) * dayMs) / hourMs
      const weekday = new Date(timeMs).getUTCDay()
      const weekend = weekday === 0 || weekday === 6
      const amplitude = o.dailyAmplitude * (weekend ? o.weekendAmplitudeFactor : 1)
      const cycle =
        amplitude * Math.cos((2 * Math.PI * (dayPosition - o.peakHour)) / 24) - (weekend ? o.weekendDrop : 0)
      let spike = 0
      if (this.#spikeRemaining > 0) {
        this.#spikeRemaining--
        spike = this.#spikeHeight
        label = 1
      }
      const raw = o.baseLevel + this.#levelShift + this.#drift + cycle + this.#noise + spike
      value = Math.round(Math.min(100, Math.max(0, raw)) * 1000) / 1000
      this.#lastValue = value
    }
    return {
      kind: 'metric',
      host: this.#host,
      metric: this.#metric,
      timestamp: new Date(timeMs).toISOString(),
      value,
      anomaly_label: label,
    }
  }
}

export interface ParseMetricSeriesOptions {
  host?: string
  metric?: string
}

export interface ParsedMetricSeries {
  /** Valid rows sorted by time (stable, so rows with equal times keep file order). */
  samples: MetricSample[]
  /** Rejected rows; `row` is the 1-based line number in the text, header included. */
  errors: RowError[]
}

const isoTimestamp = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?$/i
const epochNumber = /^-?\d+(?:\.\d+)?$/
const labelColumns = ['anomaly_label', 'label', 'is_anomaly']

/**
 * Parses `timestamp,value` CSV text. The header is optional (recognised when the first
 * non-blank line's value is not a number); with a header, columns are found by name and an
 * `anomaly_label`/`label`/`is_anomaly` column (0/1/true/false) is read too. Timestamps are
 * ISO-8601 (a space instead of T allowed, no zone meaning UTC, as in NAB files) or Unix epoch
 * seconds (below 1e11) or milliseconds. Blank lines are skipped.
 */
export function parseMetricSeries(text: string, options: ParseMetricSeriesOptions = {}): ParsedMetricSeries {
  const host = options.host ?? metricDefaults.host
  const metric = options.metric ?? metricDefaults.metric
  const lines = text.split(/\r\n|\n|\r/)
  const timed: { timeMs: number; sample: MetricSample }[] = []
  const errors: RowError[] = []
  let timestampColumn = 0
  let valueColumn = 1
  let labelColumn = -1
  let headerChecked = false

  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!
    if (line.trim() === '') continue
    const row = index + 1
    const fields = line.split(',').map(unquote)

    if (!headerChecked) {
      headerChecked = true
      if (fields.length >= 2 && !isNumber(fields[1]!) && parseTimestamp(fields[0]!) === undefined) {
        const names = fields.map((field) => field.toLowerCase())
        timestampColumn = names.indexOf('timestamp')
        valueColumn = names.indexOf('value')
        labelColumn = names.findIndex((name) => labelColumns.includes(name))
        if (timestampColumn < 0 || valueColumn < 0) {
          // neither a header we understand nor a data row: report it, read the rest positionally
          errors.push({ row, reason: `not a data row, nor a header naming "timestamp" and "value": "${line.trim()}"` })
          timestampColumn = 0
          valueColumn = 1
          labelColumn = -1
        }
        continue
      }
    }

    const needed = Math.max(timestampColumn, valueColumn, labelColumn) + 1
    if (fields.length < needed) {
      errors.push({ row, reason: `expected ${needed} columns, got ${fields.length}` })
      continue
    }
    const timestampText = fields[timestampColumn]!
    const timeMs = parseTimestamp(timestampText)
    if (timeMs === undefined) {
      errors.push({ row, reason: `timestamp "${timestampText}" is neither ISO-8601 nor Unix epoch` })
      continue
    }
    const valueText = fields[valueColumn]!
    if (!isNumber(valueText)) {
      errors.push({ row, reason: `value "${valueText}" is not a finite number` })
      continue
    }
    const sample: MetricSample = {
      kind: 'metric',
      host,
      metric,
      timestamp: new Date(timeMs).toISOString(),
      value: Number(valueText),
    }
    if (labelColumn >= 0) {
      const labelText = fields[labelColumn]!.toLowerCase()
      if (labelText === '1' || labelText === 'true') sample.anomaly_label = 1
      else if (labelText === '0' || labelText === 'false') sample.anomaly_label = 0
      else {
        errors.push({ row, reason: `label "${fields[labelColumn]}" is not 0, 1, true or false` })
        continue
      }
    }
    timed.push({ timeMs, sample })
  }
  timed.sort((a, b) => a.timeMs - b.timeMs)
  return { samples: timed.map((entry) => entry.sample), errors }
}

function unquote(field: string): string {
  const trimmed = field.trim()
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1).trim() : trimmed
}

function isNumber(text: string): boolean {
  return text !== '' && Number.isFinite(Number(text))
}

/** A `timestamp` cell: ISO-8601 (UTC when no zone) or Unix epoch seconds (below 1e11) or milliseconds. */
export function parseTimestamp(text: string): number | undefined {
  if (epochNumber.test(text)) {
    const epoch = Number(text)
    return Math.abs(epoch) < 1e11 ? Math.round(epoch * 1000) : Math.round(epoch)
  }
  if (!isoTimestamp.test(text)) return undefined
  let iso = text.replace(' ', 'T')
  // a date-time without a zone is UTC here (Date.parse would take it as local time)
  if (iso.includes('T') && !/(?:Z|[+-]\d{2}:?\d{2})$/i.test(iso)) iso += 'Z'
  const timeMs = Date.parse(iso)
  return Number.isNaN(timeMs) ? undefined : timeMs
}
