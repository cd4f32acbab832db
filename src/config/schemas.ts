// The event schemas declared in the config file (`schemas`): a list of declarations (see
// src/core/schemas/declaration.ts), validated once at start-up; each problem names its path
// inside the setting (schemas[1].features[0].window) and what is allowed there.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { basename, join, resolve } from 'node:path'
import { z } from 'zod'
import { builtInKinds } from '../core/kinds.ts'
import {
  type EventSchemaDeclaration,
  SchemaDeclarationError,
  validateSchemaDeclaration,
} from '../core/schemas/declaration.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { setting } from './setting.ts'

/** The schema templates shipped with Lookout (`schemas/`): `--schema payments` finds one by name. */
export const templateDirectory = resolve(import.meta.dirname, '../../schemas')

export function validateSchemas(value: unknown, key = 'schemas'): EventSchemaDeclaration[] {
  if (!Array.isArray(value)) throw new SchemaDeclarationError(key, 'must be a list', 'a list of event schemas')
  const names = new Set<string>()
  return value.map((item, i) => {
    const schema = validateSchemaDeclaration(item, `${key}[${i}]`)
    if ((builtInKinds as readonly string[]).includes(schema.name))
      throw new SchemaDeclarationError(`${key}[${i}].name`, `${schema.name} is a built-in event kind`, 'another name')
    if (names.has(schema.name))
      throw new SchemaDeclarationError(`${key}[${i}].name`, `schema ${schema.name} is declared twice`, 'distinct names')
    names.add(schema.name)
    return schema
  })
}

function schemasSetting(key: string): z.ZodType<EventSchemaDeclaration[]> {
  return z.unknown().transform((value, context): EventSchemaDeclaration[] => {
    let parsed = value
    if (typeof value === 'string') {
      try {
        parsed = JSON.parse(value)
      } catch (error) {
        context.addIssue({ code: 'custom', message: `not JSON: ${(error as Error).message}` })
        return z.NEVER
      }
    }
    try {
      return validateSchemas(parsed, key)
    } catch (error) {
      if (!(error instanceof SchemaDeclarationError)) throw error
      context.addIssue({ code: 'custom', message: `${error.message}; allowed: ${error.allowed}` })
      return z.NEVER
    }
  }) as unknown as z.ZodType<EventSchemaDeclaration[]>
}

export const schemaSettings = {
  schemas: setting({
    description:
      'event schemas of your own streams (config file: a list of {name, topic, entityKey, eventTime, label, id, fields, features}; see Your own events)',
    schema: schemasSetting('schemas'),
    allowed:
      'a JSON list of event schemas, e.g. [{"name": "logins", "topic": "logins", "entityKey": "user", "fields": [{"name": "user", "type": "string"}, {"name": "latency", "type": "number"}], "features": [{"name": "latency_z", "type": "robust_zscore", "field": "latency"}]}]',
    default: [] as EventSchemaDeclaration[],
    // A list belongs in the config file (or LOOKOUT_SCHEMAS as JSON), not in a flag.
    commands: [],
  }),
} as const

/** A declaration from a schema file: one schema object, or `{"schemas": [one]}`. */
export function readSchemaFile(path: string): EventSchemaDeclaration {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new LookoutError(ErrorCodes.CONFIG_INVALID, `cannot read schema file ${path}: ${(cause as Error).message}`, {
      hint: 'give a JSON file holding one event schema',
      cause,
    })
  }
  const list = (parsed as { schemas?: unknown } | null)?.schemas
  const value = Array.isArray(list) && list.length === 1 ? list[0] : parsed
  try {
    return validateSchemaDeclaration(value, `${basename(path)}`)
  } catch (error) {
    if (error instanceof SchemaDeclarationError)
      throw new LookoutError(ErrorCodes.CONFIG_INVALID, `invalid schema in ${path}: ${error.message}`, {
        hint: `use ${error.allowed}`,
      })
    throw error
  }
}

/** `--schema FILE|NAME`: a file when one exists at that path, else a schema declared by that name. */
export function resolveSchema(
  spec: string,
  declared: readonly EventSchemaDeclaration[] = [],
): { declaration: EventSchemaDeclaration; source: 'file' | 'config' } {
  if (existsSync(spec)) return { declaration: readSchemaFile(spec), source: 'file' }
  const found = declared.find((schema) => schema.name === spec)
  if (found) return { declaration: found, source: 'config' }
  const shipped = join(templateDirectory, `${spec}.json`)
  if (/^[A-Za-z0-9_-]+$/.test(spec) && existsSync(shipped))
    return { declaration: readSchemaFile(shipped), source: 'file' }
  const templates = existsSync(templateDirectory)
    ? readdirSync(templateDirectory)
        .filter((file) => file.endsWith('.json'))
        .map((file) => file.slice(0, -5))
    : []
  const names = [...declared.map((schema) => schema.name), ...templates]
  throw new LookoutError(
    ErrorCodes.USAGE,
    `--schema ${JSON.stringify(spec)} is neither a file, a declared schema nor a template`,
    {
      hint: `give a schema file (JSON), or one of ${names.join(', ')} (schemas declared under "schemas" in the config file, or templates in ${templateDirectory})`,
    },
  )
}
