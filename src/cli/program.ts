import { type Command, Option } from 'commander'
import { environmentName, flagName, loadConfig, settingKeys } from '../config/load.ts'
import type { Config, SettingKey } from '../config/settings.ts'
import { settings } from '../config/settings.ts'
import { configureLogs } from '../log.ts'

/** Adds a flag for every setting that applies to `command` (global settings on the root). */
export function addSettingFlags(command: Command, commandName: string | undefined): Command {
  for (const key of settingKeys) {
    const definition = settings[key] as { commands?: readonly string[]; description: string; allowed: string }
    const applies = commandName === undefined ? !definition.commands : definition.commands?.includes(commandName)
    if (!applies) continue
    const option = new Option(`--${flagName(key)} <value>`, `${definition.description} [${environmentName(key)}]`)
    command.addOption(option)
  }
  return command
}

/** Reads the flags given on `command` and its parents, validates everything once, and freezes it. */
export function configFrom(command: Command): Config {
  const given = command.optsWithGlobals() as Record<string, unknown>
  const flags: Partial<Record<SettingKey, unknown>> = {}
  for (const key of settingKeys) {
    const attribute = new Option(`--${flagName(key)} <value>`).attributeName()
    if (given[attribute] !== undefined) flags[key] = given[attribute]
  }
  const config = loadConfig({ flags, configFile: given.config as string | undefined })
  configureLogs({ level: config['log.level'], format: config['log.format'] })
  return config
}
