// The dataset replay source: loads a CSV or JSON Lines dataset from a file or S3,
// validates every record (invalid rows reported with their row number, counted, never sent),
// then sends batches sampled with replacement: every interval, min–max records.

import { resolveSchema } from '../config/schemas.ts'
import type { ReplayedRecord } from '../core/events.ts'
import { Random } from '../core/random.ts'
import { compileSchema, declaredFromCsv } from '../core/schemas/compile.ts'
import { type CompiledSchema, registerSchemas } from '../core/schemas/index.ts'
import { batchPresets, datasetFormatOf, parseDataset, type RecordSchema } from '../core/sources/replay.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'

import { readInput, s3SettingsOf } from './input.ts'
import { reportRowErrors } from './metrics.ts'
import { type PreparedSource, pacingFrom, type SourceDefinition } from './source.ts'

interface LoadedDataset {
  records: unknown[]
  invalid: number
  rows: number
  /** The declared schema the records follow (--schema); none = the default replay record. */
  schema?: CompiledSchema
}

/** A declared schema as the dataset parser's record schema: CSV cells typed by the declared fields. */
function declaredRecordSchema(schema: CompiledSchema): RecordSchema<Record<string, unknown>> {
  return {
    name: schema.name,
    parse(raw) {
      try {
        let record = raw as Record<string, unknown>
        if (
          raw !== null &&
          typeof raw === 'object' &&
          !Array.isArray(raw) &&
          Object.values(raw).every((v) => typeof v === 'string')
        ) {
          // a CSV row: column → text
          const columns = Object.keys(raw)
          record = declaredFromCsv(schema, columns, Object.values(raw) as string[], 0).record
        }
        // the record's own time is checked; without an event-time field Kafka stamps it
        return { ok: true, record: schema.decode(record, 0).record }
      } catch (error) {
        return { ok: false, reason: (error as Error).message }
      }
    },
  }
}

export const replaySource: SourceDefinition<LoadedDataset> = {
  name: 'replay',
  description:
    'records of a CSV or JSON Lines dataset (file or s3://), validated, sampled with replacement in timed batches',
  sections: ['replay', 's3'],
  async load(config, log) {
    const input = config['source.input']
    if (!input) {
      throw new LookoutError(ErrorCodes.USAGE, 'replay needs a dataset: --input is missing', {
        hint: 'give --input data.csv, --input data.jsonl or --input s3://bucket/key (LOOKOUT_SOURCE_INPUT)',
      })
    }
    const format = config['replay.format'] === 'auto' ? datasetFormatOf(input) : config['replay.format']
    if (format === undefined) {
      throw new LookoutError(ErrorCodes.INPUT_INVALID, `cannot tell the format of ${input} from its extension`, {
        hint: 'name it .csv, .jsonl or .ndjson, or give --format csv or --format jsonl',
      })
    }
    const text = await readInput(input, s3SettingsOf(config))
    let schema: CompiledSchema | undefined
    if (config['replay.schema']) {
      registerSchemas(config.schemas)
      schema = compileSchema(resolveSchema(config['replay.schema'], config.schemas).declaration)
    }
    const dataset = schema
      ? parseDataset(text, format, { schema: declaredRecordSchema(schema) })
      : parseDataset(text, format)
    reportRowErrors(log, input, dataset.errors)
    if (dataset.records.length === 0) {
      throw new LookoutError(
        ErrorCodes.INPUT_INVALID,
        `${input} holds no valid records (${dataset.rows} rows, ${dataset.errors.length} invalid)`,
        {
          hint: schema
            ? `each record needs the fields of schema ${schema.name}: ${schema.declaration.fields.map((f) => `${f.name} (${f.type})`).join(', ')}`
            : 'each record needs id, description, amount, timestamp, merchant, operation_type (debit|credit) and side (incoming|outgoing)',
        },
      )
    }
    log.info(`loaded ${dataset.records.length} valid records from ${input}`, {
      rows: dataset.rows,
      invalid: dataset.errors.length,
    })
    return {
      records: dataset.records,
      invalid: dataset.errors.length,
      rows: dataset.rows,
      ...(schema ? { schema } : {}),
    }
  },
  topicOf: (loaded) => loaded.schema?.declaration.topic,
  async prepare(loaded, kafka): Promise<PreparedSource> {
    const config = kafka.config
    const preset = batchPresets[config['replay.preset']]
    const intervalMs = config['replay.interval'] > 0 ? config['replay.interval'] * 1000 : preset.intervalMs
    const min = config['replay.min'] || preset.min
    const max = config['replay.max'] || Math.max(preset.max, min)
    if (max < min) {
      throw new LookoutError(ErrorCodes.CONFIG_INVALID, `replay batch sizes: --min ${min} is above --max ${max}`, {
        hint: 'give a --min no larger than --max',
      })
    }
    // one stream for batch sizes, one for the sampled records: the same seed gives the same batches
    const random = new Random(config['source.seed'])
    const sizes = random.fork()
    const records = loaded.records
    const schema = loaded.schema
    return {
      pacing: pacingFrom(config, { kind: 'batches', intervalMs, min, max, random: sizes }),
      summaryExtras: () => [`  dataset rows ${loaded.rows}, invalid ${loaded.invalid} (never sent)`],
      events: {
        next() {
          const record = records[Math.floor(random.next() * records.length)]!
          // the entity is the key: one entity's records keep their order in one partition
          if (schema)
            return {
              key: schema.entityKey({ kind: schema.name, record: record as Record<string, unknown>, time: 0 }),
              value: record,
            }
          return { key: (record as ReplayedRecord).merchant, value: record }
        },
      },
    }
  },
}
