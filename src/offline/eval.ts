// The quality report: a labelled source through the stream's own enrich + score code (in
// process, no Kafka), with an Isolation Forest trained on the first events and hot-swapped
// in, as `lookout train` and a promotion would do in the stream. Every event after the
// training window is scored and measured against its ground-truth label.
import type { LookoutEvent, Phase } from '../core/events.ts'
import { detectorNames, labelOf, type RuleOptions, truthOf } from '../core/kinds.ts'
import type { EnrichedEvent } from '../core/pipeline/events.ts'
import type { LoadedModel } from '../core/pipeline/scorer.ts'
import { averagePrecision, precisionRecallF1 } from '../core/quality.ts'
import { MetricGenerator } from '../core/sources/metrics.ts'
import { PaymentGenerator } from '../core/sources/payments.ts'
import { PhasedGenerator } from '../core/sources/phased.ts'
import { PointGenerator } from '../core/sources/points.ts'
import { trainForest } from '../core/training.ts'
import { OfflinePipeline } from './offline.ts'

export const evalSources = ['phased', 'payments', 'points', 'metrics'] as const
export type EvalSource = (typeof evalSources)[number]

export interface EvalOptions {
  source: EvalSource
  /** Events generated in all, training window included (250,000 = one phased cycle). */
  events: number
  /** Event number of the first event (phased: fast-forwarded to it). */
  from?: number
  /** The first this many events train the Isolation Forest (0 = no forest). */
  trainEvents: number
  seed: number
  /** score.threshold: an event is flagged when a calibrated score is at or above it. */
  threshold: number
  partitions: number
  trees?: number
  sampleSize?: number
  /** Rule thresholds (the score.* settings); defaults where not given. */
  rules?: RuleOptions
}

/** Quality of one detector on one slice of events. */
export interface DetectorQuality {
  precision: number
  recall: number
  f1: number
  /** Average precision (area under the precision–recall curve); null without positives. */
  prAuc: number | null
  flagged: number
}

export interface SliceQuality {
  events: number
  positives: number
  detectors: Record<string, DetectorQuality>
}

export interface EvalReport {
  source: EvalSource
  seed: number
  from: number
  events: number
  trainEvents: number
  evaluated: number
  threshold: number
  partitions: number
  model: string | null
  detectors: string[]
  phases: Record<string, SliceQuality>
  overall: SliceQuality
  seconds: number
  eventsPerSecond: number
}

/** `rules` is a detector too: 1 when any rule fired. `ensemble` is the combined score. */
const allDetectors = [...detectorNames, 'rules', 'ensemble'] as const

function generatorOf(options: EvalOptions): () => LookoutEvent {
  const from = options.from ?? 0
  const startTimeMs = Date.UTC(2025, 0, 1)
  switch (options.source) {
    case 'phased': {
      const generator = new PhasedGenerator({ seed: options.seed })
      if (from > 0) generator.fastForward(from)
      return () => generator.next(startTimeMs / 1000)
    }
    case 'payments': {
      const generator = new PaymentGenerator({ seed: options.seed, startTimeMs })
      for (let i = 0; i < from; i++) generator.next(startTimeMs / 1000)
      return () => generator.next(startTimeMs / 1000)
    }
    case 'points': {
      const generator = new PointGenerator({ seed: options.seed, firstId: from })
      let timeMs = startTimeMs + from * 10
      return () => {
        timeMs += 10
        return generator.next(timeMs)
      }
    }
    case 'metrics': {
      const generator = new MetricGenerator({ seed: options.seed, startTimeMs })
      for (let i = 0; i < from; i++) generator.next()
      return () => generator.next()
    }
  }
}

/** Runs the source through enrich + score and measures every detector against the labels. */
export function runEval(options: EvalOptions): EvalReport {
  if (!Number.isInteger(options.events) || options.events < 1)
    throw new RangeError(`events must be a positive integer, got ${options.events}`)
  const trainEvents = Math.min(options.trainEvents, options.events - 1)
  const started = performance.now()
  const next = generatorOf(options)
  const pipeline = new OfflinePipeline({
    partitions: options.partitions,
    ...(options.rules ? { rules: options.rules } : {}),
  })

  // Training window: the stream runs without a model (its detectors learn, as they would),
  // and its enriched events are what `lookout train` would read from enriched-features.
  const training: EnrichedEvent[] = new Array(trainEvents)
  for (let i = 0; i < trainEvents; i++) {
    const enriched = pipeline.enrich(next())
    training[i] = enriched
    pipeline.score(enriched)
  }
  let model: LoadedModel | undefined
  if (trainEvents > 0) {
    const kind = training[0]!.kind
    const { forest } = trainForest(kind, training, {
      seed: options.seed,
      holdout: 0,
      ...(options.trees === undefined ? {} : { nTrees: options.trees }),
      ...(options.sampleSize === undefined ? {} : { sampleSize: options.sampleSize }),
    })
    model = { version: `eval-${options.source}-${options.seed}`, kind, forest }
    pipeline.refreshModels((k) => (k === kind ? model : undefined))
  }
  training.length = 0

  const evaluated = options.events - trainEvents
  const labels = new Uint8Array(evaluated)
  const phases: (Phase | undefined)[] = new Array(evaluated)
  const scores = new Map<string, Float64Array>()
  const present = new Set<string>()
  const column = (name: string): Float64Array => {
    let values = scores.get(name)
    if (!values) {
      values = new Float64Array(evaluated)
      scores.set(name, values)
    }
    return values
  }
  const ensemble = column('ensemble')
  const rules = column('rules')
  present.add('ensemble').add('rules')
  for (let i = 0; i < evaluated; i++) {
    const event = next()
    const scored = pipeline.process(event)
    labels[i] = labelOf(event) ?? 0
    phases[i] = truthOf(event).phase
    ensemble[i] = scored.score
    rules[i] = scored.rules.length > 0 ? 1 : 0
    for (const name in scored.scores) {
      if (name.startsWith('rule:')) continue
      if (!present.has(name)) present.add(name)
      column(name)[i] = scored.scores[name]!
    }
  }
  const seconds = (performance.now() - started) / 1000

  const detectors = allDetectors.filter((name) => present.has(name))
  const slice = (indices: number[] | undefined): SliceQuality => {
    const count = indices ? indices.length : evaluated
    const sliceLabels = indices ? Uint8Array.from(indices, (i) => labels[i]!) : labels
    let positives = 0
    for (let i = 0; i < count; i++) positives += sliceLabels[i]!
    const result: Record<string, DetectorQuality> = {}
    for (const name of detectors) {
      const all = scores.get(name)!
      const values = indices ? Float64Array.from(indices, (i) => all[i]!) : all
      const predictions = new Uint8Array(count)
      let flagged = 0
      for (let i = 0; i < count; i++) {
        if (values[i]! >= options.threshold) {
          predictions[i] = 1
          flagged++
        }
      }
      const quality = precisionRecallF1(predictions, sliceLabels)
      result[name] = {
        precision: quality.precision,
        recall: quality.recall,
        f1: quality.f1,
        prAuc: positives > 0 ? averagePrecision(values, sliceLabels) : null,
        flagged,
      }
    }
    return { events: count, positives, detectors: result }
  }

  const phaseSlices: Record<string, SliceQuality> = {}
  if (options.source === 'phased') {
    const byPhase = new Map<Phase, number[]>()
    for (let i = 0; i < evaluated; i++) {
      const phase = phases[i]!
      let list = byPhase.get(phase)
      if (!list) {
        list = []
        byPhase.set(phase, list)
      }
      list.push(i)
    }
    for (const phase of ['normal', 'drift', 'attack'] as const) {
      const indices = byPhase.get(phase)
      if (indices) phaseSlices[phase] = slice(indices)
    }
  }
  return {
    source: options.source,
    seed: options.seed,
    from: options.from ?? 0,
    events: options.events,
    trainEvents,
    evaluated,
    threshold: options.threshold,
    partitions: options.partitions,
    model: model?.version ?? null,
    detectors: [...detectors],
    phases: phaseSlices,
    overall: slice(undefined),
    seconds,
    eventsPerSecond: options.events / seconds,
  }
}

const number = (value: number) => value.toLocaleString('en-US')
const fixed = (value: number | null) => (value === null || Number.isNaN(value) ? '-' : value.toFixed(3))

/** The report as a table a person reads: one block per phase, one row per detector. */
export function formatEvalTable(report: EvalReport): string {
  const from = report.from
  const lines = [
    `lookout eval: source ${report.source}, seed ${report.seed}, events ${number(from)}–${number(from + report.events)}, ` +
      `${report.partitions} partitions, threshold ${report.threshold}`,
    report.model
      ? `isolation forest trained on the first ${number(report.trainEvents)} events; ${number(report.evaluated)} events evaluated`
      : `no isolation forest (no training events); ${number(report.evaluated)} events evaluated`,
    '',
  ]
  const header = ['slice', 'events', 'positives', 'detector', 'precision', 'recall', 'F1', 'PR-AUC', 'flagged']
  const rows: string[][] = []
  const slices: [string, SliceQuality][] = [...Object.entries(report.phases), ['overall', report.overall]]
  for (const [name, quality] of slices) {
    report.detectors.forEach((detector, i) => {
      const q = quality.detectors[detector]!
      rows.push([
        i === 0 ? name : '',
        i === 0 ? number(quality.events) : '',
        i === 0 ? `${number(quality.positives)} (${((100 * quality.positives) / quality.events).toFixed(1)}%)` : '',
        detector,
        fixed(q.precision),
        fixed(q.recall),
        fixed(q.f1),
        fixed(q.prAuc),
        number(q.flagged),
      ])
    })
  }
  const widths = header.map((title, c) => Math.max(title.length, ...rows.map((row) => row[c]!.length)))
  const render = (row: string[]) =>
    row
      .map((cell, c) => (c <= 0 || c === 3 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd()
  lines.push(render(header))
  let previous = ''
  for (const row of rows) {
    if (row[0] !== '' && previous !== '') lines.push('')
    previous = row[0] || previous
    lines.push(render(row))
  }
  lines.push(
    '',
    `${number(report.events)} events in ${report.seconds.toFixed(1)} s (${number(Math.round(report.eventsPerSecond))} events/s: generate, enrich, train, score)`,
  )
  return `${lines.join('\n')}\n`
}
