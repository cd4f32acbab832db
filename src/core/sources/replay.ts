// Dataset replay: parse and validate a dataset's records with a
// pluggable schema, then sample batches with replacement. Pure: the runner reads the file or
// object and passes the text in; randomness comes from the caller's Random.

import { parse as parseCsv } from 'csv-parse/sync'
import { z } from 'zod'
import type { ReplayedRecord } from '../events.ts'
import type { Random } from '../random.ts'
import type { RowError } from './row-error.ts'

export type { RowError } from './row-error.ts'

/** Validates one raw row: a parsed JSON value, or a CSV row as `{column: text}`. */
export interface RecordSchema<T> {
  readonly name: string
  parse(raw: unknown): { ok: true; record: T } | { ok: false; reason: string }
}

/** Wraps a zod schema; a rejection lists every issue as `field: message`. */
export function zodRecordSchema<T>(name: string, schema: z.ZodType<T>): RecordSchema<T> {
  return {
    name,
    parse(raw) {
      const result = schema.safeParse(raw)
      if (result.success) return { ok: true, record: result.data }
      const reason = result.error.issues
        .map((issue) => `${issue.path.length === 0 ? 'record' : issue.path.join('.')}: ${issue.message}`)
        .join('; ')
      return { ok: false, reason }
    },
  }
}

// CSV cells arrive as text: numbers are accepted as numeric text too.
const numberFromText = z.preprocess(
  (value) => (typeof value === 'string' && value.trim() !== '' ? Number(value) : value),
  z.number().finite(),
)
const idText = z.preprocess((value) => (typeof value === 'number' ? String(value) : value), z.string().trim().min(1))
const timestampText = z
  .string()
  .trim()
  .min(1)
  .refine((text) => !Number.isNaN(Date.parse(text)), { message: 'not a parseable date-time' })

/** The default transaction record: {id, description, amount, timestamp, merchant, operation_type, side}. */
export const transactionRecordSchema: RecordSchema<ReplayedRecord> = zodRecordSchema(
  'transaction',
  z
    .object({
      id: idText,
      description: z.string(),
      amount: numberFromText,
      timestamp: timestampText,
      merchant: z.string().trim().min(1),
      operation_type: z.enum(['debit', 'credit']),
      side: z.enum(['incoming', 'outgoing']),
    })
    .transform((fields): ReplayedRecord => ({ kind: 'record', ...fields })),
)

export interface ValidationResult<T> {
  records: T[]
  errors: RowError[]
}

export interface ValidateOptions<T> {
  schema?: RecordSchema<T>
  /**
   * File row number of `rows[0]` (default 1). Rows are numbered as lines of the file are: for
   * a CSV with a header the header is row 1, so pass 2; for JSON Lines pass 1.
   */
  firstRow?: number
}

export function validateRecords(
  rows: readonly unknown[],
  options?: ValidateOptions<ReplayedRecord>,
): ValidationResult<ReplayedRecord>
export function validateRecords<T>(
  rows: readonly unknown[],
  options: ValidateOptions<T> & { schema: RecordSchema<T> },
): ValidationResult<T>
export function validateRecords(
  rows: readonly unknown[],
  options: ValidateOptions<unknown> = {},
): ValidationResult<unknown> {
  const schema = options.schema ?? transactionRecordSchema
  const firstRow = options.firstRow ?? 1
  const result: ValidationResult<unknown> = { records: [], errors: [] }
  for (let i = 0; i < rows.length; i++) collect(schema, rows[i], firstRow + i, result)
  return result
}

function collect<T>(schema: RecordSchema<T>, raw: unknown, row: number, into: ValidationResult<T>): void {
  const parsed = schema.parse(raw)
  if (parsed.ok) into.records.push(parsed.record)
  else into.errors.push({ row, reason: parsed.reason })
}

export type DatasetFormat = 'csv' | 'jsonl'

/** The format a dataset path or object key implies, or undefined when the extension is unknown. */
export function datasetFormatOf(path: string): DatasetFormat | undefined {
  const lower = path.toLowerCase()
  if (lower.endsWith('.csv')) return 'csv'
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl'
  return undefined
}

export interface ParseDatasetOptions<T> {
  schema?: RecordSchema<T>
}

export interface DatasetResult<T> extends ValidationResult<T> {
  /** Data rows seen (valid + invalid), header and blank lines excluded. */
  rows: number
}

/**
 * Parses and validates a whole dataset. Error rows are 1-based line numbers of the text: for
 * CSV the header is line 1 and a record spanning lines (quoted newlines) is numbered by its
 * first line; blank lines are skipped but counted. A CSV syntax error (an unclosed quote)
 * ends the parse with one error at the line where it was found.
 */
export function parseDataset(text: string, format: DatasetFormat): DatasetResult<ReplayedRecord>
export function parseDataset<T>(
  text: string,
  format: DatasetFormat,
  options: ParseDatasetOptions<T> & { schema: RecordSchema<T> },
): DatasetResult<T>
export function parseDataset(
  text: string,
  format: DatasetFormat,
  options: ParseDatasetOptions<unknown> = {},
): DatasetResult<unknown> {
  const schema = options.schema ?? transactionRecordSchema
  const result: DatasetResult<unknown> = { records: [], errors: [], rows: 0 }
  if (format === 'jsonl') {
    const lines = text.split(/\r\n|\n|\r/)
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim()
      if (line === '') continue
      result.rows++
      let value: unknown
      try {
        value = JSON.parse(line)
      } catch (error) {
        result.errors.push({ row: i + 1, reason: `invalid JSON: ${(error as Error).message}` })
        continue
      }
      collect(schema, value, i + 1, result)
    }
    return result
  }

  let parsed: { record: string[]; info: { lines: number } }[]
  try {
    // with `info` each record comes wrapped with its position; the typings do not model that
    parsed = parseCsv(text, { info: true, relax_column_count: true, skip_empty_lines: true, bom: true }) as unknown as {
      record: string[]
      info: { lines: number }
    }[]
  } catch (error) {
    const line = (error as { lines?: number }).lines
    result.errors.push({ row: line ?? 1, reason: `CSV syntax: ${(error as Error).message}` })
    return result
  }
  const header = parsed[0]
  if (header === undefined) return result
  const columns = header.record.map((name) => name.trim())
  for (let i = 1; i < parsed.length; i++) {
    const { record, info } = parsed[i]!
    let newlines = 0
    for (const cell of record) for (const char of cell) if (char === '\n') newlines++
    const row = info.lines - newlines
    result.rows++
    if (record.length !== columns.length) {
      result.errors.push({
        row,
        reason: `expected ${columns.length} fields (${columns.join(',')}), got ${record.length}`,
      })
      continue
    }
    const raw: Record<string, string> = {}
    for (let c = 0; c < columns.length; c++) raw[columns[c]!] = record[c]!
    collect(schema, raw, row, result)
  }
  return result
}

/** A batch of between `min` and `max` records (inclusive), drawn uniformly with replacement. */
export function sampleBatch<T>(records: readonly T[], random: Random, min: number, max: number): T[] {
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
    throw new RangeError(`batch size range must be integers with 0 <= min <= max, got ${min}..${max}`)
  }
  if (records.length === 0) return []
  const size = random.integer(min, max)
  const batch: T[] = new Array(size)
  for (let i = 0; i < size; i++) batch[i] = records[Math.floor(random.next() * records.length)]!
  return batch
}

export interface BatchPreset {
  readonly intervalMs: number
  readonly min: number
  readonly max: number
}

/** The replay presets: high volume, normal, low (off-peak). */
export const batchPresets = {
  high: { intervalMs: 200, min: 10, max: 20 },
  normal: { intervalMs: 500, min: 1, max: 10 },
  low: { intervalMs: 2000, min: 1, max: 5 },
} as const satisfies Record<string, BatchPreset>
export type BatchPresetName = keyof typeof batchPresets
