import { z } from 'zod'

/** One setting of Lookout: where it can be given, what it accepts, and its default. */
export interface Setting<T> {
  readonly description: string
  readonly schema: z.ZodType<T>
  /** Human description of what is allowed, shown when a value is rejected. */
  readonly allowed: string
  readonly default: T
  /** CLI commands that take this setting as a flag; absent = every command. */
  readonly commands?: readonly string[]
  /** Flag name without dashes; default: the key in kebab-case (`broker.port` → `broker-port`). */
  readonly flag?: string
  /** Environment variable; default: LOOKOUT_ + the key in upper snake case. */
  readonly env?: string
}

export function setting<T>(definition: Setting<T>): Setting<T> {
  return definition
}

const booleanText = z.union([
  z.boolean(),
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .transform((text) => text === 'true' || text === '1' || text === 'yes'),
])

export const kinds = {
  integer: (min: number, max: number) => z.coerce.number().int().min(min).max(max),
  number: (min: number, max: number) => z.coerce.number().min(min).max(max),
  boolean: () => booleanText,
  text: () => z.string().min(1),
  optionalText: () => z.string(),
  oneOf: <const V extends readonly [string, ...string[]]>(values: V) => z.enum(values),
  list: () =>
    z.union([
      z.array(z.string()),
      z.string().transform((text) =>
        text
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part.length > 0),
      ),
    ]),
}

/** `broker.port` → `broker-port`, `kafka.connectAttempts` → `kafka-connect-attempts`. */
export function kebab(key: string): string {
  return key.replace(/\./g, '-').replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)
}

/** `broker.port` → `LOOKOUT_BROKER_PORT`, unless the setting names its own variable. */
export function environmentName(key: string, definition?: { env?: string }): string {
  return definition?.env ?? `LOOKOUT_${kebab(key).replace(/-/g, '_').toUpperCase()}`
}
