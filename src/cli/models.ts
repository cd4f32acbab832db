import { type Command, Option } from 'commander'
import type { Config } from '../config/settings.ts'
import { type EventKind, isEventKind } from '../core/features/index.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import type { KafkaContext } from '../kafka/context.ts'
import { kafkaContext } from '../kafka/context.ts'
import {
  ModelRegistry,
  type ModelVersion,
  promotionRecords,
  publishRegistryRecords,
  rollbackRecords,
  waitForLive,
} from '../services/models.ts'
import { resolveCluster } from './cluster.ts'
import { configFrom } from './program.ts'

async function withRegistry<T>(
  command: Command,
  work: (registry: ModelRegistry, context: KafkaContext, config: Config) => Promise<T>,
): Promise<T> {
  const config = configFrom(command)
  const cluster = await resolveCluster(config, { startLocal: false })
  const context = kafkaContext(config, cluster.brokers)
  const registry = new ModelRegistry(context)
  await registry.start()
  try {
    return await work(registry, context, config)
  } finally {
    await registry.stop()
  }
}

function kindOption(value: string | undefined): EventKind {
  const kind = value ?? 'transaction'
  if (!isEventKind(kind))
    throw new LookoutError(ErrorCodes.USAGE, `unknown kind "${kind}"`, {
      hint: 'use transaction, payment, point, metric or record',
    })
  return kind
}

function versionOf(registry: ModelRegistry, version: string): ModelVersion {
  const found = registry.versions.get(version)
  if (!found)
    throw new LookoutError(ErrorCodes.MODEL_MISSING, `no model version "${version}"`, {
      hint: 'list the versions with `lookout models list`',
    })
  return found
}

const metric = (value: number | null | undefined) => (typeof value === 'number' ? value.toFixed(4) : '-')

/** The registry as a table: one row per version, newest last, with live/shadow marks. */
export function formatModelList(registry: ModelRegistry): string {
  const rows = [...registry.versions.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt))
  const lines = [
    'version              state   parent               rows     roc-auc  parent-auc  created                   reason',
  ]
  for (const v of rows) {
    const state =
      registry.live.get(v.kind)?.version === v.version
        ? 'live'
        : registry.shadow.get(v.kind)?.version === v.version
          ? 'shadow'
          : '-'
    lines.push(
      `${v.version.padEnd(20)} ${state.padEnd(7)} ${(v.parent ?? '-').padEnd(20)} ${String(v.trainedOn.rows).padStart(7)}  ${metric(v.metrics.rocAuc).padStart(7)}  ${metric(v.metrics.parentRocAuc).padStart(10)}  ${v.createdAt.padEnd(24)}  ${v.reason ?? ''}`,
    )
  }
  return `${lines.join('\n')}\n`
}

export function registerModelsCommand(program: Command): void {
  const models = program.command('models').description('model versions: list, show, promote, roll back')
  models
    .command('list')
    .description('every model version, with the live and shadow ones marked')
    .action(async (_options, command: Command) => {
      await withRegistry(command, async (registry) => {
        process.stdout.write(
          registry.versions.size ? formatModelList(registry) : 'no model versions yet (lookout train)\n',
        )
      })
    })
  models
    .command('show')
    .description('one version: metadata, training range, metrics, artifact')
    .argument('<version>')
    .action(async (version: string, _options, command: Command) => {
      await withRegistry(command, async (registry) => {
        const found = versionOf(registry, version)
        const state =
          registry.live.get(found.kind)?.version === version
            ? 'live'
            : registry.shadow.get(found.kind)?.version === version
              ? 'shadow'
              : 'inactive'
        process.stdout.write(`${JSON.stringify({ ...found, state }, null, 2)}\n`)
      })
    })
  models
    .command('promote')
    .description('make a version live (scorers switch at their next batch)')
    .argument('<version>')
    .action(async (version: string, _options, command: Command) => {
      await withRegistry(command, async (registry, context) => {
        const found = versionOf(registry, version)
        await publishRegistryRecords(context, promotionRecords(registry, found.kind, version, 'lookout models promote'))
        await waitForLive(registry, found.kind, version)
        process.stdout.write(`${version} is live for ${found.kind}\n`)
      })
    })
  models
    .command('rollback')
    .description('put back the version that was live before the current one')
    .addOption(new Option('--kind <kind>', 'event kind').default('transaction'))
    .action(async (options: { kind?: string }, command: Command) => {
      await withRegistry(command, async (registry, context) => {
        const kind = kindOption(options.kind)
        const records = rollbackRecords(registry, kind, 'lookout models rollback')
        const target = (records[0]!.value as { version: string }).version
        await publishRegistryRecords(context, records)
        await waitForLive(registry, kind, target)
        process.stdout.write(`rolled back: ${target} is live for ${kind}\n`)
      })
    })
}
