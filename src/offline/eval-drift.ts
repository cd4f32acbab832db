// `lookout eval --drift`: the phased source through the offline pipeline of `eval` and
// `score` (enrich → the per-partition scorers), then the drift monitor → on a retraining
// request, a candidate trained on the post-drift window → shadow beside the live model, judged
// by the score service's own shadow judge → promotion at a batch boundary (hot swap). Measures
// how fast each phase transition is noticed, how often drift is raised when nothing changed,
// and how the ensemble's F1 recovers after a retrain, against the targets its options set.

import { settings } from '../config/settings.ts'
import { type DriftEvent, DriftMonitor, type DriftMonitorOptions } from '../core/drift/monitor.ts'
import type { LookoutEvent } from '../core/events.ts'
import { labelOf, type RuleOptions, truthOf } from '../core/kinds.ts'
import type { EnrichedEvent } from '../core/pipeline/events.ts'
import type { LoadedModel } from '../core/pipeline/scorer.ts'
import { type ShadowJudgeOptions, ShadowJudges, shadowScores } from '../core/pipeline/shadow.ts'
import { precisionRecallF1 } from '../core/quality.ts'
import { trainCandidate } from '../core/retrain.ts'
import { PhasedGenerator, phaseCycleLength, phaseOf, phaseStarts } from '../core/sources/phased.ts'
import { OfflinePipeline } from './offline.ts'

export interface DriftEvalOptions {
  seed: number
  events: number
  threshold: number
  /** Events of the first model, trained before the stream is scored (0 = start without one). */
  bootstrapEvents: number
  /** Events per scoring batch; models switch only between batches, as in the score service. */
  batch: number
  /**
   * Partitions of enriched-features to reproduce. The default, 1, puts the whole stream before
   * one scorer and the one drift monitor.
   */
  partitions: number
  /** Rule thresholds (the score.* settings); defaults where not given. */
  rules?: RuleOptions
  monitor: Omit<DriftMonitorOptions, 'threshold'>
  shadow: ShadowJudgeOptions
  /** Events the trainer reads: the newest ones up to the request (so they span the drift). */
  trainEvents: number
  /**
   * Events after a phase transition in which a drift counts as its detection (the target:
   * every transition detected within them); drifts outside them are false.
   */
  detectionAllowance: number
  /** Target: at most this many false drifts per 100,000 stable events. */
  maxFalseDriftsPer100k: number
  /** F1 window, events. */
  window: number
  /** Target: after each retrain, F1 back to this share of the pre-drift level... */
  recoveryShare: number
  /** ...within this many events of its promotion (windows ending every `recoveryStep` events). */
  recoveryWithin: number
  recoveryStep: number
  progress?: (eventNumber: number) => void
}

export const driftEvalDefaults = {
  seed: 42,
  events: 500_000,
  threshold: settings['score.threshold'].default,
  bootstrapEvents: 20_000,
  batch: 2_000,
  partitions: 1,
  trainEvents: 20_000,
  monitor: {},
  shadow: {},
  detectionAllowance: 1_000,
  maxFalseDriftsPer100k: 1,
  window: 10_000,
  recoveryShare: 0.9,
  recoveryWithin: 20_000,
  recoveryStep: 1_000,
} as const satisfies DriftEvalOptions

/** Windows of F1 reported after each promotion. */
const windowsAfterPromotion = 3

export interface TransitionResult {
  at: number
  from: string
  to: string
  firstDrift: number | null
  delay: number | null
  detector: string | null
  signal: string | null
  /** F1 of the ensemble in the window before the transition and in the two windows after it. */
  f1Before: number | null
  f1After: (number | null)[]
}

export interface RetrainResult {
  version: string
  drift: number
  trainedOn: { from: number; to: number; rows: number }
  shadowFrom: number
  promotedAt: number | null
  verdict: string
  /** F1 in the window before the drift that caused the retrain. */
  f1PreDrift: number | null
  /** F1 in the window ending at the promotion. */
  f1BeforeRetrain: number | null
  /** F1 in consecutive windows after the promotion. */
  f1After: number[]
  /** Events after promotion until a window reached the recovery share (null = not within the limit). */
  recoveredAfter: number | null
}

/** The targets `eval --drift` checks, from its options. */
export interface DriftTargets {
  detectionAllowance: number
  maxFalseDriftsPer100k: number
  recoveryShare: number
  recoveryWithin: number
  window: number
}

export interface DriftEvalResult {
  seed: number
  events: number
  partitions: number
  seconds: number
  transitions: TransitionResult[]
  drifts: (DriftEvent & { atEvent: number; stable: boolean })[]
  falseDrifts: { count: number; stableEvents: number; per100k: number }
  retrains: RetrainResult[]
  targets: DriftTargets
  met: { detected: boolean; falseDrifts: boolean; f1Recovered: boolean }
}

/** Phase transitions inside [1, events): event numbers where a phase starts. */
export function phaseTransitions(events: number): number[] {
  const starts: number[] = []
  for (let cycle = 0; cycle * phaseCycleLength < events; cycle++) {
    for (const position of [phaseStarts.normal, phaseStarts.drift, phaseStarts.attack]) {
      const at = cycle * phaseCycleLength + position
      if (at > 0 && at < events) starts.push(at)
    }
  }
  return starts
}

function f1Of(predicted: Uint8Array, labels: Uint8Array, from: number, to: number): number | null {
  if (from < 0 || to > predicted.length || to <= from) return null
  return precisionRecallF1(predicted.subarray(from, to), labels.subarray(from, to)).f1
}

export async function evaluateDrift(given: Partial<DriftEvalOptions> = {}): Promise<DriftEvalResult> {
  const options: DriftEvalOptions = { ...driftEvalDefaults, ...given }
  const started = Date.now()
  const generator = new PhasedGenerator({ seed: options.seed })
  const predicted = new Uint8Array(options.events)
  const labels = new Uint8Array(options.events)
  // recent enriched events, the trainer's view of `enriched-features`
  const recent: EnrichedEvent[] = []
  const keepRecent = 100_000

  let live: LoadedModel | undefined
  let versionNumber = 0
  const models = (kind: string) => (live?.kind === kind ? live : undefined)
  const pipeline = new OfflinePipeline({
    partitions: options.partitions,
    models,
    ...(options.rules ? { rules: options.rules } : {}),
  })
  const monitor = new DriftMonitor({ threshold: options.threshold, ...options.monitor })
  const judges = new ShadowJudges(options.shadow)
  let shadow: { model: LoadedModel; retrain: RetrainResult } | undefined
  let pendingPromotion: LoadedModel | undefined
  const drifts: DriftEvalResult['drifts'] = []
  const retrains: RetrainResult[] = []

  const train = (window: EnrichedEvent[], drift: number): void => {
    const kind = window[0]?.kind ?? 'transaction'
    const candidate = trainCandidate(kind, window, live?.forest)
    versionNumber++
    const model: LoadedModel = { version: `${kind}-v${versionNumber}`, kind, forest: candidate.forest }
    const numberOf = (event: LookoutEvent | undefined) => (event ? (truthOf(event).eventNumber ?? 0) : 0)
    const first = window[0]?.event
    const last = window[window.length - 1]?.event
    const retrain: RetrainResult = {
      version: model.version,
      drift,
      trainedOn: { from: numberOf(first), to: numberOf(last), rows: window.length },
      shadowFrom: numberOf(last) + 1,
      promotedAt: null,
      verdict: '',
      f1PreDrift: null,
      f1BeforeRetrain: null,
      f1After: [],
      recoveredAfter: null,
    }
    if (!live) {
      retrain.verdict = 'first model'
      retrain.promotedAt = retrain.shadowFrom
      pendingPromotion = model
    } else {
      shadow = { model, retrain }
    }
    retrains.push(retrain)
  }

  for (let n = 0; n < options.events; n += options.batch) {
    // a batch boundary: promotions take effect here, as in the score service
    if (pendingPromotion) {
      live = pendingPromotion
      pendingPromotion = undefined
      pipeline.refreshModels(models)
    }
    const end = Math.min(options.events, n + options.batch)
    for (let i = n; i < end; i++) {
      const enriched = pipeline.enrich(generator.next(0))
      recent.push(enriched)
      if (recent.length > keepRecent * 1.5) recent.splice(0, recent.length - keepRecent)
      const scored = pipeline.score(enriched)
      const label = labelOf(enriched.event) ?? 0
      labels[i] = label
      predicted[i] = scored.score >= options.threshold ? 1 : 0
      if (shadow && !pendingPromotion) {
        // the score service's own steps: both models' raw scores, then its judge
        const both = shadowScores(enriched, scored, live, shadow.model)
        const verdict = both && judges.observe(enriched.kind, shadow.model.version, both, label)
        if (verdict) {
          shadow.retrain.verdict = `${verdict.decision}: ${verdict.reason}`
          if (verdict.decision === 'promote') {
            shadow.retrain.promotedAt = Math.ceil((i + 1) / options.batch) * options.batch
            pendingPromotion = shadow.model
          }
          shadow = undefined
        }
      }
      const { drift, request } = monitor.update(scored)
      if (drift) drifts.push({ ...drift, atEvent: i, stable: true })
      if (request) train(recent.slice(-options.trainEvents), request.drift.eventNumber ?? i)
      if (options.bootstrapEvents > 0 && i + 1 === options.bootstrapEvents && !live && !pendingPromotion)
        train(recent.slice(-options.bootstrapEvents), -1)
    }
    options.progress?.(end)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }

  const transitions = phaseTransitions(options.events).map((at): TransitionResult => {
    const first = drifts.find((d) => d.atEvent >= at && d.atEvent < at + options.detectionAllowance)
    return {
      at,
      from: phaseOf(at - 1),
      to: phaseOf(at),
      firstDrift: first ? first.atEvent : null,
      delay: first ? first.atEvent - at : null,
      detector: first?.detector ?? null,
      signal: first?.signal ?? null,
      f1Before: f1Of(predicted, labels, at - options.window, at),
      f1After: [
        f1Of(predicted, labels, at, at + options.window),
        f1Of(predicted, labels, at + options.window, at + 2 * options.window),
      ],
    }
  })
  const allTransitions = phaseTransitions(options.events)
  const inAllowance = (i: number) => allTransitions.some((at) => i >= at && i < at + options.detectionAllowance)
  for (const drift of drifts) drift.stable = !inAllowance(drift.atEvent)
  const falseCount = drifts.filter((d) => d.stable).length
  const stableEvents = options.events - allTransitions.length * options.detectionAllowance

  for (const retrain of retrains) {
    if (retrain.drift >= 0) retrain.f1PreDrift = f1Of(predicted, labels, retrain.drift - options.window, retrain.drift)
    const promoted = retrain.promotedAt
    if (promoted === null) continue
    retrain.f1BeforeRetrain = f1Of(predicted, labels, promoted - options.window, promoted)
    for (let k = 0; k < windowsAfterPromotion; k++) {
      const f1 = f1Of(predicted, labels, promoted + k * options.window, promoted + (k + 1) * options.window)
      if (f1 !== null) retrain.f1After.push(f1)
    }
    if (retrain.f1PreDrift !== null) {
      const target = retrain.f1PreDrift * options.recoveryShare
      // the first window of `window` events, sliding by `recoveryStep`, ending within the limit
      for (
        let endAt = promoted + options.window;
        endAt <= promoted + options.recoveryWithin;
        endAt += options.recoveryStep
      ) {
        const f1 = f1Of(predicted, labels, endAt - options.window, endAt)
        if (f1 !== null && f1 >= target) {
          retrain.recoveredAfter = endAt - promoted
          break
        }
      }
    }
  }

  const caused = retrains.filter((r) => r.drift >= 0 && r.promotedAt !== null && r.f1PreDrift !== null)
  const per100k = (falseCount / stableEvents) * 100_000
  return {
    seed: options.seed,
    events: options.events,
    partitions: options.partitions,
    seconds: (Date.now() - started) / 1000,
    transitions,
    drifts,
    falseDrifts: { count: falseCount, stableEvents, per100k },
    retrains,
    targets: {
      detectionAllowance: options.detectionAllowance,
      maxFalseDriftsPer100k: options.maxFalseDriftsPer100k,
      recoveryShare: options.recoveryShare,
      recoveryWithin: options.recoveryWithin,
      window: options.window,
    },
    met: {
      detected: transitions.every((t) => t.delay !== null && t.delay < options.detectionAllowance),
      falseDrifts: per100k <= options.maxFalseDriftsPer100k,
      f1Recovered: caused.every((r) => r.recoveredAfter !== null),
    },
  }
}

const f = (value: number | null, digits = 3) => (value === null ? '-' : value.toFixed(digits))
const count = (value: number) => value.toLocaleString('en')
/** 10000 → "10k" (whole thousands), else the number. */
const short = (value: number) => (value % 1_000 === 0 ? `${value / 1_000}k` : count(value))
const percent = (share: number) => `${Math.round(share * 1000) / 10}%`
/** (0, 10000) → "0–10k", (10000, 20000) → "10–20k" (whole thousands), else the numbers. */
const range = (from: number, to: number) =>
  from % 1_000 === 0 && to % 1_000 === 0 ? `${from / 1_000}–${to / 1_000}k` : `${count(from)}–${count(to)}`

/** The result as the tables `lookout eval --drift` prints; the targets are the run's options. */
export function formatDriftEval(result: DriftEvalResult): string {
  const t = result.targets
  const w = t.window
  const lines: string[] = []
  const partitions = result.partitions === 1 ? '' : `, ${result.partitions} partitions`
  lines.push(
    `phased source, seed ${result.seed}, ${count(result.events)} events${partitions} in ${result.seconds.toFixed(1)} s`,
  )
  lines.push('')
  lines.push(
    `| transition | at event | first drift | delay (events) | detector | signal | F1 ${short(w)} before | F1 ${range(0, w)} after | F1 ${range(w, 2 * w)} after |`,
  )
  lines.push('|---|---:|---:|---:|---|---|---:|---:|---:|')
  for (const r of result.transitions)
    lines.push(
      `| ${r.from} → ${r.to} | ${r.at} | ${r.firstDrift ?? '-'} | ${r.delay ?? 'missed'} | ${r.detector ?? '-'} | ${r.signal ?? '-'} | ${f(r.f1Before)} | ${f(r.f1After[0] ?? null)} | ${f(r.f1After[1] ?? null)} |`,
    )
  lines.push('')
  lines.push(
    `drift events: ${result.drifts.length}; false (outside the first ${count(t.detectionAllowance)} events after a transition): ${result.falseDrifts.count} in ${count(result.falseDrifts.stableEvents)} stable events = ${result.falseDrifts.per100k.toFixed(2)} per 100,000`,
  )
  lines.push('')
  lines.push(
    `| model | drift at | trained on events | promoted at | F1 pre-drift | F1 before retrain | F1 after (${short(w)} windows) | recovered after | verdict |`,
  )
  lines.push('|---|---:|---|---:|---:|---:|---|---:|---|')
  for (const r of result.retrains)
    lines.push(
      `| ${r.version} | ${r.drift < 0 ? 'bootstrap' : r.drift} | ${r.trainedOn.from}–${r.trainedOn.to} (${r.trainedOn.rows}) | ${r.promotedAt ?? 'not promoted'} | ${f(r.f1PreDrift)} | ${f(r.f1BeforeRetrain)} | ${r.f1After.map((v) => f(v)).join(', ') || '-'} | ${r.recoveredAfter ?? '-'} | ${r.verdict} |`,
    )
  lines.push('')
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met')
  const plural = t.maxFalseDriftsPer100k === 1 ? '' : 's'
  lines.push(`every transition detected within ${count(t.detectionAllowance)} events: ${mark(result.met.detected)}`)
  lines.push(
    `at most ${t.maxFalseDriftsPer100k} false drift${plural} per 100,000 stable events: ${mark(result.met.falseDrifts)}`,
  )
  lines.push(
    `F1 back to ≥ ${percent(t.recoveryShare)} of its pre-drift level within ${count(t.recoveryWithin)} events of each retrain: ${mark(result.met.f1Recovered)}`,
  )
  return lines.join('\n')
}

/** `lookout eval --drift`: runs the evaluation and prints the tables (and the JSON object). */
export async function runDriftEval(options: Partial<DriftEvalOptions> & { json: boolean }): Promise<DriftEvalResult> {
  const { json, ...rest } = options
  const result = await evaluateDrift({
    ...rest,
    progress: (n) => {
      if (n % 50_000 === 0 && process.stderr.isTTY) process.stderr.write(`\r${n.toLocaleString('en')} events`)
    },
  })
  if (process.stderr.isTTY) process.stderr.write('\r')
  process.stdout.write(`${formatDriftEval(result)}\n`)
  if (json) process.stdout.write(`${JSON.stringify(result)}\n`)
  return result
}
