import { existsSync, readFileSync } from 'node:fs'
import type { EventSchemaDeclaration } from '../core/schemas/declaration.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { aggregationFieldErrors, type DeclaredAggregation } from './aggregations.ts'
import { environmentName as defaultEnvironmentName, kebab } from './setting.ts'
import { type Config, type SettingKey, settings } from './settings.ts'

export const settingKeys = Object.keys(settings) as SettingKey[]

export function environmentName(key: SettingKey): string {
  return defaultEnvironmentName(key, settings[key] as { env?: string })
}
export const defaultConfigFile = 'lookout.config.json'

type Origin = 'default' | 'file' | 'environment' | 'flag'

export interface LoadOptions {
  /** Flag values keyed by setting key (already mapped from flag names). */
  flags?: Partial<Record<SettingKey, unknown>>
  env?: NodeJS.ProcessEnv
  /** Explicit config file; otherwise LOOKOUT_CONFIG, then ./lookout.config.json if present. */
  configFile?: string
}

/** Flattens `{broker: {port: 1}}` into `{'broker.port': 1}`; lists stay values. */
function flatten(
  value: Record<string, unknown>,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [name, inner] of Object.entries(value)) {
    const key = prefix ? `${prefix}.${name}` : name
    if (inner !== null && typeof inner === 'object' && !Array.isArray(inner) && !(key in settings)) {
      flatten(inner as Record<string, unknown>, key, out)
    } else {
      out[key] = inner
    }
  }
  return out
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    throw new LookoutError(ErrorCodes.CONFIG_FILE, `cannot read config file ${path}`, {
      hint: 'check the path given with --config or LOOKOUT_CONFIG',
      cause,
    })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (cause) {
    throw new LookoutError(
      ErrorCodes.CONFIG_FILE,
      `config file ${path} is not valid JSON: ${(cause as Error).message}`,
      {
        hint: 'fix the JSON syntax of the file',
        cause,
      },
    )
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new LookoutError(ErrorCodes.CONFIG_FILE, `config file ${path} must hold a JSON object`, {
      hint: 'write settings as {"broker": {"port": 9092}} or {"broker.port": 9092}',
    })
  }
  const flat = flatten(parsed as Record<string, unknown>)
  for (const key of Object.keys(flat)) {
    if (!(key in settings)) {
      throw new LookoutError(ErrorCodes.CONFIG_INVALID, `unknown setting "${key}" in config file ${path}`, {
        hint: `remove it, or use one of: ${settingKeys.join(', ')}`,
      })
    }
  }
  return flat
}

function invalid(key: SettingKey, origin: Origin, value: unknown, reason: string): LookoutError {
  const where =
    origin === 'environment' ? environmentName(key) : origin === 'flag' ? `--${flagName(key)}` : `config file key`
  return new LookoutError(
    ErrorCodes.CONFIG_INVALID,
    `invalid setting ${key} (${where}): ${JSON.stringify(value)} is not allowed: ${reason}`,
    { hint: `use ${settings[key].allowed}` },
  )
}

export function flagName(key: SettingKey): string {
  const definition = settings[key] as { flag?: string }
  return definition.flag ?? kebab(key)
}

/**
 * Builds the one validated, frozen configuration: defaults, then the config file,
 * then the environment, then flags (later wins). Throws a LookoutError naming the
 * first invalid setting, its value and what is allowed.
 */
export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env
  const raw = new Map<SettingKey, { value: unknown; origin: Origin }>()

  const configFile =
    options.configFile ?? env.LOOKOUT_CONFIG ?? (existsSync(defaultConfigFile) ? defaultConfigFile : undefined)
  if (configFile !== undefined) {
    for (const [key, value] of Object.entries(readConfigFile(configFile))) {
      raw.set(key as SettingKey, { value, origin: 'file' })
    }
  }

  const known = new Set(settingKeys.map(environmentName))
  for (const name of Object.keys(env)) {
    if (name.startsWith('LOOKOUT_') && name !== 'LOOKOUT_CONFIG' && !known.has(name)) {
      throw new LookoutError(ErrorCodes.CONFIG_INVALID, `unknown environment variable ${name}`, {
        hint: `unset it, or use one of: ${[...known].join(', ')}`,
      })
    }
  }
  for (const key of settingKeys) {
    const value = env[environmentName(key)]
    if (value !== undefined && value !== '') raw.set(key, { value, origin: 'environment' })
  }
  for (const [key, value] of Object.entries(options.flags ?? {})) {
    if (value !== undefined) raw.set(key as SettingKey, { value, origin: 'flag' })
  }

  const config: Record<string, unknown> = {}
  for (const key of settingKeys) {
    const given = raw.get(key)
    if (given === undefined) {
      config[key] = settings[key].default
      continue
    }
    const result = settings[key].schema.safeParse(given.value)
    if (!result.success) {
      throw invalid(key, given.origin, given.value, result.error.issues.map((issue) => issue.message).join('; '))
    }
    config[key] = result.data
  }
  // settings checked against each other: an aggregation's fields are its kind's (maybe a declared schema's)
  const aggregations = raw.get('aggregate.aggregations')
  if (aggregations) {
    const errors = aggregationFieldErrors(
      config['aggregate.aggregations'] as DeclaredAggregation[],
      config.schemas as EventSchemaDeclaration[],
    )
    if (errors.length > 0)
      throw invalid('aggregate.aggregations', aggregations.origin, aggregations.value, errors.join('; '))
  }
  return Object.freeze(config) as Config
}
