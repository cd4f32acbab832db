// Offline scoring (backtesting) of a file with the stream's own code path: every event goes
// through `enrich` with its entity's state, then to the `PartitionScorer` of the partition
// Kafka would put it in (the client's default partitioner: murmur2(key) >>> 0, modulo the
// partition count, key = entity). Within one partition the order is the file's order, which
// is the stream's order when one producer wrote the file's events in that order; the order
// across partitions does not matter, because every piece of scoring state is per partition.
//
// A univariate `timestamp,value` series is scored by the SeriesDetector alone (calibrated in
// [0, 1], one threshold for every series).
import { once } from 'node:events'
import { createReadStream, createWriteStream, readFileSync, renameSync, rmSync, type WriteStream } from 'node:fs'
import { basename, extname } from 'node:path'
import { createInterface } from 'node:readline'
import { murmur2 } from '@platformatic/kafka'
import { parse as parseCsv } from 'csv-parse/sync'
import { IsolationForest } from '../core/anomaly/isolation-forest.ts'
import { SeriesDetector } from '../core/anomaly/series.ts'
import type { LookoutEvent } from '../core/events.ts'
import { type EventKind, isEventKind } from '../core/features/index.ts'
import { detectorNames, kindOf, type RuleOptions, registeredKinds, registerSchema } from '../core/kinds.ts'
import { decodeEnriched } from '../core/pipeline/enriched-record.ts'
import { decodeEvent, type EnrichedEvent, enrich, entityKeyOf, type ScoredEvent } from '../core/pipeline/events.ts'
import { type LoadedModel, PartitionScorer } from '../core/pipeline/scorer.ts'
import { type CompiledSchema, declaredFromCsv, declaredFromJson, setPath } from '../core/schemas/compile.ts'
import { parseTimestamp } from '../core/sources/metrics.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'

/** The partition the Kafka client's default partitioner gives `key` (see partitioners.js). */
export function partitionOf(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key)) >>> 0) % partitions
}

export interface OfflinePipelineOptions {
  /** Partitions of enriched-features (topics.partitions). */
  partitions: number
  /** The live model of each kind; none = a fresh stream without a model. */
  models?: (kind: EventKind) => LoadedModel | undefined
  /** The score service's seed (scoreProcessor's default). */
  seed?: number
  /** Rule thresholds (the score.* settings); defaults where not given. */
  rules?: RuleOptions
  /** Scored events also carry each detector's raw score (`raw`). */
  rawScores?: boolean
  /** Only events scoring at least this are explained (`ScorerOptions.explainFrom`); default every event. */
  explainFrom?: number
}

/** enrich + score in one process, state kept exactly as the two services keep it. */
export class OfflinePipeline {
  readonly partitions: number
  readonly #states = new Map<string, unknown>()
  readonly #partitionOfEntity = new Map<string, number>()
  readonly #scorers: PartitionScorer[]

  constructor(options: OfflinePipelineOptions) {
    if (!Number.isInteger(options.partitions) || options.partitions < 1)
      throw new RangeError(`partitions must be an integer ≥ 1, got ${options.partitions}`)
    this.partitions = options.partitions
    const models = options.models ?? (() => undefined)
    const scorerOptions = {
      ...(options.rules ? { rules: options.rules } : {}),
      ...(options.rawScores ? { rawScores: true } : {}),
      ...(options.explainFrom === undefined ? {} : { explainFrom: options.explainFrom }),
    }
    this.#scorers = Array.from(
      { length: options.partitions },
      () => new PartitionScorer(models, options.seed ?? 1, undefined, scorerOptions),
    )
  }

  /** The enrich service's step: validates the event time, reads and writes the entity's state. */
  enrich(event: LookoutEvent): EnrichedEvent {
    const entity = entityKeyOf(event)
    const { enriched, nextState } = enrich(event, this.#states.get(entity))
    this.#states.set(entity, nextState)
    return enriched
  }

  /** The score service's step, on the partition enriched-features would hold the event in. */
  score(enriched: EnrichedEvent): ScoredEvent {
    let partition = this.#partitionOfEntity.get(enriched.entity)
    if (partition === undefined) {
      partition = partitionOf(enriched.entity, this.partitions)
      this.#partitionOfEntity.set(enriched.entity, partition)
    }
    // The scorer reads what enrich wrote to the topic: JSON. Only non-finite numbers and -0
    // change on that trip, so the trip is taken only when such a value is present.
    return this.#scorers[partition]!.score(jsonClean(enriched) ? enriched : decodeEnriched(JSON.stringify(enriched)))
  }

  process(event: LookoutEvent): ScoredEvent {
    return this.score(this.enrich(event))
  }

  /** Switches every partition to the models now returned by `models` (the stream's hot swap). */
  refreshModels(models: (kind: EventKind) => LoadedModel | undefined): void {
    for (const scorer of this.#scorers) scorer.refreshModels(models)
  }
}

function jsonClean(enriched: EnrichedEvent): boolean {
  for (const value of enriched.features) if (!Number.isFinite(value) || Object.is(value, -0)) return false
  return true
}

/**
 * Loads an Isolation Forest for `--model`: a model artifact (as `lookout train` writes to
 * `<dataDir>/models/<kind>/<version>.json`) or its registry metadata (with `artifact.path`).
 * The kind is the one whose feature schema the forest was trained on; the version is the
 * file name.
 */
export function loadModelFile(path: string): LoadedModel {
  let state: unknown
  try {
    state = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new LookoutError(ErrorCodes.MODEL_MISSING, `cannot read model file ${path}: ${(cause as Error).message}`, {
      hint: 'give the path of an Isolation Forest artifact written by `lookout train` (a .json file)',
      cause,
    })
  }
  const artifact = (state as { artifact?: { path?: unknown } } | null)?.artifact
  if (artifact && typeof artifact.path === 'string') return loadModelFile(artifact.path)
  let forest: IsolationForest
  try {
    forest = IsolationForest.fromJSON(state)
  } catch (cause) {
    throw new LookoutError(ErrorCodes.MODEL_MISSING, `${path} is not an Isolation Forest artifact`, {
      hint: 'give the path of an Isolation Forest artifact written by `lookout train` (a .json file)',
      cause,
    })
  }
  const names = forest.featureNames.join(',')
  const kind = registeredKinds().find((k) => kindOf(k).schema.featureNames.join(',') === names)
  if (!kind)
    throw new LookoutError(ErrorCodes.MODEL_MISSING, `model ${path} was trained on features no event kind has`, {
      hint: `its features are ${names}; retrain it with \`lookout train\` on this version of Lookout`,
    })
  return { version: basename(path, extname(path)), kind, forest }
}

// ---------------------------------------------------------------------------------------
// Files

export type InputFormat = 'csv' | 'jsonl'

export interface ScoreFileOptions {
  input: string
  output: string
  /** Score a univariate `timestamp,value` series; undefined = detect from the header. */
  series?: boolean
  partitions: number
  model?: LoadedModel
  /** Add each detector's score (and the rules that fired) beside anomaly_score. */
  details?: boolean
  /** Write malformed rows to `rejectedPath` and go on, instead of stopping at the first. */
  skipInvalid?: boolean
  rejectedPath?: string
  /** Rows at or above it are counted in the summary (score.threshold). */
  threshold: number
  seed?: number
  /** Rule thresholds (the score.* settings). */
  rules?: RuleOptions
  /** A declared event schema the rows follow (instead of the built-in kinds); registered here. */
  schema?: CompiledSchema
}

export interface ScoreFileSummary {
  format: InputFormat
  mode: 'events' | 'series'
  rows: number
  scored: number
  rejected: number
  rejectedPath: string | undefined
  flagged: number
  seconds: number
}

interface Row {
  /** The record's text as in the file, without its line terminator. */
  text: string
  /** 1-based line number of the record's first line. */
  line: number
  /** A CSV record's fields, or why csv-parse could not read them. */
  fields?: string[]
  syntaxError?: string
}

/**
 * The file's records with their text and first line, blank lines skipped; a CSV record's fields
 * are read by csv-parse, a batch of records per call. Records are framed here (a CSV record goes
 * on to the next line while a quoted field is open, i.e. its quote count is odd) so that each
 * keeps its text as in the file (the output repeats it) and a malformed one is reported with its
 * line and skipped.
 */
export async function* readRows(path: string, csv: boolean): AsyncGenerator<Row> {
  if (!csv) {
    yield* frameRows(path, false)
    return
  }
  let batch: Row[] = []
  for await (const row of frameRows(path, true)) {
    batch.push(row)
    if (batch.length >= csvBatch) {
      yield* parseFields(batch)
      batch = []
    }
  }
  yield* parseFields(batch)
}

const csvBatch = 512
const csvOptions = { relax_column_count: true, trim: true, bom: true } as const

/** Sets the fields of every row: one csv-parse call for the batch, one per row if that fails. */
function parseFields(rows: Row[]): Row[] {
  if (rows.length === 0) return rows
  try {
    const records = parseCsv(rows.map((row) => row.text).join('\n'), csvOptions) as string[][]
    if (records.length === rows.length) {
      for (let i = 0; i < rows.length; i++) rows[i]!.fields = records[i]!
      return rows
    }
  } catch {
    // a malformed record: found below, row by row
  }
  for (const row of rows) {
    try {
      row.fields = splitCsv(row.text)
    } catch (error) {
      row.syntaxError = (error as Error).message
    }
  }
  return rows
}

/** A CSV row's fields; throws the reason csv-parse could not read them. */
function fieldsOf(row: Row): string[] {
  if (row.syntaxError !== undefined) throw new Error(row.syntaxError)
  return row.fields ?? splitCsv(row.text)
}

async function* frameRows(path: string, csv: boolean): AsyncGenerator<Row> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 })
  const lines = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY })
  let line = 0
  let pending: string | undefined
  let pendingLine = 0
  try {
    for await (const text of lines) {
      line++
      if (pending !== undefined) {
        pending += `\n${text}`
        if (quotesBalanced(pending)) {
          yield { text: pending, line: pendingLine }
          pending = undefined
        }
        continue
      }
      if (text.trim() === '') continue
      if (csv && !quotesBalanced(text)) {
        pending = text
        pendingLine = line
        continue
      }
      yield { text, line }
    }
    if (pending !== undefined) yield { text: pending, line: pendingLine }
  } finally {
    lines.close()
    stream.destroy()
  }
}

function quotesBalanced(text: string): boolean {
  let quotes = 0
  for (let i = text.indexOf('"'); i >= 0; i = text.indexOf('"', i + 1)) quotes++
  return quotes % 2 === 0
}

/** The fields of one CSV record (RFC 4180 quoting, whitespace around fields trimmed), parsed by csv-parse. */
export function splitCsv(text: string): string[] {
  let records: string[][]
  try {
    records = parseCsv(text, csvOptions) as string[][]
  } catch (error) {
    // csv-parse names the line within the record; the caller names the record's row
    throw new Error((error as Error).message.replace(/ at line \d+/, ''))
  }
  if (records.length !== 1) throw new Error(`expected one CSV record, got ${records.length}`)
  return records[0]!
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value
}

const seriesColumns = new Set(['timestamp', 'value', 'anomaly_label', 'label', 'is_anomaly'])

function convertCell(kind: EventKind, column: string, cell: string): unknown {
  const type = kindOf(kind).schema.fieldTypes.get(column)
  if (type === 'number') {
    const value = Number(cell)
    if (!Number.isFinite(value)) throw new Error(`field ${column}: ${JSON.stringify(cell)} is not a finite number`)
    return value
  }
  if (type === 'boolean') {
    const lower = cell.toLowerCase()
    if (lower === 'true' || lower === '1') return true
    if (lower === 'false' || lower === '0') return false
    throw new Error(`field ${column}: ${JSON.stringify(cell)} is not true, false, 1 or 0`)
  }
  return cell
}

/** One CSV row of event fields → the event, validated exactly as the enrich service validates. */
export function eventFromCsv(columns: readonly string[], fields: readonly string[]): LookoutEvent {
  if (fields.length !== columns.length) throw new Error(`expected ${columns.length} columns, got ${fields.length}`)
  const kindColumn = columns.indexOf('kind')
  const kind = kindColumn >= 0 && fields[kindColumn] !== '' ? fields[kindColumn]! : 'transaction'
  if (!isEventKind(kind))
    throw new Error(`unknown kind ${JSON.stringify(kind)}; expected ${registeredKinds().join(', ')}`)
  const event: Record<string, unknown> = { kind }
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i]!
    const cell = fields[i]!
    if (column === 'kind') continue
    if (cell === '') continue
    setPath(event, column.split('.'), convertCell(kind, column, cell))
  }
  return decodeEvent(JSON.stringify(event))
}

/** One JSON Lines row → the event, validated exactly as the enrich service validates. */
function eventFromJson(text: string): LookoutEvent {
  return decodeEvent(text)
}

export { declaredFromCsv, declaredFromJson, rowTimeOrigin } from '../core/schemas/compile.ts'

class Output {
  readonly #stream: WriteStream
  #buffer = ''
  #lines = 0

  constructor(path: string) {
    this.#stream = createWriteStream(path, { encoding: 'utf8' })
  }

  async line(text: string): Promise<void> {
    this.#buffer += `${text}\n`
    if (++this.#lines >= 512) await this.flush()
  }

  async flush(): Promise<void> {
    if (this.#buffer === '') return
    const chunk = this.#buffer
    this.#buffer = ''
    this.#lines = 0
    if (!this.#stream.write(chunk)) await once(this.#stream, 'drain')
  }

  async close(): Promise<void> {
    await this.flush()
    await new Promise<void>((resolve, reject) =>
      this.#stream.end((error?: Error | null) => (error ? reject(error) : resolve())),
    )
  }

  destroy(): void {
    this.#stream.destroy()
  }
}

function detectFormat(path: string, firstRow: string | undefined): InputFormat {
  const extension = extname(path).toLowerCase()
  if (extension === '.csv') return 'csv'
  if (extension === '.jsonl' || extension === '.ndjson' || extension === '.json') return 'jsonl'
  return firstRow?.trimStart().startsWith('{') ? 'jsonl' : 'csv'
}

const detailColumns = detectorNames
const seriesDetailColumns = ['value', 'level', 'season', 'stuck'] as const

function rowError(row: Row, reason: string): LookoutError {
  return new LookoutError(ErrorCodes.INPUT_INVALID, `row ${row.line}: ${reason}`, {
    hint: 'fix the row, or pass --skip-invalid to write malformed rows to a side file and score the rest',
  })
}

/**
 * Scores `input` into `output` row by row (streamed: memory does not grow with the file).
 * The output appears only when the run succeeds (written to `<output>.partial`, then renamed).
 */
export async function scoreFile(options: ScoreFileOptions): Promise<ScoreFileSummary> {
  const started = performance.now()
  const partial = `${options.output}.partial`
  const rejectedPath = options.skipInvalid ? (options.rejectedPath ?? `${options.output}.rejected.jsonl`) : undefined
  let rows: AsyncGenerator<Row>
  let first: IteratorResult<Row>
  try {
    rows = readRows(options.input, true)
    first = await rows.next()
  } catch (cause) {
    throw new LookoutError(ErrorCodes.FILE_UNREADABLE, `cannot read ${options.input}: ${(cause as Error).message}`, {
      hint: 'check the path and its permissions',
      cause,
    })
  }
  const format = detectFormat(options.input, first.done ? undefined : first.value.text)
  if (format === 'jsonl') {
    // JSON Lines are read line by line: a quote inside a string does not continue a record
    await rows.return(undefined)
    rows = readRows(options.input, false)
    first = await rows.next()
  }
  const output = new Output(partial)
  const rejected = rejectedPath ? new Output(rejectedPath) : undefined
  const summary: ScoreFileSummary = {
    format,
    mode: 'events',
    rows: 0,
    scored: 0,
    rejected: 0,
    rejectedPath,
    flagged: 0,
    seconds: 0,
  }
  const reject = async (row: Row, reason: string): Promise<void> => {
    if (!rejected) throw rowError(row, reason)
    summary.rejected++
    await rejected.line(JSON.stringify({ row: row.line, reason, text: row.text }))
  }
  if (options.schema) registerSchema(options.schema)
  const pipeline = new OfflinePipeline({
    partitions: options.partitions,
    ...(options.model
      ? { models: (kind: EventKind) => (kind === options.model?.kind ? options.model : undefined) }
      : {}),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.rules ? { rules: options.rules } : {}),
  })

  try {
    if (first.done) {
      await output.close()
      await rejected?.close()
      renameSync(partial, options.output)
      summary.seconds = (performance.now() - started) / 1000
      return summary
    }
    if (format === 'jsonl') {
      if (options.series)
        throw new LookoutError(ErrorCodes.USAGE, '--series needs a CSV file of timestamp,value rows', {
          hint: 'drop --series to score a JSON Lines file of events',
        })
      for (let next: IteratorResult<Row> = first; !next.done; next = await rows.next()) {
        const row = next.value
        summary.rows++
        let scored: ScoredEvent
        try {
          scored = pipeline.process(
            options.schema
              ? (declaredFromJson(options.schema, row.text, summary.rows - 1) as unknown as LookoutEvent)
              : eventFromJson(row.text),
          )
        } catch (error) {
          await reject(row, (error as Error).message)
          continue
        }
        summary.scored++
        if (scored.score >= options.threshold) summary.flagged++
        const text = row.text.trimEnd()
        const body = text.slice(0, -1).trimEnd()
        const extra = options.details ? `,"anomaly_details":${JSON.stringify(details(scored))}` : ''
        await output.line(`${body}${body.endsWith('{') ? '' : ','}"anomaly_score":${scored.score}${extra}}`)
      }
    } else {
      const headerRow = first.value
      let header: string[]
      try {
        header = fieldsOf(headerRow)
      } catch (error) {
        throw rowError(headerRow, `header: ${(error as Error).message}`)
      }
      const names = header.map((name) => name.toLowerCase())
      const headerless = header.length >= 2 && parseTimestamp(header[0]!) !== undefined && isNumeric(header[1]!)
      const seriesLike = headerless || (names.includes('value') && names.every((name) => seriesColumns.has(name)))
      const series = options.schema ? false : (options.series ?? seriesLike)
      if (series) {
        summary.mode = 'series'
        await scoreSeries(headerless ? undefined : headerRow, headerless ? first.value : undefined)
      } else {
        await output.line(
          `${headerRow.text},anomaly_score${options.details ? `,${[...detailColumns, 'rules'].map((c) => `anomaly_${c}`).join(',')}` : ''}`,
        )
        for (let next = await rows.next(); !next.done; next = await rows.next()) {
          const row = next.value
          summary.rows++
          let scored: ScoredEvent
          try {
            scored = pipeline.process(
              options.schema
                ? (declaredFromCsv(options.schema, header, fieldsOf(row), summary.rows - 1) as unknown as LookoutEvent)
                : eventFromCsv(header, fieldsOf(row)),
            )
          } catch (error) {
            await reject(row, (error as Error).message)
            continue
          }
          summary.scored++
          if (scored.score >= options.threshold) summary.flagged++
          let line = `${row.text},${scored.score}`
          if (options.details) {
            for (const column of detailColumns) line += `,${scored.scores[column] ?? ''}`
            line += `,${csvCell(scored.rules.join(';'))}`
          }
          await output.line(line)
        }
      }
    }
    await output.close()
    await rejected?.close()
    renameSync(partial, options.output)
  } catch (error) {
    output.destroy()
    rejected?.destroy()
    rmSync(partial, { force: true })
    throw error
  } finally {
    await rows.return(undefined)
  }
  summary.seconds = (performance.now() - started) / 1000
  return summary

  async function scoreSeries(headerRow: Row | undefined, firstData: Row | undefined): Promise<void> {
    let timestampColumn = 0
    let valueColumn = 1
    if (headerRow) {
      const columns = fieldsOf(headerRow).map((name) => name.toLowerCase())
      timestampColumn = columns.indexOf('timestamp')
      valueColumn = columns.indexOf('value')
      if (timestampColumn < 0 || valueColumn < 0)
        throw rowError(headerRow, 'a series needs a header naming "timestamp" and "value" columns')
      await output.line(
        `${headerRow.text},anomaly_score${options.details ? `,${seriesDetailColumns.map((c) => `anomaly_${c}`).join(',')}` : ''}`,
      )
    }
    const detector = new SeriesDetector()
    const needed = Math.max(timestampColumn, valueColumn) + 1
    const handle = async (row: Row): Promise<void> => {
      summary.rows++
      let timeMs: number | undefined
      let value: number
      try {
        const fields = fieldsOf(row)
        if (fields.length < needed) throw new Error(`expected ${needed} columns, got ${fields.length}`)
        timeMs = parseTimestamp(fields[timestampColumn]!)
        if (timeMs === undefined)
          throw new Error(`timestamp ${JSON.stringify(fields[timestampColumn])} is neither ISO-8601 nor Unix epoch`)
        if (!isNumeric(fields[valueColumn]!))
          throw new Error(`value ${JSON.stringify(fields[valueColumn])} is not a finite number`)
        value = Number(fields[valueColumn])
      } catch (error) {
        await reject(row, (error as Error).message)
        return
      }
      const score = detector.update(timeMs, value)
      summary.scored++
      if (score >= options.threshold) summary.flagged++
      let line = `${row.text},${score}`
      if (options.details) {
        const components = detector.components()
        for (const column of seriesDetailColumns) line += `,${components[column]}`
      }
      await output.line(line)
    }
    if (firstData) await handle(firstData)
    for (let next = await rows.next(); !next.done; next = await rows.next()) await handle(next.value)
  }
}

function isNumeric(text: string): boolean {
  return text.trim() !== '' && Number.isFinite(Number(text))
}

function details(scored: ScoredEvent): Record<string, unknown> {
  return { scores: scored.scores, rules: scored.rules, contributions: scored.contributions, model: scored.modelVersion }
}
