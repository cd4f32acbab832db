// The drift monitor of one stream (one event kind in one partition): the drift detectors on
// the signals the scorer's output carries, a cool-down so that one shift raises one drift,
// and the retraining request that follows once enough post-drift data has been seen.
//
// Signals and detectors:
// - `error`: DDM on the scorer's errors (score ≥ threshold disagrees with the label), only
//   for labelled events. Errors belong to a model, so DDM restarts when the model changes.
//   River's levels (warm start 30, drift at 3 σ) fire every ~30,000 events on this stream,
//   whose error rate wanders as the ensemble's calibration follows the traffic; 1,000 and 4 σ
//   keep it for real changes. DDM's minimum is tracked once 5 errors are seen (the binomial's
//   normal approximation wants n·p ≥ 5): after an error-free start River's DDM calls the first
//   error a drift, and with one or two errors its minimum is a lucky run's.
// - `amount`: ADWIN on the raw amount, and Page-Hinkley on the amount standardised with the
//   mean and standard deviation of a warm-up (PH's threshold and tolerance are then in
//   standard deviations, whatever the currency or the stream's scale).
// - `score`: Page-Hinkley on the combined score, standardised like the amount. The score is
//   calibrated against recent traffic, so it jumps when the traffic does and then wanders back
//   as the calibration follows; ADWIN (any significant difference of means) fires on that
//   wandering every ~25,000 events, so the score gets Page-Hinkley with a tolerance of one
//   standard deviation. It also shifts when the model changes: its detector restarts then.
//
// The first `warmupEvents` after a model change feed neither DDM nor the score detector: the
// ensemble's calibration is warming up.
//
// Events without a label of their own can be labelled later by an analyst's mark: the drift
// service joins the mark with the event and feeds DDM its error through `updateLabel`.
//
// Pure and serialisable: the drift service keeps one per stream in its state store.
import { ADWIN, type AdwinOptions } from './adwin.ts'
import { DDM } from './ddm.ts'
import type { DriftDetector, DriftStatistic } from './detector.ts'
import { PageHinkley } from './page-hinkley.ts'

/** What the monitor reads from a scored event. */
export interface MonitoredEvent {
  score: number
  label?: 0 | 1 | undefined
  amount?: number | undefined
  modelVersion: string | null
  eventTime: number
  eventNumber?: number | undefined
  phase?: string | undefined
}

/** An event labelled after it was scored: whether the scorer was wrong about it, and when and by which model it was scored. */
export interface LabelledError extends Pick<MonitoredEvent, 'modelVersion' | 'eventTime' | 'eventNumber' | 'phase'> {
  error: boolean
}

export interface DriftMonitorOptions {
  /** Score at or above which the scorer flags an event (for DDM's errors). */
  readonly threshold: number
  /** Events after a published drift during which further detections publish nothing. */
  readonly cooldownEvents?: number
  /** Post-drift events to collect before the retraining request is raised. */
  readonly trainWindowEvents?: number
  /** Values that fix the standardisation of Page-Hinkley's input. */
  readonly warmupEvents?: number
  /** ADWIN's confidence on the amount; smaller means fewer false alarms. */
  readonly adwinDelta?: number
  /** Page-Hinkley threshold and tolerance, in standard deviations of the warm-up. */
  readonly pageHinkleyThreshold?: number
  readonly pageHinkleyDelta?: number
  /** The same for the score, which also moves as the ensemble's calibration follows the traffic. */
  readonly scorePageHinkleyThreshold?: number
  readonly scorePageHinkleyDelta?: number
  /** DDM: labelled events before it may fire, and its drift level in standard deviations. */
  readonly ddmWarmStart?: number
  readonly ddmDriftThreshold?: number
  /** Signals to watch (default all). */
  readonly signals?: readonly DriftSignalName[]
}

export const driftSignals = ['error', 'amount', 'score'] as const
export type DriftSignalName = (typeof driftSignals)[number]

export const driftMonitorDefaults = {
  cooldownEvents: 20_000,
  trainWindowEvents: 5_000,
  warmupEvents: 500,
  adwinDelta: 1e-5,
  pageHinkleyThreshold: 50,
  pageHinkleyDelta: 0.5,
  scorePageHinkleyThreshold: 100,
  scorePageHinkleyDelta: 1,
  ddmWarmStart: 1_000,
  ddmDriftThreshold: 4,
} as const

/** A drift as published to `drift-events`. */
export interface DriftEvent {
  detector: string
  signal: DriftSignalName
  statistic: DriftStatistic
  eventNumber: number | null
  eventTime: number
  modelVersion: string | null
  phase: string | null
  /** Events this monitor had seen when it fired. */
  seen: number
}

/** A request to retrain, as published to `retraining-triggers`. */
export interface RetrainRequest {
  reason: string
  drift: DriftEvent
  /** The data to train on: the stream from the drift to the request (event time, inclusive). */
  range: { fromEventTime: number; toEventTime: number; fromEventNumber?: number; toEventNumber?: number }
  events: number
}

export interface DriftMonitorState {
  readonly type: 'drift-monitor'
  readonly seen: number
  readonly cooldownUntil: number
  readonly modelVersion: string | null
  readonly modelSince: number
  readonly pending: DriftEvent | null
  readonly pendingSince: number
  readonly warmup: { n: number; mean: number; m2: number }
  readonly scoreWarmup?: { n: number; mean: number; m2: number }
  /** Labels fed to DDM since the monitor began: the events' own, and analysts' marks. */
  readonly labelled?: { event: number; analyst: number }
  readonly detectors: Record<string, unknown>
}

interface Watched {
  readonly signal: DriftSignalName
  readonly detector: DriftDetector<number> | DriftDetector<boolean>
}

/** Welford's running mean and variance of the warm-up. */
interface Warmup {
  n: number
  mean: number
  m2: number
}

export class DriftMonitor {
  readonly options: Required<Omit<DriftMonitorOptions, 'signals'>> & { signals: readonly DriftSignalName[] }
  #seen = 0
  #cooldownUntil = 0
  #modelVersion: string | null = null
  #modelSince = 0
  #pending: DriftEvent | null = null
  #pendingSince = 0
  #warmup: Warmup = { n: 0, mean: 0, m2: 0 }
  #ddm: DDM
  #amountAdwin: ADWIN
  #amountPh: PageHinkley
  #scorePh: PageHinkley
  #scoreWarmup: Warmup = { n: 0, mean: 0, m2: 0 }
  #labelled = { event: 0, analyst: 0 }

  constructor(options: DriftMonitorOptions, state?: DriftMonitorState) {
    this.options = { ...driftMonitorDefaults, signals: driftSignals, ...options }
    this.#ddm = new DDM({
      warmStart: this.options.ddmWarmStart,
      driftThreshold: this.options.ddmDriftThreshold,
      warningThreshold: Math.min(2, this.options.ddmDriftThreshold),
      minErrors: 5,
    })
    this.#amountAdwin = new ADWIN(this.#adwinOptions())
    this.#amountPh = this.#newPageHinkley(this.options.pageHinkleyThreshold, this.options.pageHinkleyDelta)
    this.#scorePh = this.#newPageHinkley(this.options.scorePageHinkleyThreshold, this.options.scorePageHinkleyDelta)
    if (state) {
      this.#seen = state.seen
      this.#cooldownUntil = state.cooldownUntil
      this.#modelVersion = state.modelVersion
      this.#modelSince = state.modelSince
      this.#pending = state.pending
      this.#pendingSince = state.pendingSince
      this.#warmup = { ...state.warmup }
      const saved = state.detectors
      if (saved.ddm) this.#ddm = DDM.fromJSON(saved.ddm)
      if (saved.amountAdwin) this.#amountAdwin = ADWIN.fromJSON(saved.amountAdwin)
      if (saved.amountPageHinkley) this.#amountPh = PageHinkley.fromJSON(saved.amountPageHinkley)
      if (saved.scorePageHinkley) this.#scorePh = PageHinkley.fromJSON(saved.scorePageHinkley)
      if (state.scoreWarmup) this.#scoreWarmup = { ...state.scoreWarmup }
      if (state.labelled) this.#labelled = { ...state.labelled }
    }
  }

  #adwinOptions(): AdwinOptions {
    return { delta: this.options.adwinDelta }
  }

  #newPageHinkley(threshold: number, delta: number): PageHinkley {
    // no fading (alpha 1): with River's 0.9999 the cumulative sum is an AR(1) process whose
    // stationary spread (≈ 70 standard deviations) alone crosses a threshold of 50
    return new PageHinkley({
      threshold,
      delta,
      alpha: 1,
    })
  }

  get seen(): number {
    return this.#seen
  }

  #watches(signal: DriftSignalName): boolean {
    return this.options.signals.includes(signal)
  }

  /**
   * Feeds one scored event. Returns the drift to publish (at most one per cool-down) and the
   * retraining request once `trainWindowEvents` events have followed the drift.
   */
  update(event: MonitoredEvent): { drift?: DriftEvent; request?: RetrainRequest } {
    this.#seen++
    if (event.modelVersion !== this.#modelVersion) {
      // a new model: its errors and its score distribution start afresh
      this.#modelVersion = event.modelVersion
      this.#modelSince = this.#seen
      this.#ddm.reset()
      this.#scorePh.reset()
      this.#scoreWarmup = { n: 0, mean: 0, m2: 0 }
    }
    const fired: Watched[] = []
    // the ensemble's calibration warms up after a model change: its first scores mean nothing
    const settled = this.#seen - this.#modelSince > this.options.warmupEvents
    if (this.#watches('error') && settled && event.label !== undefined) {
      this.#ddm.update(event.score >= this.options.threshold !== (event.label === 1))
      this.#labelled.event++
      if (this.#ddm.drift) fired.push({ signal: 'error', detector: this.#ddm })
    }
    if (this.#watches('amount') && event.amount !== undefined && Number.isFinite(event.amount)) {
      this.#amountAdwin.update(event.amount)
      if (this.#amountAdwin.drift) fired.push({ signal: 'amount', detector: this.#amountAdwin })
      if (this.#standardisedPageHinkley(this.#amountPh, this.#warmup, event.amount)) {
        fired.push({ signal: 'amount', detector: this.#amountPh })
        this.#warmup = { n: 0, mean: 0, m2: 0 }
      }
    }
    if (this.#watches('score') && settled) {
      if (this.#standardisedPageHinkley(this.#scorePh, this.#scoreWarmup, event.score)) {
        fired.push({ signal: 'score', detector: this.#scorePh })
        this.#scoreWarmup = { n: 0, mean: 0, m2: 0 }
      }
    }

    return this.#report(fired, event)
  }

  /**
   * Feeds DDM one error of an event labelled after it was scored (an analyst's mark joined with
   * the event: `error` = flagged XOR label). Counted only when the event was scored by the
   * model in use (errors belong to a model) and its calibration has settled; returns a drift as
   * `update` does.
   */
  updateLabel(event: LabelledError): { drift?: DriftEvent; request?: RetrainRequest } {
    const settled = this.#seen - this.#modelSince > this.options.warmupEvents
    if (!this.#watches('error') || !settled || event.modelVersion !== this.#modelVersion) return {}
    this.#ddm.update(event.error)
    this.#labelled.analyst++
    return this.#report(this.#ddm.drift ? [{ signal: 'error', detector: this.#ddm }] : [], event)
  }

  /** Labels DDM has counted: the events' own (ground truth) and analysts' marks joined later. */
  get labelled(): { readonly event: number; readonly analyst: number } {
    return this.#labelled
  }

  /** A drift to publish (the first detector that fired, outside the cool-down) and the request due. */
  #report(fired: Watched[], event: LabelledError | MonitoredEvent): { drift?: DriftEvent; request?: RetrainRequest } {
    const result: { drift?: DriftEvent; request?: RetrainRequest } = {}
    const first = fired[0]
    if (first && this.#seen > this.#cooldownUntil) {
      const drift: DriftEvent = {
        detector: first.detector.name,
        signal: first.signal,
        statistic: first.detector.statistic,
        eventNumber: event.eventNumber ?? null,
        eventTime: event.eventTime,
        modelVersion: event.modelVersion,
        phase: event.phase ?? null,
        seen: this.#seen,
      }
      result.drift = drift
      this.#cooldownUntil = this.#seen + this.options.cooldownEvents
      this.#pending = drift
      this.#pendingSince = this.#seen
    }
    if (this.#pending && this.#seen - this.#pendingSince >= this.options.trainWindowEvents) {
      const drift = this.#pending
      this.#pending = null
      result.request = {
        reason: `${drift.detector} on ${drift.signal}`,
        drift,
        range: {
          fromEventTime: drift.eventTime,
          toEventTime: event.eventTime,
          ...(drift.eventNumber === null ? {} : { fromEventNumber: drift.eventNumber }),
          ...(event.eventNumber === undefined ? {} : { toEventNumber: event.eventNumber }),
        },
        events: this.#seen - this.#pendingSince,
      }
    }
    return result
  }

  /**
   * Page-Hinkley on a value in standard deviations of a warm-up (the first `warmupEvents`
   * values after a start or a drift). True when it fires; the caller then starts a new warm-up.
   */
  #standardisedPageHinkley(detector: PageHinkley, warmup: Warmup, value: number): boolean {
    if (warmup.n < this.options.warmupEvents) {
      warmup.n++
      const delta = value - warmup.mean
      warmup.mean += delta / warmup.n
      warmup.m2 += delta * (value - warmup.mean)
      return false
    }
    const std = Math.sqrt(warmup.m2 / (warmup.n - 1)) || 1
    detector.update((value - warmup.mean) / std)
    return detector.drift
  }

  toJSON(): DriftMonitorState {
    return {
      type: 'drift-monitor',
      seen: this.#seen,
      cooldownUntil: this.#cooldownUntil,
      modelVersion: this.#modelVersion,
      modelSince: this.#modelSince,
      pending: this.#pending,
      pendingSince: this.#pendingSince,
      warmup: { ...this.#warmup },
      scoreWarmup: { ...this.#scoreWarmup },
      labelled: { ...this.#labelled },
      detectors: {
        ddm: this.#ddm.toJSON(),
        amountAdwin: this.#amountAdwin.toJSON(),
        amountPageHinkley: this.#amountPh.toJSON(),
        scorePageHinkley: this.#scorePh.toJSON(),
      },
    }
  }

  static fromJSON(options: DriftMonitorOptions, state: DriftMonitorState): DriftMonitor {
    return new DriftMonitor(options, state)
  }
}
