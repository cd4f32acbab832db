// Everything Lookout knows about one event kind, in its registry entry: its required fields
// and id, its features (`featureKinds`, which enrich runs), its ground truth (label, phase, event number, amount),
// its rules and the rule state they keep per entity, the detector it adds per entity, and the
// types of its fields in a CSV file. The scorer, the trainer and the offline tools look the
// kind up here instead of switching on it: a new kind is one more entry.

import {
  evaluateTransactionRules,
  type PaymentPatternState,
  type PaymentRuleOptions,
  paymentPatternStep,
  paymentRuleNames,
  type RuleHit,
  transactionRuleNames,
} from './anomaly/rules.ts'
import { SeriesDetector, type SeriesDetectorState } from './anomaly/series.ts'
import type { LookoutEvent, Phase } from './events.ts'
import {
  declaredFeatureKinds,
  type EventKind,
  type EventOfKind,
  type FeatureKind,
  featureKinds,
  type StateOfKind,
} from './features/index.ts'
import type { CompiledSchema, DeclaredEvent } from './schemas/compile.ts'

/**
 * The detectors the scorer runs, under the one name each is reported by (in `scores`, eval
 * tables and `anomaly_<name>` CSV columns).
 */
export const detectorNames = ['isolation_forest', 'half_space_trees', 'entity_zscore', 'series'] as const
export type DetectorName = (typeof detectorNames)[number]

/** What the source knows about an event (copied into its scored event). */
export interface GroundTruth {
  label?: 0 | 1
  phase?: Phase
  eventNumber?: number
  amount?: number
}

/** Settings of the rules (score.* in the settings schema). */
export interface RuleOptions {
  payment?: PaymentRuleOptions
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

export interface KindRules<E> {
  readonly names: readonly string[]
  /**
   * The hits for `event` (event time `eventTimeMs`) given its entity's rule state before it
   * (undefined for the entity's first event) and the state after it (plain JSON; undefined
   * when the kind's rules read the event alone).
   */
  step(event: E, eventTimeMs: number, state: unknown, options: RuleOptions): { hits: RuleHit[]; next?: unknown }
}

/** The detector a kind keeps per entity besides the common ones (the series detector of metrics). */
export interface EntityDetector<E> {
  readonly name: DetectorName
  create(): SeriesDetector
  fromJSON(state: unknown): SeriesDetector
  /** The value the detector follows. */
  value(event: E): number
}

export type CsvFieldType = 'number' | 'boolean' | 'nullable'
export type FieldType = 'string' | 'number' | 'boolean'

export interface KindEntry<K extends EventKind> {
  readonly kind: K
  readonly features: FeatureKind<EventOfKind<K>, StateOfKind[K]>
  /** Fields an event of the kind must have, with their types (checked when it is decoded). */
  readonly requiredFields: readonly (readonly [string, FieldType])[]
  /** Further checks of a decoded event; throws an Error whose message is the dead-letter reason. */
  validate?(event: Record<string, unknown>): void
  /** The event's id. */
  id(event: EventOfKind<K>): string
  /** Ground truth the source put into the event (an empty object when it has none). */
  truth(event: EventOfKind<K>): GroundTruth
  readonly rules?: KindRules<EventOfKind<K>>
  readonly entityDetector?: EntityDetector<EventOfKind<K>>
  /**
   * Types of the fields that are not strings, for CSV input (a CSV cell is text). Other
   * columns stay strings; `a.b` columns become nested fields (`location.lat`, `data.0` for a
   * point's vector); an empty cell leaves the field out (a `nullable` one becomes null).
   */
  readonly csvFields: Readonly<Record<string, CsvFieldType>>
  /**
   * Feature columns the per-entity statistics detector follows; default: the columns whose
   * name says they are a z-score or a deviation.
   */
  readonly statisticColumns?: readonly number[]
}

export type KindRegistry = { readonly [K in EventKind]: KindEntry<K> }

export const kindRegistry: KindRegistry = Object.freeze({
  transaction: {
    kind: 'transaction',
    features: featureKinds.transaction,
    requiredFields: [
      ['transaction_id', 'string'],
      ['user_id', 'string'],
      ['timestamp', 'string'],
      ['amount', 'number'],
      ['merchant_category', 'string'],
      ['hour_of_day', 'number'],
      ['location_match', 'boolean'],
      ['device_known', 'boolean'],
      ['transactions_last_hour', 'number'],
      ['user_avg_amount', 'number'],
    ],
    id: (event) => event.transaction_id,
    truth: (event) => ({
      label: event.anomaly_label,
      phase: event.phase,
      eventNumber: event.event_number,
      amount: event.amount,
    }),
    rules: {
      names: transactionRuleNames,
      step: (event) => ({ hits: evaluateTransactionRules(event) }),
    },
    csvFields: {
      event_number: 'number',
      ingestion_timestamp: 'number',
      amount: 'number',
      hour_of_day: 'number',
      transactions_last_hour: 'number',
      user_avg_amount: 'number',
      amount_vs_user_avg: 'number',
      phase_number: 'number',
      anomaly_label: 'number',
      label_rule: 'number',
      location_match: 'boolean',
      device_known: 'boolean',
      drift_injected: 'boolean',
    },
  },
  payment: {
    kind: 'payment',
    features: featureKinds.payment,
    requiredFields: [
      ['transaction_id', 'string'],
      ['customer_id', 'string'],
      ['timestamp', 'string'],
      ['amount', 'number'],
      ['merchant_category', 'string'],
      ['payment_method', 'string'],
      ['status', 'string'],
    ],
    id: (event) => event.transaction_id,
    truth: (event) => ({ label: event.is_fraud ? 1 : 0, amount: event.amount }),
    rules: {
      names: paymentRuleNames,
      step: (event, eventTimeMs, state, options) => {
        const { hits, nextState } = paymentPatternStep(
          state as PaymentPatternState | undefined,
          { amount: event.amount, timestamp: eventTimeMs },
          options.payment,
        )
        return { hits, next: nextState }
      },
    },
    csvFields: {
      ingestion_timestamp: 'number',
      amount: 'number',
      'location.lat': 'number',
      'location.lng': 'number',
      commission_amount: 'number',
      vat_amount: 'number',
      total_amount: 'number',
      risk_level: 'number',
      is_fraud: 'boolean',
      failure_reason: 'nullable',
    },
  },
  point: {
    kind: 'point',
    features: featureKinds.point,
    requiredFields: [
      ['id', 'number'],
      ['current_time', 'string'],
    ],
    validate: (event) => {
      const data = event.data
      if (!Array.isArray(data) || data.length !== 2 || !data.every((v) => typeof v === 'number' && Number.isFinite(v)))
        throw new Error('field data must be an array of two finite numbers')
    },
    id: (event) => String(event.id),
    truth: (event) => ({ label: event.anomaly_label }),
    csvFields: { id: 'number', 'data.0': 'number', 'data.1': 'number', anomaly_label: 'number' },
  },
  metric: {
    kind: 'metric',
    features: featureKinds.metric,
    requiredFields: [
      ['host', 'string'],
      ['metric', 'string'],
      ['timestamp', 'string'],
      ['value', 'number'],
    ],
    id: (event) => `${event.host}/${event.metric}@${event.timestamp}`,
    truth: (event) => (event.anomaly_label === undefined ? {} : { label: event.anomaly_label }),
    entityDetector: {
      name: 'series',
      create: () => new SeriesDetector(),
      fromJSON: (state) => SeriesDetector.fromJSON(state as SeriesDetectorState),
      value: (event) => event.value,
    },
    csvFields: { value: 'number', anomaly_label: 'number' },
  },
  record: {
    kind: 'record',
    features: featureKinds.record,
    requiredFields: [
      ['id', 'string'],
      ['timestamp', 'string'],
      ['amount', 'number'],
      ['merchant', 'string'],
    ],
    id: (event) => event.id,
    truth: (event) => ({ amount: event.amount }),
    csvFields: { amount: 'number' },
  },
})

/** Registry entries of the event schemas declared at start-up, by schema name. */
const declaredKinds = new Map<string, KindEntry<EventKind>>()

/**
 * Adds a declared event schema to the registry (idempotent for the same declaration), so
 * enrich, score, train and the offline tools handle its events as any other kind's. A name
 * of a built-in kind, or of another schema already registered, is refused.
 */
export function registerSchema(schema: CompiledSchema): KindEntry<EventKind> {
  const name = schema.name
  if (Object.hasOwn(kindRegistry, name))
    throw new RangeError(`schema ${name}: the name of a built-in event kind; choose another name`)
  const existing = declaredKinds.get(name)
  if (existing) {
    if ((existing as unknown as { schema: CompiledSchema }).schema === schema) return existing
    if (
      JSON.stringify((existing as unknown as { schema: CompiledSchema }).schema.declaration) ===
      JSON.stringify(schema.declaration)
    )
      return existing
    throw new RangeError(`schema ${name} is declared twice with different contents`)
  }
  // A declared event is not one of the built-in shapes; the pipeline only passes it through.
  const declared = (event: unknown) => event as DeclaredEvent
  const features: FeatureKind<LookoutEvent, unknown> = {
    kind: name as never,
    schema: { names: schema.featureNames },
    extract: (event, state) => schema.extract(declared(event), state),
    entityKey: (event) => schema.entityKey(declared(event)),
    eventTimeMs: (event) => declared(event).time,
  }
  const entry = {
    kind: name,
    schema,
    features,
    requiredFields: [],
    id: (event: DeclaredEvent) => schema.id(event),
    truth: (event: DeclaredEvent): GroundTruth => {
      const label = schema.label(event)
      return label === undefined ? {} : { label }
    },
    csvFields: {},
    statisticColumns: schema.statisticColumns,
  } as unknown as KindEntry<EventKind>
  declaredKinds.set(name, entry)
  declaredFeatureKinds.set(name, features)
  return entry
}

/** The compiled schema of a declared kind; undefined for a built-in kind. */
export function declaredSchemaOf(kind: string): CompiledSchema | undefined {
  return (declaredKinds.get(kind) as unknown as { schema?: CompiledSchema } | undefined)?.schema
}

/** The registry entry of any event's kind (a built-in kind or a declared schema). */
export function kindOf(kind: EventKind): KindEntry<EventKind> {
  const entry = Object.hasOwn(kindRegistry, kind) ? kindRegistry[kind] : declaredKinds.get(kind)
  if (entry === undefined) throw new RangeError(`unknown event kind ${JSON.stringify(kind)}`)
  return entry as unknown as KindEntry<EventKind>
}

/** The ground truth of an event. */
export function truthOf(event: LookoutEvent): GroundTruth {
  return kindOf(event.kind).truth(event as never)
}

/** The label of an event: 1 anomalous, 0 normal, undefined when its source does not know. */
export function labelOf(event: LookoutEvent): 0 | 1 | undefined {
  return truthOf(event).label
}
