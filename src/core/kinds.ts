// The kind registry: everything Lookout knows about one event kind, built from its event schema
// (src/core/schemas/): decoding and validation, features, entity key and event time, id, ground
// truth (label, phase, event number, amount), the rule set it declares and the per-entity
// detector it declares. The five built-in kinds are the shipped templates in `schemas/` (the
// files a user copies), compiled by the same code as a schema declared in the config file: the
// scorer, the trainer and the offline tools look a kind up here and never switch on it.
//
// The one difference between the two is how their events travel: a built-in source writes the
// record itself with a `kind` field; a record of a declared schema's topic travels wrapped
// (`DeclaredEvent`: the record, its schema's name and its event time).

import metrics from '../../schemas/metrics.json' with { type: 'json' }
import payments from '../../schemas/payments.json' with { type: 'json' }
import points from '../../schemas/points.json' with { type: 'json' }
import records from '../../schemas/records.json' with { type: 'json' }
import transactions from '../../schemas/transactions.json' with { type: 'json' }
import { type RuleOptions, ruleSets } from './anomaly/rule-sets.ts'
import type { RuleHit } from './anomaly/rules.ts'
import { SeriesDetector, type SeriesDetectorState } from './anomaly/series.ts'
import type { LookoutEvent, Phase } from './events.ts'
import { accessor, type CompiledSchema, compileSchema, type DeclaredEvent, valueAt } from './schemas/compile.ts'
import { validateSchemaDeclaration } from './schemas/declaration.ts'

export type { RuleOptions } from './anomaly/rule-sets.ts'

/**
 * The detectors the scorer runs, under the one name each is reported by (in `scores`, eval
 * tables and `anomaly_<name>` CSV columns).
 */
export const detectorNames = ['isolation_forest', 'half_space_trees', 'entity_zscore', 'series'] as const
export type DetectorName = (typeof detectorNames)[number]

/** An event kind: a built-in kind's name or a declared schema's. */
export type EventKind = LookoutEvent['kind']

/** What the source knows about an event (copied into its scored event). */
export interface GroundTruth {
  label?: 0 | 1
  phase?: Phase
  eventNumber?: number
  amount?: number
}

/** The rule settings of a validated config. */
export interface RuleSettings {
  readonly 'score.highValueAmount': number
  readonly 'score.highValueCount': number
  readonly 'score.rapidFireCount': number
  readonly 'score.rapidFireWindowMs': number
}

export function ruleOptionsFrom(config: RuleSettings): RuleOptions {
  return {
    payment: {
      highValueAmount: config['score.highValueAmount'],
      highValueCount: config['score.highValueCount'],
      rapidFireCount: config['score.rapidFireCount'],
      rapidFireWindowMs: config['score.rapidFireWindowMs'],
    },
  }
}

export interface KindRules {
  readonly names: readonly string[]
  step(
    event: LookoutEvent,
    eventTimeMs: number,
    state: unknown,
    options: RuleOptions,
  ): { hits: RuleHit[]; next?: unknown }
}

/** The detector a kind keeps per entity besides the common ones (a series detector on a field). */
export interface EntityDetector {
  readonly name: DetectorName
  create(): SeriesDetector
  fromJSON(state: unknown): SeriesDetector
  /** The value the detector follows. */
  value(event: LookoutEvent): number
}

/** The feature side of a kind, as enrich runs it. */
export interface FeatureKind {
  readonly kind: EventKind
  readonly schema: { readonly names: readonly string[] }
  /** The event's features given its entity's state before it (plain JSON), and the state after it. */
  extract(event: LookoutEvent, state: unknown, eventTimeMs: number): { features: Float64Array; nextState: unknown }
  /** Key of the entity whose state this event reads and updates (also the changelog key). */
  entityKey(event: LookoutEvent): string
  /** Event time, ms since epoch. */
  eventTimeMs(event: LookoutEvent): number
}

export interface KindEntry {
  readonly kind: EventKind
  readonly schema: CompiledSchema
  readonly features: FeatureKind
  /** The event's record: the event itself, or the record a declared schema's event carries. */
  record(event: LookoutEvent): Record<string, unknown>
  /** Checks a decoded event against the schema; throws an Error whose message is the dead-letter reason. */
  validate(event: LookoutEvent): void
  /** The event's id. */
  id(event: LookoutEvent): string
  /** Ground truth the source put into the event (an empty object when it has none). */
  truth(event: LookoutEvent): GroundTruth
  /**
   * What enriched-features carries of the event: its kind and the fields scoring and training
   * read (the rules' fields, the truth and label fields, the series detector's value), in the
   * same shape, so `truth`, the rules and the series detector read it as the whole event. The
   * rest stays in the source topic, at the coordinates the console can look up.
   */
  carried(event: LookoutEvent): LookoutEvent
  readonly rules?: KindRules
  readonly entityDetector?: EntityDetector
  /** Feature columns the per-entity statistics detector follows (the zscore and robust_zscore features). */
  readonly statisticColumns: readonly number[]
}

/** How an event carries its record and event time. */
interface EventView {
  record(event: LookoutEvent): Record<string, unknown>
  time(event: LookoutEvent, schema: CompiledSchema): number
  /** The event with only `fields` of its record. */
  carried(event: LookoutEvent, fields: Record<string, unknown>): LookoutEvent
}

/**
 * Where validation leaves a built-in event's time (epoch ms), so that enrich does not read its
 * text again. A symbol key: JSON.stringify and Object.keys do not see it.
 */
const eventTimeMemo = Symbol('eventTimeMs')

/** A built-in source's event: the record itself; the event time is its event-time field. */
const recordEvents: EventView = {
  record: (event) => event as unknown as Record<string, unknown>,
  time: (event, schema) => {
    const memo = (event as unknown as { [eventTimeMemo]?: number })[eventTimeMemo]
    if (memo !== undefined) return memo
    const t = schema.time(event as unknown as Record<string, unknown>)
    if (!Number.isFinite(t)) throw new Error(`field ${schema.declaration.eventTime} is not a time`)
    return t
  },
  carried: (event, fields) => ({ kind: event.kind, ...fields }) as LookoutEvent,
}
/** A record of a declared schema's topic, wrapped with its event time. */
const wrappedEvents: EventView = {
  record: (event) => (event as unknown as DeclaredEvent).record,
  time: (event) => (event as unknown as DeclaredEvent).time,
  carried: (event, fields) =>
    ({ kind: event.kind, record: fields, time: (event as unknown as DeclaredEvent).time }) as unknown as LookoutEvent,
}

/** The registry entry of a compiled schema whose events carry their records as `view` says. */
function kindEntry(kind: EventKind, schema: CompiledSchema, view: EventView): KindEntry {
  const declaration = schema.declaration
  const record = view.record
  const time = (event: LookoutEvent) => view.time(event, schema)
  const features: FeatureKind = {
    kind,
    schema: { names: schema.featureNames },
    extract: (event, state, t) => schema.extractRecord(record(event), t, state),
    entityKey: (event) => schema.recordKey(record(event)),
    eventTimeMs: time,
  }
  const truthFields = declaration.truth ?? {}
  const ruleSet = declaration.rules === undefined ? undefined : ruleSets[declaration.rules]!
  const series = declaration.detectors?.[0]
  const carriedFields = [
    ...new Set([
      ...(ruleSet?.fields.map(([field]) => field) ?? []),
      ...Object.values(truthFields),
      ...(declaration.label === undefined ? [] : [declaration.label]),
      ...(series ? [series.field] : []),
    ]),
  ]
  const carriedReaders = carriedFields.map(accessor)
  return Object.freeze({
    kind,
    schema,
    features,
    record,
    validate: (event: LookoutEvent) => {
      const decoded = schema.decode(record(event), 0)
      if (view === recordEvents && Number.isFinite(decoded.time))
        (event as unknown as { [eventTimeMemo]?: number })[eventTimeMemo] = decoded.time
      else time(event)
    },
    // the time only when the id is made of it (a schema without an id field)
    id: (event: LookoutEvent) => schema.recordId(record(event), declaration.id === undefined ? time(event) : 0),
    truth: (event: LookoutEvent): GroundTruth => {
      const r = record(event)
      const truth: GroundTruth = {}
      const label = schema.recordLabel(r)
      if (label !== undefined) truth.label = label
      if (truthFields.phase !== undefined) truth.phase = valueAt(r, truthFields.phase) as Phase
      if (truthFields.eventNumber !== undefined) truth.eventNumber = valueAt(r, truthFields.eventNumber) as number
      if (truthFields.amount !== undefined) truth.amount = valueAt(r, truthFields.amount) as number
      return truth
    },
    carried: (event: LookoutEvent) => {
      const r = record(event)
      // a dotted path is kept under its own name: `valueAt` reads it back as it reads the whole record
      const fields: Record<string, unknown> = {}
      for (let i = 0; i < carriedFields.length; i++) {
        const value = carriedReaders[i]!(r)
        if (value !== undefined) fields[carriedFields[i]!] = value
      }
      return view.carried(event, fields)
    },
    ...(ruleSet
      ? {
          rules: {
            names: ruleSet.names,
            step: (event: LookoutEvent, t: number, state: unknown, options: RuleOptions) =>
              ruleSet.step(record(event), t, state, options),
          },
        }
      : {}),
    ...(series
      ? {
          entityDetector: {
            name: 'series' as const,
            create: () => new SeriesDetector(),
            fromJSON: (state: unknown) => SeriesDetector.fromJSON(state as SeriesDetectorState),
            value: (event: LookoutEvent) => valueAt(record(event), series.field) as number,
          },
        }
      : {}),
    statisticColumns: schema.statisticColumns,
  })
}

/** The built-in kinds and the template (in `schemas/`) each is declared by. */
const builtInTemplates: Readonly<Record<EventKind, unknown>> = Object.freeze({
  transaction: transactions,
  payment: payments,
  point: points,
  metric: metrics,
  record: records,
})

export const builtInKinds = Object.freeze(Object.keys(builtInTemplates)) as readonly EventKind[]

/** Registry entries of the built-in kinds and of the schemas declared at start-up, by kind. */
const entries = new Map<string, KindEntry>(
  Object.entries(builtInTemplates).map(([kind, template]) => [
    kind,
    kindEntry(
      kind as EventKind,
      compileSchema(validateSchemaDeclaration(template, `schemas/${(template as { name: string }).name}.json`)),
      recordEvents,
    ),
  ]),
)

/**
 * Adds a declared event schema to the registry (idempotent for the same declaration), so
 * enrich, score, train and the offline tools handle its events as any other kind's. A name
 * of a built-in kind, or of another schema already registered, is refused.
 */
export function registerSchema(schema: CompiledSchema): KindEntry {
  const name = schema.name
  if (Object.hasOwn(builtInTemplates, name))
    throw new RangeError(`schema ${name}: the name of a built-in event kind; choose another name`)
  const existing = entries.get(name)
  if (existing) {
    if (
      existing.schema === schema ||
      JSON.stringify(existing.schema.declaration) === JSON.stringify(schema.declaration)
    )
      return existing
    throw new RangeError(`schema ${name} is declared twice with different contents`)
  }
  const entry = kindEntry(name as EventKind, schema, wrappedEvents)
  entries.set(name, entry)
  return entry
}

/** The compiled schema of a declared kind; undefined for a built-in kind or an unknown one. */
export function declaredSchemaOf(kind: string): CompiledSchema | undefined {
  return Object.hasOwn(builtInTemplates, kind) ? undefined : entries.get(kind)?.schema
}

/** True for a built-in kind and for the name of a registered schema. */
export function isEventKind(kind: unknown): kind is EventKind {
  return typeof kind === 'string' && entries.has(kind)
}

/** Every registered kind: the built-in ones, then the declared schemas. */
export function registeredKinds(): EventKind[] {
  return [...entries.keys()] as EventKind[]
}

/** The registry entry of any event's kind (a built-in kind or a declared schema). */
export function kindOf(kind: EventKind): KindEntry {
  const entry = entries.get(kind)
  if (entry === undefined) throw new RangeError(`unknown event kind ${JSON.stringify(kind)}`)
  return entry
}

/** The ground truth of an event. */
export function truthOf(event: LookoutEvent): GroundTruth {
  return kindOf(event.kind).truth(event)
}

/** The label of an event: 1 anomalous, 0 normal, undefined when its source does not know. */
export function labelOf(event: LookoutEvent): 0 | 1 | undefined {
  return truthOf(event).label
}
