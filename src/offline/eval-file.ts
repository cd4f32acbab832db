// `lookout eval --input FILE`: a labelled file of one's own events (CSV or JSON Lines), in file
// order, through the stream's own enrich and score code (`OfflinePipeline`), measured against
// its labels.
//
// Protocol: the first `trainFraction` of the rows is what `lookout train` would read from
// enriched-features: the Isolation Forest is trained on their features. The file is then
// scored from its first row by a fresh pipeline with that model live from the start (as if it
// had been promoted before the file's first event), so every row gets a score from every
// detector: the forest's, and those of the detectors that learn as the stream goes (Half-Space
// Trees, the per-entity statistics), which see each row before they learn from it. This is
// the protocol of the scikit-learn and River references in bench/real-data.ts.
//
// Each detector is ranked (ROC-AUC, average precision) by its raw score, the number the model
// computes; the ensemble by its combined score. Precision, recall and F1 are those of the
// stream's flags: a calibrated score at or above `score.threshold`.
import { existsSync } from 'node:fs'
import { basename, extname } from 'node:path'
import { readSchemaFile, resolveSchema } from '../config/schemas.ts'
import { registerSchema } from '../core/kinds.ts'
import type { EnrichedEvent } from '../core/pipeline/events.ts'
import type { LoadedModel } from '../core/pipeline/scorer.ts'
import { averagePrecision, precisionRecallF1, rocAuc } from '../core/quality.ts'
import { type CompiledSchema, compileSchema, type DeclaredEvent } from '../core/schemas/compile.ts'
import {
  type EventSchemaDeclaration,
  inferSchemaFromHeader,
  validateSchemaDeclaration,
} from '../core/schemas/declaration.ts'
import { trainForest } from '../core/training.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { declaredFromCsv, declaredFromJson, OfflinePipeline, readRows, splitCsv } from './offline.ts'

export { readSchemaFile, resolveSchema }

export interface FileEvalOptions {
  input: string
  /** A schema file, or the name of a declared schema; undefined = infer from an `x0..xN,label` header. */
  schema?: string
  /** Schemas declared in the config file, found by name. */
  declared?: readonly EventSchemaDeclaration[]
  /** Label field (overrides the schema's). */
  label?: string
  /** Share of the first rows that trains the Isolation Forest (0 = no forest). */
  trainFraction: number
  threshold: number
  partitions: number
  seed: number
  trees?: number
  sampleSize?: number
}

export interface FileDetectorQuality {
  rocAuc: number | null
  ap: number | null
  precision: number
  recall: number
  f1: number
  flagged: number
}

export interface FileEvalReport {
  input: string
  schema: string
  /** How the schema was found: a file, a declared name, or inferred from the header. */
  schemaSource: 'file' | 'config' | 'inferred'
  rows: number
  positives: number
  rejected: number
  /** The first few rejected rows: line and reason. */
  rejections: { line: number; reason: string }[]
  trainRows: number
  threshold: number
  partitions: number
  model: string | null
  detectors: Record<string, FileDetectorQuality>
  ensemble: FileDetectorQuality
  seconds: number
}

function usage(message: string, hint: string): LookoutError {
  return new LookoutError(ErrorCodes.USAGE, message, { hint })
}

function withLabel(declaration: EventSchemaDeclaration, label: string | undefined): EventSchemaDeclaration {
  if (label === undefined || label === declaration.label) return declaration
  const fields = declaration.fields.some((field) => field.name === label)
    ? declaration.fields
    : [...declaration.fields, { name: label, type: 'number' as const }]
  return validateSchemaDeclaration({ ...declaration, fields, label }, `${declaration.name} with --label`)
}

interface Loaded {
  schema: CompiledSchema
  source: 'file' | 'config' | 'inferred'
  events: DeclaredEvent[]
  rejected: number
  rejections: { line: number; reason: string }[]
}

async function load(options: FileEvalOptions): Promise<Loaded> {
  const csv = extname(options.input).toLowerCase() === '.csv'
  if (!existsSync(options.input)) throw usage(`no such file ${options.input}`, 'give --input a CSV or JSON Lines file')
  let schema: CompiledSchema | undefined
  let source: Loaded['source'] = 'inferred'
  if (options.schema !== undefined) {
    const resolved = resolveSchema(options.schema, options.declared)
    schema = compileSchema(withLabel(resolved.declaration, options.label))
    source = resolved.source
  }
  const events: DeclaredEvent[] = []
  const rejections: { line: number; reason: string }[] = []
  let rejected = 0
  let header: string[] | undefined
  let index = 0
  for await (const row of readRows(options.input, csv)) {
    if (csv && header === undefined) {
      header = row.fields ?? splitCsv(row.text)
      if (schema === undefined) {
        const inferred = inferSchemaFromHeader(
          header,
          basename(options.input, extname(options.input)).replace(/[^A-Za-z0-9_.-]/g, '_'),
        )
        if (!inferred)
          throw usage(
            `${options.input} needs a schema: its header is not x0..xN,label`,
            'give --schema FILE|NAME (a schema file, or a schema declared in the config file)',
          )
        schema = compileSchema(withLabel(inferred, options.label))
      }
      continue
    }
    if (schema === undefined)
      throw usage(`${options.input} needs a schema`, 'give --schema FILE|NAME for a JSON Lines file')
    try {
      let event: DeclaredEvent
      if (csv) {
        if (row.syntaxError !== undefined) throw new Error(row.syntaxError)
        event = declaredFromCsv(schema, header!, row.fields ?? splitCsv(row.text), index)
      } else event = declaredFromJson(schema, row.text, index)
      if (schema.label(event) === undefined) throw new Error(`no label: field ${schema.declaration.label ?? '(none)'}`)
      events.push(event)
      index++
    } catch (error) {
      rejected++
      if (rejections.length < 5) rejections.push({ line: row.line, reason: (error as Error).message })
    }
  }
  if (schema === undefined) throw usage(`${options.input} is empty`, 'give a file with a header and rows')
  if (schema.declaration.label === undefined)
    throw usage(`schema ${schema.name} declares no label field`, 'give --label FIELD (a 0/1 or boolean field)')
  return { schema, source, events, rejected, rejections }
}

function quality(
  ranking: Float64Array,
  flags: Float64Array,
  labels: Uint8Array,
  threshold: number,
  positives: number,
): FileDetectorQuality {
  const predictions = new Uint8Array(labels.length)
  let flagged = 0
  for (let i = 0; i < labels.length; i++)
    if (flags[i]! >= threshold) {
      predictions[i] = 1
      flagged++
    }
  const q = precisionRecallF1(predictions, labels)
  const both = positives > 0 && positives < labels.length
  return {
    rocAuc: both ? rocAuc(ranking, labels) : null,
    ap: positives > 0 ? averagePrecision(ranking, labels) : null,
    precision: q.precision,
    recall: q.recall,
    f1: q.f1,
    flagged,
  }
}

/** Runs the file through enrich + score and measures every detector and the ensemble. */
export async function runFileEval(options: FileEvalOptions): Promise<FileEvalReport> {
  if (!(options.trainFraction >= 0 && options.trainFraction < 1))
    throw usage(`--train-fraction must be a number from 0 to below 1, got ${options.trainFraction}`, 'e.g. 0.2')
  const started = performance.now()
  const { schema, source, events, rejected, rejections } = await load(options)
  if (events.length < 2)
    throw usage(`${options.input} has ${events.length} valid rows`, 'give at least two labelled rows')
  const kind = schema.name
  registerSchema(schema)

  // Training: the rows a promotion would have been trained on, enriched as the stream enriches.
  const trainRows = Math.floor(events.length * options.trainFraction)
  let model: LoadedModel | undefined
  if (trainRows >= 10) {
    const training = new OfflinePipeline({ partitions: options.partitions, seed: options.seed })
    const enriched: EnrichedEvent[] = []
    for (let i = 0; i < trainRows; i++) enriched.push(training.enrich(events[i] as never))
    const { forest } = trainForest(kind as never, enriched, {
      seed: options.seed,
      holdout: 0,
      ...(options.trees === undefined ? {} : { nTrees: options.trees }),
      ...(options.sampleSize === undefined ? {} : { sampleSize: options.sampleSize }),
    })
    model = { version: `eval-${kind}-${options.seed}`, kind: kind as never, forest }
  }

  const pipeline = new OfflinePipeline({
    partitions: options.partitions,
    seed: options.seed,
    rawScores: true,
    models: (k) => (k === kind ? model : undefined),
  })
  const n = events.length
  const labels = new Uint8Array(n)
  const raw = new Map<string, Float64Array>()
  const calibrated = new Map<string, Float64Array>()
  const ensemble = new Float64Array(n)
  const column = (map: Map<string, Float64Array>, name: string) => {
    let values = map.get(name)
    if (!values) {
      values = new Float64Array(n)
      map.set(name, values)
    }
    return values
  }
  let positives = 0
  for (let i = 0; i < n; i++) {
    const event = events[i]!
    const scored = pipeline.process(event as never)
    labels[i] = schema.label(event) ?? 0
    positives += labels[i]!
    ensemble[i] = scored.score
    for (const [name, value] of Object.entries(scored.raw ?? {})) column(raw, name)[i] = value
    for (const [name, value] of Object.entries(scored.scores))
      if (!name.startsWith('rule:')) column(calibrated, name)[i] = value
  }
  const detectors: Record<string, FileDetectorQuality> = {}
  for (const [name, values] of raw)
    detectors[name] = quality(values, calibrated.get(name) ?? new Float64Array(n), labels, options.threshold, positives)
  return {
    input: options.input,
    schema: kind,
    schemaSource: source,
    rows: n,
    positives,
    rejected,
    rejections,
    trainRows,
    threshold: options.threshold,
    partitions: options.partitions,
    model: model?.version ?? null,
    detectors,
    ensemble: quality(ensemble, ensemble, labels, options.threshold, positives),
    seconds: (performance.now() - started) / 1000,
  }
}

const fixed = (value: number | null) => (value === null || Number.isNaN(value) ? '-' : value.toFixed(3))
const count = (value: number) => value.toLocaleString('en-US')

/** The report as a table a person reads. */
export function formatFileEvalTable(report: FileEvalReport): string {
  const how =
    report.schemaSource === 'inferred'
      ? `schema ${report.schema} inferred from the header x0..xN,label (every column a number, label the label, one entity, row order as time)`
      : `schema ${report.schema} (${report.schemaSource === 'file' ? 'schema file' : 'declared in the config file'})`
  const lines = [
    `lookout eval: ${report.input}, ${how}`,
    `${count(report.rows)} rows, ${count(report.positives)} positives (${((100 * report.positives) / report.rows).toFixed(1)}%)` +
      (report.rejected > 0 ? `, ${count(report.rejected)} rows rejected` : ''),
    report.model
      ? `isolation forest trained on the first ${count(report.trainRows)} rows; every row scored, threshold ${report.threshold}`
      : `no isolation forest (fewer than 10 training rows); every row scored, threshold ${report.threshold}`,
    ...report.rejections.map((r) => `  rejected line ${r.line}: ${r.reason}`),
    '',
  ]
  const header = ['detector', 'ROC-AUC', 'AP', 'precision', 'recall', 'F1', 'flagged']
  const rows = [...Object.entries(report.detectors), ['ensemble', report.ensemble] as const].map(([name, q]) => [
    name,
    fixed(q.rocAuc),
    fixed(q.ap),
    fixed(q.precision),
    fixed(q.recall),
    fixed(q.f1),
    count(q.flagged),
  ])
  const widths = header.map((title, c) => Math.max(title.length, ...rows.map((row) => row[c]!.length)))
  const render = (row: string[]) =>
    row
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd()
  lines.push(render(header), ...rows.map(render), '', `${count(report.rows)} rows in ${report.seconds.toFixed(1)} s`)
  return `${lines.join('\n')}\n`
}

/** The `--json` last line: rows, positives, and per detector and the ensemble its ROC-AUC, AP, precision, recall and F1. */
export function fileEvalJson(report: FileEvalReport): string {
  const pick = (q: FileDetectorQuality) => ({
    rocAuc: q.rocAuc,
    ap: q.ap,
    precision: q.precision,
    recall: q.recall,
    f1: q.f1,
    flagged: q.flagged,
  })
  return JSON.stringify({
    rows: report.rows,
    positives: report.positives,
    schema: report.schema,
    schemaSource: report.schemaSource,
    rejected: report.rejected,
    trainRows: report.trainRows,
    threshold: report.threshold,
    detectors: Object.fromEntries(Object.entries(report.detectors).map(([name, q]) => [name, pick(q)])),
    ensemble: pick(report.ensemble),
  })
}
