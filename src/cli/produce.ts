// `lookout produce <source>`: one subcommand per source, each with the flags it reads.

import { type Command, Option } from 'commander'
import { environmentName, flagName, settingKeys } from '../config/load.ts'
import { settings } from '../config/settings.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { metricsSource } from '../sources/metrics.ts'
import { paymentsSource } from '../sources/payments.ts'
import { phasedSource } from '../sources/phased.ts'
import { pointsSource } from '../sources/points.ts'
import { replaySource } from '../sources/replay.ts'
import { runSourceCommand, type SourceDefinition, sourceNames } from '../sources/source.ts'
import { resolveCluster } from './cluster.ts'
import { configFrom } from './program.ts'

export const sourceDefinitions: readonly SourceDefinition<never>[] = [
  phasedSource,
  paymentsSource,
  replaySource,
  pointsSource,
  metricsSource,
] as unknown as SourceDefinition<never>[]

/** Settings a source reads: every `source.*` one and its own sections (metrics and replay also read s3.*). */
function sourceSettingKeys(definition: SourceDefinition<never>): string[] {
  const sections = new Set(['source', ...definition.sections, ...(definition.name === 'metrics' ? ['s3'] : [])])
  const only: Record<string, readonly string[]> = {
    'source.input': ['replay', 'metrics'],
    'source.speed': ['payments', 'metrics'],
  }
  return settingKeys.filter((key) => {
    if (only[key] && !only[key].includes(definition.name)) return false
    const commands = (settings[key] as { commands?: readonly string[] }).commands
    return commands?.includes('produce') && sections.has(key.split('.')[0]!)
  })
}

function usageError(given: string | undefined): LookoutError {
  return new LookoutError(
    ErrorCodes.USAGE,
    given === undefined ? 'lookout produce needs a source' : `unknown source "${given}"`,
    { hint: `use one of: ${sourceNames.join(', ')} (for example: lookout produce phased --rate 1000)` },
  )
}

export function registerProduceCommand(program: Command): void {
  const produce = program
    .command('produce')
    .description(`produce an event stream to Kafka; sources: ${sourceNames.join(', ')}`)
    .argument('[source]', `one of ${sourceNames.join(', ')}`)
    .addHelpText(
      'after',
      `
Every source takes --seed, --rate (events/s, or "max" for unthrottled), --count, --topic, --port.
Run "lookout produce <source> --help" for the settings of one source.`,
    )
    .action((source: string | undefined) => {
      throw usageError(source)
    })

  for (const definition of sourceDefinitions) {
    const command = produce.command(definition.name).description(definition.description)
    for (const key of sourceSettingKeys(definition)) {
      const definitionOf = settings[key as keyof typeof settings] as { description: string; default: unknown }
      const fallback =
        definitionOf.default === undefined || definitionOf.default === ''
          ? ''
          : ` (default ${JSON.stringify(definitionOf.default)})`
      const name = key as keyof typeof settings
      command.addOption(
        new Option(`--${flagName(name)} <value>`, `${definitionOf.description}${fallback} [${environmentName(name)}]`),
      )
    }
    command.action(async (_options, self: Command) => {
      const config = configFrom(self)
      await runSourceCommand(definition, config, {
        brokers: async () => (await resolveCluster(config, { startLocal: false })).brokers,
      })
    })
  }
}
