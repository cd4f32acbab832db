import { readFileSync } from 'node:fs'
import { type Command, Option } from 'commander'
import type { LookoutEvent } from '../core/events.ts'
import { type EventKind, entityKeyOf, isEventKind } from '../core/features/index.ts'
import { registerSchema } from '../core/kinds.ts'
import { decodeEvent, type EnrichedEvent, enrich } from '../core/pipeline/events.ts'
import { compileSchema } from '../core/schemas/compile.ts'
import { type CompiledSchema, registerSchemas } from '../core/schemas/index.ts'
import { datasetFormatOf, parseDataset } from '../core/sources/replay.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { catalogueTopics, connectAdmin, ensureTopics } from '../kafka/admin.ts'
import { kafkaContext } from '../kafka/context.ts'
import { offsetsForTime, type PartitionRange } from '../kafka/range.ts'
import { partitionOffsets } from '../kafka/tail.ts'
import { topicName } from '../kafka/topics.ts'
import { resolveSchema } from '../offline/eval-file.ts'
import { declaredFromCsv, declaredFromJson, splitCsv } from '../offline/offline.ts'
import { ModelRegistry } from '../services/models.ts'
import { readEnriched, trainAndPublish } from '../services/train.ts'
import { resolveCluster } from './cluster.ts'
import { configFrom } from './program.ts'

/** Events of a JSON Lines or CSV file, enriched in file order (as the enrich service would). */
export function enrichFile(path: string, schema?: CompiledSchema): EnrichedEvent[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw new LookoutError(ErrorCodes.FILE_UNREADABLE, `cannot read ${path}`, { hint: 'check the path', cause })
  }
  let events: LookoutEvent[]
  if (schema) events = declaredRows(path, text, schema)
  else if (datasetFormatOf(path) === 'csv') events = parseDataset(text, 'csv').records
  else
    events = text
      .split('\n')
      .filter((line) => line.trim())
      .map((line, index) => {
        try {
          return decodeEvent(line)
        } catch (cause) {
          throw new LookoutError(ErrorCodes.INPUT_INVALID, `${path}:${index + 1}: ${(cause as Error).message}`, {
            hint: 'each line must be one event as the sources produce it',
          })
        }
      })
  const state = new Map<string, unknown>()
  return events.map((event) => {
    const entity = entityKeyOf(event)
    const { enriched, nextState } = enrich(event, state.get(entity))
    state.set(entity, nextState)
    return enriched
  })
}

/** Math.min/max take no bigints. */
function clamp(value: bigint, low: bigint, high: bigint): bigint {
  if (value < low) return low
  if (value > high) return high
  return value
}

/** `--from`/`--to`: an integer is an offset in every partition, anything else a time (record time). */
function boundary(value: string): { offset: bigint } | { time: number } {
  if (/^\d+$/.test(value)) return { offset: BigInt(value) }
  const time = Date.parse(value)
  if (Number.isNaN(time))
    throw new LookoutError(ErrorCodes.USAGE, `--from/--to "${value}" is neither an offset nor a time`, {
      hint: 'use an offset (e.g. 0) or an ISO time (e.g. 2026-01-01T10:00:00Z)',
    })
  return { time }
}

/** The rows of a file of a declared schema's events (CSV with a header, or JSON Lines), in file order. */
function declaredRows(path: string, text: string, schema: CompiledSchema): LookoutEvent[] {
  const lines = text.split('\n').filter((line) => line.trim())
  const csv = datasetFormatOf(path) === 'csv'
  const header = csv ? splitCsv(lines.shift() ?? '') : []
  return lines.map((line, index) => {
    try {
      const event = csv ? declaredFromCsv(schema, header, splitCsv(line), index) : declaredFromJson(schema, line, index)
      return event as unknown as LookoutEvent
    } catch (cause) {
      throw new LookoutError(
        ErrorCodes.INPUT_INVALID,
        `${path}:${index + (csv ? 2 : 1)}: ${(cause as Error).message}`,
        {
          hint: `each row must be a record of schema ${schema.name}`,
        },
      )
    }
  })
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description(
      'train an Isolation Forest from a file or a range of enriched-features and publish it as a new version',
    )
    .addOption(new Option('--input <file>', 'JSON Lines or CSV events, enriched in file order'))
    .addOption(
      new Option(
        '--from <offset|time>',
        'start of the enriched-features range (offset in each partition, or ISO time)',
      ),
    )
    .addOption(new Option('--to <offset|time>', 'end of the range, exclusive (default: the end)'))
    .addOption(new Option('--kind <kind>', 'event kind to train on').default('transaction'))
    .addOption(
      new Option(
        '--schema <file|name>',
        'train on the events of a declared schema (a schema file, or a schema declared in the config); replaces --kind',
      ),
    )
    .addOption(new Option('--live', 'make the new version live at once (default: shadow when one is live)'))
    .action(
      async (
        options: { input?: string; from?: string; to?: string; kind: string; live?: boolean; schema?: string },
        command: Command,
      ) => {
        const config0 = configFrom(command)
        registerSchemas(config0.schemas)
        const schema =
          options.schema === undefined
            ? undefined
            : compileSchema(resolveSchema(options.schema, config0.schemas).declaration)
        if (schema) {
          registerSchema(schema)
          options.kind = schema.name
        }
        if (!isEventKind(options.kind))
          throw new LookoutError(ErrorCodes.USAGE, `unknown kind "${options.kind}"`, {
            hint: 'use transaction, payment, point, metric or record',
          })
        const kind: EventKind = options.kind
        if (!options.input && options.from === undefined)
          throw new LookoutError(ErrorCodes.USAGE, 'nothing to train on', {
            hint: 'give --input FILE, or --from (and --to) for a range of enriched-features',
          })
        const config = config0
        const cluster = await resolveCluster(config, { startLocal: false })
        const context = kafkaContext(config, cluster.brokers)
        const admin = await connectAdmin(context)
        let events: EnrichedEvent[]
        let source: string
        try {
          await ensureTopics(admin, catalogueTopics(context))
          if (options.input) {
            events = enrichFile(options.input, schema).filter((event) => event.kind === kind)
            source = `file:${options.input}`
          } else {
            const topic = topicName(context.topicPrefix, 'enrichedFeatures')
            const partitions = await partitionOffsets(admin, topic)
            const resolve = async (value: string | undefined, fallback: 'earliest' | 'end') => {
              if (value === undefined) return new Map(partitions.map((p) => [p.partition, p[fallback]]))
              const at = boundary(value)
              if ('offset' in at) return new Map(partitions.map((p) => [p.partition, at.offset]))
              return offsetsForTime(admin, topic, at.time)
            }
            const from = await resolve(options.from, 'earliest')
            const to = await resolve(options.to, 'end')
            const ranges: PartitionRange[] = partitions.map((p) => ({
              partition: p.partition,
              from: clamp(from.get(p.partition) ?? p.earliest, p.earliest, p.end),
              to: clamp(to.get(p.partition) ?? p.end, p.earliest, p.end),
            }))
            events = await readEnriched(context, kind, ranges)
            source = 'enriched-features (range)'
          }
        } finally {
          await admin.close()
        }
        if (events.length < 10)
          throw new LookoutError(ErrorCodes.INPUT_INVALID, `only ${events.length} ${kind} events to train on`, {
            hint: 'give a wider range or a larger file (at least 10 events)',
          })
        const registry = new ModelRegistry(context)
        await registry.start()
        try {
          const { version, pointer } = await trainAndPublish(context, config.dataDir, registry, {
            kind,
            events,
            source,
            ...(options.input ? {} : { from: options.from ?? 'earliest', to: options.to ?? 'end' }),
            reason: 'lookout train',
            live: options.live === true,
          })
          process.stdout.write(
            `${version.version} (${pointer}): trained on ${version.trainedOn.rows} events, held-out ROC-AUC ${version.metrics.rocAuc ?? '-'}${version.parent ? `, ${version.parent} on the same data ${version.metrics.parentRocAuc ?? '-'}` : ''}\n  artifact ${version.artifact.path}\n`,
          )
        } finally {
          await registry.stop()
        }
      },
    )
}
