// Event schemas declared as data: a team's own event shape (its fields, entity key, event time,
// label and id) and the features Lookout computes over it. A declaration is validated once, as
// plain JSON, and every problem is reported with its path (`schemas[0].features[2].window`) and
// what is allowed, so a config file or a schema file fails at start-up, never on a record.

import { ruleSets } from '../anomaly/rule-sets.ts'

export const fieldTypes = ['number', 'string', 'boolean', 'timestamp'] as const
export type FieldType = (typeof fieldTypes)[number]

/**
 * Feature types. Each yields one column named after the feature, except `hour_of_day` and
 * `day_of_week` (`<name>_sin`, `<name>_cos`) and `one_hot` (`<name>=<value>` per value).
 */
export const featureTypes = [
  'number',
  'log1p',
  'mean',
  'zscore',
  'robust_zscore',
  'ratio_to_mean',
  'count',
  'sum',
  'seconds_since_previous',
  'first_seen',
  'frequency',
  'hour_of_day',
  'day_of_week',
  'one_hot',
  'cycle',
  'lookup',
] as const
export type FeatureType = (typeof featureTypes)[number]

/** Feature types over a numeric field (a boolean field counts as 1/0 for `number`). */
const numericFeatures: ReadonlySet<FeatureType> = new Set([
  'number',
  'log1p',
  'mean',
  'zscore',
  'robust_zscore',
  'ratio_to_mean',
  'sum',
  'cycle',
])
/** Feature types over a categorical field (string, number or boolean, compared as text). */
const categoricalFeatures: ReadonlySet<FeatureType> = new Set(['first_seen', 'frequency', 'one_hot', 'lookup'])
/** Feature types with an event-time window. */
const windowFeatures: ReadonlySet<FeatureType> = new Set(['count', 'sum'])
/** Feature types over the event time or a timestamp field. */
const timeFeatures: ReadonlySet<FeatureType> = new Set(['hour_of_day', 'day_of_week'])

export interface FieldDeclaration {
  /** Dotted path into the record (`location.lat`; `items.0` for an array element). */
  readonly name: string
  readonly type: FieldType
  /** A record may leave it out (or send null); when present it must have its type. */
  readonly optional?: boolean
}

export interface FeatureDeclaration {
  /** Name used in the feature vector and in explanations. */
  readonly name: string
  readonly type: FeatureType
  /** The field it reads (not for count and seconds_since_previous; optional for time features). */
  readonly field?: string
  /** Event-time window of count and sum: a duration such as 30s, 5m, 1h, 1d. */
  readonly window?: string
  /** Values of a one_hot feature (at most 32); any other value is all zeros. */
  readonly values?: readonly string[]
  /** Past values a robust_zscore compares with (default 32). */
  readonly recent?: number
  /** Period of a cycle feature (24 for an hour of the day): sin and cos of 2π·value/period. */
  readonly period?: number
  /** Value of each category of a lookup feature… */
  readonly table?: Readonly<Record<string, number>>
  /** …and of any other category (default 0). */
  readonly default?: number
}

/** Ground truth a stream carries besides its label, copied into its scored events. */
export interface TruthDeclaration {
  /** Field naming the stream's phase (a generator's normal, drift or attack). */
  readonly phase?: string
  /** Field holding the event's sequence number. */
  readonly eventNumber?: string
  /** Field holding the event's money amount. */
  readonly amount?: string
}

/** A detector kept per entity on one field (the series detector of a metric). */
export interface EntityDetectorDeclaration {
  readonly type: 'series'
  readonly field: string
}

export interface EventSchemaDeclaration {
  readonly name: string
  /** The topic its records arrive on. */
  readonly topic?: string
  /** Field holding the entity key, or fields joined by "/"; absent = one entity for the whole stream. */
  readonly entityKey?: string | readonly string[]
  /** Field holding the event time (ISO-8601 or epoch seconds/ms); absent = the record's timestamp. */
  readonly eventTime?: string
  /** Field holding the label (0/1 or boolean), when the stream carries one. */
  readonly label?: string
  /** Field holding the event's id; absent = entity@event time. */
  readonly id?: string
  readonly fields: readonly FieldDeclaration[]
  readonly features: readonly FeatureDeclaration[]
  /** Name of a rule set (see src/core/anomaly/rule-sets.ts) the scorer runs on every event. */
  readonly rules?: string
  readonly truth?: TruthDeclaration
  readonly detectors?: readonly EntityDetectorDeclaration[]
}

/** A declaration problem: where, what is wrong, what is allowed. */
export class SchemaDeclarationError extends Error {
  readonly path: string
  readonly allowed: string
  constructor(path: string, message: string, allowed: string) {
    super(`${path}: ${message}`)
    this.name = 'SchemaDeclarationError'
    this.path = path
    this.allowed = allowed
  }
}

const durationUnits: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** Milliseconds of a duration such as 500ms, 30s, 5m, 1h, 1d; NaN when it is not one. */
export function parseDuration(text: unknown): number {
  if (typeof text !== 'string') return Number.NaN
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim())
  if (!match) return Number.NaN
  const ms = Number(match[1]) * durationUnits[match[2]!]!
  return ms > 0 && Number.isFinite(ms) ? ms : Number.NaN
}

const namePattern = /^[A-Za-z_][A-Za-z0-9_.-]*$/
const pathPattern = /^[^.\s]+(\.[^.\s]+)*$/

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function checkKeys(value: Record<string, unknown>, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(value))
    if (!allowed.includes(key))
      throw new SchemaDeclarationError(`${path}.${key}`, 'is not a schema setting', `one of ${allowed.join(', ')}`)
}

function text(value: unknown, path: string, allowed: string, pattern?: RegExp): string {
  if (typeof value !== 'string' || value.trim() === '' || (pattern && !pattern.test(value)))
    throw new SchemaDeclarationError(path, `${JSON.stringify(value)} is not allowed`, allowed)
  return value
}

/** The columns a feature adds to the vector. */
export function featureColumns(feature: FeatureDeclaration): string[] {
  if (feature.type === 'hour_of_day' || feature.type === 'day_of_week' || feature.type === 'cycle')
    return [`${feature.name}_sin`, `${feature.name}_cos`]
  if (feature.type === 'one_hot') return (feature.values ?? []).map((value) => `${feature.name}=${value}`)
  return [feature.name]
}

/**
 * Validates a declaration (parsed JSON) and returns it typed and frozen; throws a
 * SchemaDeclarationError naming the first problem's path under `path`.
 */
export function validateSchemaDeclaration(value: unknown, path = 'schema'): EventSchemaDeclaration {
  if (!isObject(value)) throw new SchemaDeclarationError(path, 'must be an object', 'an event schema object')
  checkKeys(value, path, [
    'name',
    'topic',
    'entityKey',
    'eventTime',
    'label',
    'id',
    'fields',
    'features',
    'rules',
    'truth',
    'detectors',
  ])
  const name = text(
    value.name,
    `${path}.name`,
    'letters, digits, "_", "." and "-", starting with a letter',
    namePattern,
  )
  const topic =
    value.topic === undefined
      ? undefined
      : text(value.topic, `${path}.topic`, 'a topic name (letters, digits, ".", "_", "-")', /^[a-zA-Z0-9._-]+$/)

  if (!Array.isArray(value.fields) || value.fields.length === 0)
    throw new SchemaDeclarationError(`${path}.fields`, 'must be a non-empty list', 'a list of {"name", "type"}')
  const fields: FieldDeclaration[] = []
  const fieldType = new Map<string, FieldType>()
  value.fields.forEach((field, i) => {
    const at = `${path}.fields[${i}]`
    if (!isObject(field)) throw new SchemaDeclarationError(at, 'must be an object', '{"name": "...", "type": "..."}')
    checkKeys(field, at, ['name', 'type', 'optional'])
    const fieldName = text(field.name, `${at}.name`, 'a dotted path such as amount or location.lat', pathPattern)
    if (fieldType.has(fieldName))
      throw new SchemaDeclarationError(`${at}.name`, `field ${fieldName} is declared twice`, 'each field once')
    if (!fieldTypes.includes(field.type as FieldType))
      throw new SchemaDeclarationError(
        `${at}.type`,
        `${JSON.stringify(field.type)} is not a field type`,
        fieldTypes.join(', '),
      )
    if (field.optional !== undefined && typeof field.optional !== 'boolean')
      throw new SchemaDeclarationError(
        `${at}.optional`,
        `${JSON.stringify(field.optional)} is not allowed`,
        'true or false',
      )
    fieldType.set(fieldName, field.type as FieldType)
    fields.push(
      Object.freeze({ name: fieldName, type: field.type as FieldType, ...(field.optional ? { optional: true } : {}) }),
    )
  })
  const declared = (setting: string, allowedTypes: readonly FieldType[]): string | undefined =>
    declaredAt(value, setting, `${path}.${setting}`, allowedTypes)
  const declaredAt = (
    holder: unknown,
    setting: string | number,
    at: string,
    allowedTypes: readonly FieldType[],
  ): string | undefined => {
    const given = (holder as Record<string | number, unknown>)[setting]
    if (given === undefined) return undefined
    const field = text(given, at, 'the name of a declared field', pathPattern)
    const type = fieldType.get(field)
    if (type === undefined)
      throw new SchemaDeclarationError(
        at,
        `field ${field} is not declared in fields`,
        `one of ${[...fieldType.keys()].join(', ')}`,
      )
    if (!allowedTypes.includes(type))
      throw new SchemaDeclarationError(
        at,
        `field ${field} is a ${type}`,
        `a field of type ${allowedTypes.join(' or ')}`,
      )
    return field
  }
  const keyTypes: FieldType[] = ['string', 'number']
  let entityKey: string | readonly string[] | undefined
  if (Array.isArray(value.entityKey)) {
    const keys = value.entityKey
    if (keys.length === 0)
      throw new SchemaDeclarationError(`${path}.entityKey`, 'is an empty list', 'a field name, or a list of them')
    entityKey = Object.freeze(keys.map((_, i) => declaredAt(keys, i, `${path}.entityKey[${i}]`, keyTypes)!))
  } else entityKey = declared('entityKey', keyTypes)
  const eventTime = declared('eventTime', ['timestamp', 'number'])
  const label = declared('label', ['number', 'boolean'])
  const id = declared('id', ['string', 'number'])

  if (!Array.isArray(value.features) || value.features.length === 0)
    throw new SchemaDeclarationError(`${path}.features`, 'must be a non-empty list', 'a list of {"name", "type", ...}')
  const features: FeatureDeclaration[] = []
  const columns = new Set<string>()
  value.features.forEach((feature, i) => {
    const at = `${path}.features[${i}]`
    if (!isObject(feature))
      throw new SchemaDeclarationError(at, 'must be an object', '{"name": "...", "type": "...", ...}')
    checkKeys(feature, at, ['name', 'type', 'field', 'window', 'values', 'recent', 'period', 'table', 'default'])
    const featureName = text(feature.name, `${at}.name`, 'letters, digits, "_", "." and "-"', namePattern)
    const type = feature.type as FeatureType
    if (!featureTypes.includes(type))
      throw new SchemaDeclarationError(
        `${at}.type`,
        `${JSON.stringify(feature.type)} is not a feature type`,
        featureTypes.join(', '),
      )
    const out: { -readonly [K in keyof FeatureDeclaration]: FeatureDeclaration[K] } = { name: featureName, type }
    const needsField = numericFeatures.has(type) || categoricalFeatures.has(type)
    if (feature.field !== undefined || needsField) {
      if (!needsField && !timeFeatures.has(type))
        throw new SchemaDeclarationError(`${at}.field`, `a ${type} feature reads no field`, 'no field')
      const field = text(feature.field, `${at}.field`, 'the name of a declared field', pathPattern)
      const declaredType = fieldType.get(field)
      if (declaredType === undefined)
        throw new SchemaDeclarationError(
          `${at}.field`,
          `field ${field} is not declared in fields`,
          `one of ${[...fieldType.keys()].join(', ')}`,
        )
      if (fields.some((f) => f.name === field && f.optional))
        throw new SchemaDeclarationError(
          `${at}.field`,
          `field ${field} is optional; a feature needs it in every record`,
          'a field that is not optional',
        )
      if (numericFeatures.has(type) && declaredType !== 'number' && !(type === 'number' && declaredType === 'boolean'))
        throw new SchemaDeclarationError(
          `${at}.field`,
          `field ${field} is a ${declaredType}, not a number`,
          `a number field${type === 'number' ? ' (or a boolean)' : ''}`,
        )
      if (categoricalFeatures.has(type) && declaredType === 'timestamp')
        throw new SchemaDeclarationError(
          `${at}.field`,
          `field ${field} is a timestamp`,
          'a string, number or boolean field',
        )
      if (timeFeatures.has(type) && declaredType !== 'timestamp' && declaredType !== 'number')
        throw new SchemaDeclarationError(
          `${at}.field`,
          `field ${field} is a ${declaredType}`,
          'a timestamp field, or none for the event time',
        )
      out.field = field
    }
    // a count without a window counts all the entity's events so far
    if (type === 'sum' || feature.window !== undefined) {
      if (!windowFeatures.has(type))
        throw new SchemaDeclarationError(
          `${at}.window`,
          `a ${type} feature has no window`,
          'a window only on count and sum',
        )
      if (!(parseDuration(feature.window) > 0))
        throw new SchemaDeclarationError(
          `${at}.window`,
          `${JSON.stringify(feature.window)} is not a duration`,
          'a duration such as 30s, 5m, 1h or 1d',
        )
      out.window = String(feature.window).trim()
    }
    if (type === 'one_hot' || feature.values !== undefined) {
      if (type !== 'one_hot')
        throw new SchemaDeclarationError(`${at}.values`, `a ${type} feature has no values`, 'values only on one_hot')
      const values = feature.values
      if (
        !Array.isArray(values) ||
        values.length === 0 ||
        values.length > 32 ||
        !values.every((v) => typeof v === 'string') ||
        new Set(values).size !== values.length
      )
        throw new SchemaDeclarationError(
          `${at}.values`,
          `${JSON.stringify(values)} is not allowed`,
          'a list of 1 to 32 distinct strings',
        )
      out.values = Object.freeze([...values])
    }
    if (feature.recent !== undefined) {
      if (type !== 'robust_zscore')
        throw new SchemaDeclarationError(
          `${at}.recent`,
          `a ${type} feature has no recent values`,
          'recent only on robust_zscore',
        )
      if (!Number.isInteger(feature.recent) || (feature.recent as number) < 5 || (feature.recent as number) > 1000)
        throw new SchemaDeclarationError(
          `${at}.recent`,
          `${JSON.stringify(feature.recent)} is not allowed`,
          'an integer from 5 to 1000',
        )
      out.recent = feature.recent as number
    }
    if (type === 'cycle' || feature.period !== undefined) {
      if (type !== 'cycle')
        throw new SchemaDeclarationError(`${at}.period`, `a ${type} feature has no period`, 'period only on cycle')
      if (typeof feature.period !== 'number' || !(feature.period > 0) || !Number.isFinite(feature.period))
        throw new SchemaDeclarationError(
          `${at}.period`,
          `${JSON.stringify(feature.period)} is not allowed`,
          'a positive number (24 for an hour of the day)',
        )
      out.period = feature.period
    }
    if (type === 'lookup' || feature.table !== undefined || feature.default !== undefined) {
      if (type !== 'lookup')
        throw new SchemaDeclarationError(
          `${at}.${feature.table !== undefined ? 'table' : 'default'}`,
          `a ${type} feature has no table`,
          'table and default only on lookup',
        )
      const table = feature.table
      if (
        !isObject(table) ||
        Object.keys(table).length === 0 ||
        !Object.values(table).every((v) => typeof v === 'number' && Number.isFinite(v))
      )
        throw new SchemaDeclarationError(
          `${at}.table`,
          `${JSON.stringify(table)} is not allowed`,
          'an object mapping each category to a finite number',
        )
      if (feature.default !== undefined && !(typeof feature.default === 'number' && Number.isFinite(feature.default)))
        throw new SchemaDeclarationError(
          `${at}.default`,
          `${JSON.stringify(feature.default)} is not allowed`,
          'a finite number (the value of any other category)',
        )
      out.table = Object.freeze({ ...(table as Record<string, number>) })
      if (feature.default !== undefined) out.default = feature.default as number
    }
    for (const column of featureColumns(out)) {
      if (columns.has(column))
        throw new SchemaDeclarationError(`${at}.name`, `feature ${column} is declared twice`, 'distinct feature names')
      columns.add(column)
    }
    features.push(Object.freeze(out))
  })

  let rules: string | undefined
  if (value.rules !== undefined) {
    const at = `${path}.rules`
    const set = ruleSets[value.rules as string]
    if (typeof value.rules !== 'string' || !Object.hasOwn(ruleSets, value.rules) || set === undefined)
      throw new SchemaDeclarationError(
        at,
        `${JSON.stringify(value.rules)} is not a rule set`,
        Object.keys(ruleSets).join(', '),
      )
    for (const [field, type] of set.fields)
      if (fieldType.get(field) !== type)
        throw new SchemaDeclarationError(
          at,
          `rule set ${value.rules} reads field ${field} (${type}), which is not declared as one`,
          `declare {"name": "${field}", "type": "${type}"} in fields`,
        )
    rules = value.rules
  }
  let truth: TruthDeclaration | undefined
  if (value.truth !== undefined) {
    const at = `${path}.truth`
    if (!isObject(value.truth))
      throw new SchemaDeclarationError(at, 'must be an object', '{"phase", "eventNumber", "amount"}: field names')
    checkKeys(value.truth, at, ['phase', 'eventNumber', 'amount'])
    const phase = declaredAt(value.truth, 'phase', `${at}.phase`, ['string'])
    const eventNumber = declaredAt(value.truth, 'eventNumber', `${at}.eventNumber`, ['number'])
    const amount = declaredAt(value.truth, 'amount', `${at}.amount`, ['number'])
    truth = Object.freeze({
      ...(phase === undefined ? {} : { phase }),
      ...(eventNumber === undefined ? {} : { eventNumber }),
      ...(amount === undefined ? {} : { amount }),
    })
  }
  let detectors: EntityDetectorDeclaration[] | undefined
  if (value.detectors !== undefined) {
    const at = `${path}.detectors`
    if (!Array.isArray(value.detectors))
      throw new SchemaDeclarationError(at, 'must be a list', 'a list of {"type": "series", "field": "..."}')
    detectors = value.detectors.map((detector, i) => {
      if (!isObject(detector) || detector.type !== 'series')
        throw new SchemaDeclarationError(
          `${at}[${i}].type`,
          `${JSON.stringify(isObject(detector) ? detector.type : detector)} is not an entity detector`,
          'series',
        )
      checkKeys(detector, `${at}[${i}]`, ['type', 'field'])
      const field = declaredAt(detector, 'field', `${at}[${i}].field`, ['number'])
      if (field === undefined)
        throw new SchemaDeclarationError(`${at}[${i}].field`, 'is missing', 'the number field the detector follows')
      return Object.freeze({ type: 'series' as const, field })
    })
    if (detectors.length > 1)
      throw new SchemaDeclarationError(at, 'declares more than one detector', 'at most one series detector')
  }

  return Object.freeze({
    name,
    ...(topic === undefined ? {} : { topic }),
    ...(entityKey === undefined ? {} : { entityKey }),
    ...(eventTime === undefined ? {} : { eventTime }),
    ...(label === undefined ? {} : { label }),
    ...(id === undefined ? {} : { id }),
    fields: Object.freeze(fields),
    features: Object.freeze(features),
    ...(rules === undefined ? {} : { rules }),
    ...(truth === undefined ? {} : { truth }),
    ...(detectors === undefined ? {} : { detectors: Object.freeze(detectors) }),
  })
}

/** Column names of the `x0..xN,label` layout (the ADBench-style tabular files). */
const numberedColumn = /^x\d+$/

/**
 * The schema of a CSV whose header is `x0..xN,label`: every column a number read as it is,
 * `label` the label, one entity, the row order as time. Undefined for any other header.
 */
export function inferSchemaFromHeader(header: readonly string[], name = 'tabular'): EventSchemaDeclaration | undefined {
  const last = header[header.length - 1]
  const columns = header.slice(0, -1)
  if (last !== 'label' || columns.length === 0) return undefined
  if (!columns.every((column, i) => numberedColumn.test(column) && column === `x${i}`)) return undefined
  return validateSchemaDeclaration({
    name,
    label: 'label',
    fields: [...columns.map((column) => ({ name: column, type: 'number' })), { name: 'label', type: 'number' }],
    features: columns.map((column) => ({ name: column, type: 'number', field: column })),
  })
}
