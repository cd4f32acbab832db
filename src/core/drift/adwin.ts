// ADWIN, ADaptive WINdowing (Bifet & Gavaldà, SDM 2007), in its ADWIN2 form.
//
// The window is compressed into an exponential histogram: row i holds up to `maxBuckets`
// buckets of 2^i values each (total and variance), so memory is O(maxBuckets · log n).
// Every `clock` updates, once the window is wider than `gracePeriod`, every bucket
// boundary is tried as a cut into an older part W0 and a newer part W1; when their means
// differ by more than the Hoeffding/Bernstein bound ε_cut the oldest bucket is dropped and
// the scan repeats. Any cut reports a drift.
//
// Semantics, defaults and arithmetic order follow River's `drift.ADWIN` (River 0.26, whose
// core is `rust_src/adwin.rs`, the same algorithm as the earlier `adwin_c.pyx`) so that
// detection indices match it exactly; as in River the whole detector is cleared on the
// update after a drift. ADWIN defines no warning zone.
import type { DriftStatistic, NumericDriftDetector } from './detector.ts'
import { checkFinite, checkInteger, invalidOption, nonFiniteInput, SavedState } from './state.ts'

export interface AdwinOptions {
  /** Significance of the cut test; smaller means fewer false alarms and later detections. */
  readonly delta?: number
  /** Test for a cut once every `clock` updates (1 = every update). */
  readonly clock?: number
  /** Buckets of each size kept before the two oldest merge. */
  readonly maxBuckets?: number
  /** Smallest sub-window, on either side of a cut, that is tested. */
  readonly minWindowLength?: number
  /** No test until the window is wider than this. */
  readonly gracePeriod?: number
}

export const adwinDefaults = { delta: 0.002, clock: 32, maxBuckets: 5, minWindowLength: 5, gracePeriod: 10 } as const

export type AdwinState = {
  readonly type: 'adwin'
  readonly options: Required<AdwinOptions>
  readonly tick: number
  readonly width: number
  readonly total: number
  /** Sum of squared deviations from the mean over the window. */
  readonly variance: number
  readonly detections: number
  readonly droppedWidth: number
  readonly droppedTotal: number
  readonly drift: boolean
  /** Row i, oldest bucket first: `totals[i][k]` and `variances[i][k]` summarise 2^i values. */
  readonly totals: number[][]
  readonly variances: number[][]
}

/** One row of the histogram: up to maxBuckets + 1 buckets of the same size, oldest first. */
interface Row {
  readonly totals: Float64Array
  readonly variances: Float64Array
  count: number
}

export class ADWIN implements NumericDriftDetector {
  readonly name = 'adwin'
  readonly delta: number
  readonly clock: number
  readonly maxBuckets: number
  readonly minWindowLength: number
  readonly gracePeriod: number

  /** rows[0] holds single values (the newest); the last row the largest, oldest buckets. */
  #rows: Row[] = []
  #tick = 0
  #width = 0
  #total = 0
  #variance = 0
  #detections = 0
  /** What the last drift cut off the window, for the drift event. */
  #droppedWidth = 0
  #droppedTotal = 0
  #drift = false

  constructor(options: AdwinOptions = {}) {
    const defaults = adwinDefaults
    this.delta = checkFinite('ADWIN', 'delta', options.delta ?? defaults.delta, 0, true)
    if (this.delta >= 1) throw invalidOption('ADWIN', 'delta', this.delta, 'a number in (0, 1)')
    this.clock = checkInteger('ADWIN', 'clock', options.clock ?? defaults.clock, 1)
    this.maxBuckets = checkInteger('ADWIN', 'maxBuckets', options.maxBuckets ?? defaults.maxBuckets, 1)
    this.minWindowLength = checkInteger(
      'ADWIN',
      'minWindowLength',
      options.minWindowLength ?? defaults.minWindowLength,
      1,
    )
    this.gracePeriod = checkInteger('ADWIN', 'gracePeriod', options.gracePeriod ?? defaults.gracePeriod, 0)
    this.#rows.push(this.#newRow())
  }

  get drift(): boolean {
    return this.#drift
  }

  /** ADWIN defines no warning zone. */
  get warning(): boolean {
    return false
  }

  /** Values summarised by the current window. */
  get width(): number {
    return this.#width
  }

  /** Mean of the current window (0 when empty, as River's `estimation`). */
  get mean(): number {
    return this.#width === 0 ? 0 : this.#total / this.#width
  }

  /**
   * `width` and `mean` describe the window kept (after a drift: the new concept);
   * `droppedWidth` and `droppedMean` the older part the last drift cut off.
   */
  get statistic(): DriftStatistic {
    return {
      width: this.#width,
      mean: this.mean,
      variance: this.#width === 0 ? 0 : this.#variance / this.#width,
      droppedWidth: this.#droppedWidth,
      droppedMean: this.#droppedWidth === 0 ? 0 : this.#droppedTotal / this.#droppedWidth,
      detections: this.#detections,
    }
  }

  update(value: number): void {
    if (!Number.isFinite(value)) throw nonFiniteInput('ADWIN', value)
    if (this.#drift) this.reset()
    this.#insert(value)
    this.#drift = this.#detectChange()
  }

  reset(): void {
    this.#rows = [this.#newRow()]
    this.#tick = 0
    this.#width = 0
    this.#total = 0
    this.#variance = 0
    this.#detections = 0
    this.#droppedWidth = 0
    this.#droppedTotal = 0
    this.#drift = false
  }

  #newRow(): Row {
    const capacity = this.maxBuckets + 1
    return { totals: new Float64Array(capacity), variances: new Float64Array(capacity), count: 0 }
  }

  #insert(value: number): void {
    const first = this.#rows[0]!
    first.totals[first.count] = value
    first.variances[first.count] = 0
    first.count += 1

    this.#width += 1
    if (this.#width > 1) {
      const deviation = value - this.#total / (this.#width - 1)
      this.#variance += ((this.#width - 1) * deviation * deviation) / this.#width
    }
    this.#total += value
    this.#compress()
  }

  /** Merges the two oldest buckets of every overflowing row into one of the next size. */
  #compress(): void {
    const rows = this.#rows
    for (let index = 0; ; index++) {
      const row = rows[index]!
      if (row.count !== this.maxBuckets + 1) return
      const size = 2 ** index
      const total0 = row.totals[0]!
      const total1 = row.totals[1]!
      const mean0 = total0 / size
      const mean1 = total1 / size
      const variance = row.variances[0]! + row.variances[1]! + size * 0.5 * (mean0 - mean1) * (mean0 - mean1)
      if (index + 1 === rows.length) rows.push(this.#newRow())
      const next = rows[index + 1]!
      next.totals[next.count] = total0 + total1
      next.variances[next.count] = variance
      next.count += 1
      shift(row, 2)
      if (next.count <= this.maxBuckets) return
    }
  }

  /** Drops the oldest bucket. */
  #dropOldest(): void {
    const rows = this.#rows
    const last = rows.length - 1
    const row = rows[last]!
    const size = 2 ** last
    const total = row.totals[0]!
    const mean = total / size
    this.#width -= size
    this.#total -= total
    const windowMean = this.#total / this.#width
    this.#variance -=
      row.variances[0]! + (size * this.#width * (mean - windowMean) * (mean - windowMean)) / (size + this.#width)
    this.#droppedWidth += size
    this.#droppedTotal += total
    shift(row, 1)
    if (row.count === 0) rows.pop()
  }

  #detectChange(): boolean {
    this.#tick += 1
    if (this.#tick % this.clock !== 0 || this.#width <= this.gracePeriod) return false

    let detected = false
    const minLength = this.minWindowLength
    let cut = true
    while (cut) {
      cut = false
      const rows = this.#rows
      // Constant over one scan: the scan ends as soon as the window shrinks.
      const deltaPrime = Math.log((2 * Math.log(this.#width)) / this.delta)
      const windowVariance = this.#variance / this.#width
      let n0 = 0
      let n1 = this.#width
      let u0 = 0
      let u1 = this.#total
      scan: for (let index = rows.length - 1; index >= 0; index--) {
        const row = rows[index]!
        const size = 2 ** index
        const count = row.count
        for (let k = 0; k < count; k++) {
          n0 += size
          n1 -= size
          const total = row.totals[k]!
          u0 += total
          u1 -= total
          if (index === 0 && k === count - 1) break scan
          if (n1 < minLength || n0 < minLength) continue
          const meanDifference = u0 / n0 - u1 / n1
          // ε_cut with m the harmonic mean of the sub-window lengths (River's arithmetic order)
          const mRecip = 1 / (n0 - minLength + 1) + 1 / (n1 - minLength + 1)
          const epsilon = Math.sqrt(2 * mRecip * windowVariance * deltaPrime) + (2 / 3) * deltaPrime * mRecip
          if (Math.abs(meanDifference) > epsilon) {
            if (!detected) {
              this.#droppedWidth = 0
              this.#droppedTotal = 0
            }
            cut = true
            detected = true
            this.#dropOldest()
            break scan
          }
        }
      }
    }
    if (detected) this.#detections += 1
    return detected
  }

  toJSON(): AdwinState {
    const rows = this.#rows
    return {
      type: 'adwin',
      options: {
        delta: this.delta,
        clock: this.clock,
        maxBuckets: this.maxBuckets,
        minWindowLength: this.minWindowLength,
        gracePeriod: this.gracePeriod,
      },
      tick: this.#tick,
      width: this.#width,
      total: this.#total,
      variance: this.#variance,
      detections: this.#detections,
      droppedWidth: this.#droppedWidth,
      droppedTotal: this.#droppedTotal,
      drift: this.#drift,
      totals: rows.map((row) => Array.from(row.totals.subarray(0, row.count))),
      variances: rows.map((row) => Array.from(row.variances.subarray(0, row.count))),
    }
  }

  static fromJSON(json: unknown): ADWIN {
    const saved = new SavedState(json, 'adwin')
    const options = saved.object('options')
    const detector = new ADWIN({
      delta: options.number('delta'),
      clock: options.number('clock'),
      maxBuckets: options.number('maxBuckets'),
      minWindowLength: options.number('minWindowLength'),
      gracePeriod: options.number('gracePeriod'),
    })
    const totals = saved.numberRows('totals')
    const variances = saved.numberRows('variances')
    if (totals.length === 0 || totals.length !== variances.length)
      throw saved.fail('totals', totals, 'one array of bucket totals per row, as many rows as variances')
    const rows: Row[] = []
    let width = 0
    for (let index = 0; index < totals.length; index++) {
      const rowTotals = totals[index]!
      const rowVariances = variances[index]!
      if (rowTotals.length !== rowVariances.length || rowTotals.length > detector.maxBuckets)
        throw saved.fail(`totals[${index}]`, rowTotals, `at most ${detector.maxBuckets} buckets, as many as variances`)
      const row = detector.#newRow()
      row.totals.set(rowTotals)
      row.variances.set(rowVariances)
      row.count = rowTotals.length
      rows.push(row)
      width += rowTotals.length * 2 ** index
    }
    if (saved.number('width') !== width) throw saved.fail('width', saved.number('width'), `${width}, the buckets' sum`)
    detector.#rows = rows
    detector.#tick = saved.number('tick')
    detector.#width = width
    detector.#total = saved.number('total')
    detector.#variance = saved.number('variance')
    detector.#detections = saved.number('detections')
    detector.#droppedWidth = saved.number('droppedWidth')
    detector.#droppedTotal = saved.number('droppedTotal')
    detector.#drift = saved.boolean('drift')
    return detector
  }
}

/** Removes the `n` oldest buckets of a row (at most maxBuckets + 1, so a plain loop is fastest). */
function shift(row: Row, n: number): void {
  const { totals, variances } = row
  const count = row.count - n
  for (let i = 0; i < count; i++) {
    totals[i] = totals[i + n]!
    variances[i] = variances[i + n]!
  }
  row.count = count
}
