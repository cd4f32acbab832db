// `lookout eval --drift`: the phased source through the pipeline's own code, in one process
// and one stream: enrich → score (PartitionScorer) → drift monitor → on a retraining request,
// a candidate trained on the post-drift window → shadow beside the live model → promotion at
// a batch boundary (hot swap). Measures how fast each phase transition is noticed, how often
// drift is raised when nothing changed, and how the ensemble's F1 recovers after a retrain.

import { settings } from '../config/settings.ts'
import { type DriftEvent, DriftMonitor, type DriftMonitorOptions } from '../core/drift/monitor.ts'
import type { LookoutEvent } from '../core/events.ts'
import { entityKeyOf } from '../core/features/index.ts'
import { labelOf } from '../core/kinds.ts'
import { type EnrichedEvent, enrich } from '../core/pipeline/events.ts'
import type { LoadedModel } from '../core/pipeline/scorer.ts'
import { PartitionScorer } from '../core/pipeline/scorer.ts'
import { ShadowJudge, type ShadowJudgeOptions } from '../core/pipeline/shadow.ts'
import { precisionRecallF1 } from '../core/quality.ts'
import { trainCandidate } from '../core/retrain.ts'
import { PhasedGenerator, phaseCycleLength, phaseOf, phaseStarts } from '../core/sources/phased.ts'

export interface DriftEvalOptions {
  seed: number
  events: number
  threshold: number
  /** Events of the first model, trained before the stream is scored (0 = start without one). */
  bootstrapEvents: number
  /** Events per scoring batch; models switch only between batches, as in the score service. */
  batch: number
  monitor: Omit<DriftMonitorOptions, 'threshold'>
  shadow: ShadowJudgeOptions
  /** Events the trainer reads: the newest ones up to the request (so they span the drift). */
  trainEvents: number
  /** Events after a phase transition in which a drift counts as its detection. */
  detectionAllowance: number
  /** F1 window, events. */
  window: number
  /** A retrain recovers when F1 is back to this share of the pre-drift level... */
  recoveryShare: number
  /** ...within this many events of its promotion. */
  recoveryWithin: number
  progress?: (eventNumber: number) => void
}

export const driftEvalDefaults = {
  seed: 42,
  events: 500_000,
  threshold: settings['score.threshold'].default,
  bootstrapEvents: 20_000,
  batch: 2_000,
  trainEvents: 20_000,
  monitor: {},
  shadow: {},
  detectionAllowance: 1_000,
  window: 10_000,
  recoveryShare: 0.9,
  recoveryWithin: 20_000,
} as const satisfies DriftEvalOptions

export interface TransitionResult {
  at: number
  from: string
  to: string
  firstDrift: number | null
  delay: number | null
  detector: string | null
  signal: string | null
  /** F1 of the ensemble in the 10,000 events before the transition and in the two windows after it. */
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

export interface DriftEvalResult {
  seed: number
  events: number
  seconds: number
  transitions: TransitionResult[]
  drifts: (DriftEvent & { atEvent: number; stable: boolean })[]
  falseDrifts: { count: number; stableEvents: number; per100k: number }
  retrains: RetrainResult[]
  targets: { detectedWithin1000: boolean; falseDriftsAtMostOnePer100k: boolean; f1Recovered: boolean }
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
  const entityState = new Map<string, unknown>()
  const predicted = new Uint8Array(options.events)
  const labels = new Uint8Array(options.events)
  // recent enriched events, the trainer's view of `enriched-features`
  const recent: EnrichedEvent[] = []
  const keepRecent = 100_000

  let live: LoadedModel | undefined
  let versionNumber = 0
  const models = () => live
  const scorer = new PartitionScorer(() => live, 1)
  const monitor = new DriftMonitor({ threshold: options.threshold, ...options.monitor })
  let shadow: { model: LoadedModel; judge: ShadowJudge; retrain: RetrainResult } | undefined
  let pendingPromotion: LoadedModel | undefined
  const drifts: DriftEvalResult['drifts'] = []
  const retrains: RetrainResult[] = []

  const train = (window: EnrichedEvent[], drift: number): void => {
    const candidate = trainCandidate('transaction', window, live?.forest)
    versionNumber++
    const model: LoadedModel = {
      version: `transaction-v${versionNumber}`,
      kind: 'transaction',
      forest: candidate.forest,
    }
    const first = window[0]?.event
    const last = window[window.length - 1]?.event
    const numberOf = (event: LookoutEvent | undefined) => (event?.kind === 'transaction' ? event.event_number : 0)
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
      shadow = { model, judge: new ShadowJudge(model.version, options.shadow), retrain }
    }
    retrains.push(retrain)
  }

  for (let n = 0; n < options.events; n += options.batch) {
    // a batch boundary: promotions take effect here, as in the score service
    if (pendingPromotion) {
      live = pendingPromotion
      pendingPromotion = undefined
      scorer.refreshModels(models)
    }
    const end = Math.min(options.events, n + options.batch)
    for (let i = n; i < end; i++) {
      const event = generator.next(0)
      const entity = entityKeyOf(event)
      const { enriched, nextState } = enrich(event, entityState.get(entity))
      entityState.set(entity, nextState)
      recent.push(enriched)
      if (recent.length > keepRecent * 1.5) recent.splice(0, recent.length - keepRecent)
      const scored = scorer.score(enriched)
      const label = labelOf(enriched.event) ?? 0
      labels[i] = label
      predicted[i] = scored.score >= options.threshold ? 1 : 0
      if (shadow && !pendingPromotion) {
        const features = Float64Array.from(enriched.features)
        const verdict = shadow.judge.observe(live?.forest.score(features), shadow.model.forest.score(features), label)
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
    for (let k = 0; k < 3; k++) {
      const f1 = f1Of(predicted, labels, promoted + k * options.window, promoted + (k + 1) * options.window)
      if (f1 !== null) retrain.f1After.push(f1)
    }
    if (retrain.f1PreDrift !== null) {
      const target = retrain.f1PreDrift * options.recoveryShare
      // the first window of `window` events, sliding by 1,000, ending within the limit
      for (let endAt = promoted + options.window; endAt <= promoted + options.recoveryWithin; endAt += 1_000) {
        const f1 = f1Of(predicted, labels, endAt - options.window, endAt)
        if (f1 !== null && f1 >= target) {
          retrain.recoveredAfter = endAt - promoted
          break
        }
      }
    }
  }

  const caused = retrains.filter((r) => r.drift >= 0 && r.promotedAt !== null && r.f1PreDrift !== null)
  return {
    seed: options.seed,
    events: options.events,
    seconds: (Date.now() - started) / 1000,
    transitions,
    drifts,
    falseDrifts: { count: falseCount, stableEvents, per100k: (falseCount / stableEvents) * 100_000 },
    retrains,
    targets: {
      detectedWithin1000: transitions.every((t) => t.delay !== null && t.delay < 1_000),
      falseDriftsAtMostOnePer100k: (falseCount / stableEvents) * 100_000 <= 1,
      f1Recovered: caused.every((r) => r.recoveredAfter !== null),
    },
  }
}

const f = (value: number | null, digits = 3) => (value === null ? '-' : value.toFixed(digits))

/** The result as the tables `lookout eval --drift` prints. */
export function formatDriftEval(result: DriftEvalResult): string {
  const lines: string[] = []
  lines.push(
    `phased source, seed ${result.seed}, ${result.events.toLocaleString('en')} events in ${result.seconds.toFixed(1)} s`,
  )
  lines.push('')
  lines.push(
    '| transition | at event | first drift | delay (events) | detector | signal | F1 10k before | F1 0–10k after | F1 10–20k after |',
  )
  lines.push('|---|---:|---:|---:|---|---|---:|---:|---:|')
  for (const t of result.transitions)
    lines.push(
      `| ${t.from} → ${t.to} | ${t.at} | ${t.firstDrift ?? '-'} | ${t.delay ?? 'missed'} | ${t.detector ?? '-'} | ${t.signal ?? '-'} | ${f(t.f1Before)} | ${f(t.f1After[0] ?? null)} | ${f(t.f1After[1] ?? null)} |`,
    )
  lines.push('')
  lines.push(
    `drift events: ${result.drifts.length}; false (outside the first 1,000 events after a transition): ${result.falseDrifts.count} in ${result.falseDrifts.stableEvents.toLocaleString('en')} stable events = ${result.falseDrifts.per100k.toFixed(2)} per 100,000`,
  )
  lines.push('')
  lines.push(
    '| model | drift at | trained on events | promoted at | F1 pre-drift | F1 before retrain | F1 after (10k windows) | recovered after | verdict |',
  )
  lines.push('|---|---:|---|---:|---:|---:|---|---:|---|')
  for (const r of result.retrains)
    lines.push(
      `| ${r.version} | ${r.drift < 0 ? 'bootstrap' : r.drift} | ${r.trainedOn.from}–${r.trainedOn.to} (${r.trainedOn.rows}) | ${r.promotedAt ?? 'not promoted'} | ${f(r.f1PreDrift)} | ${f(r.f1BeforeRetrain)} | ${r.f1After.map((v) => f(v)).join(', ') || '-'} | ${r.recoveredAfter ?? '-'} | ${r.verdict} |`,
    )
  lines.push('')
  const mark = (ok: boolean) => (ok ? 'met' : 'NOT met')
  lines.push(`every transition detected within 1,000 events: ${mark(result.targets.detectedWithin1000)}`)
  lines.push(`at most 1 false drift per 100,000 stable events: ${mark(result.targets.falseDriftsAtMostOnePer100k)}`)
  lines.push(
    `F1 back to ≥ 90% of its pre-drift level within 20,000 events of each retrain: ${mark(result.targets.f1Recovered)}`,
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
