// The enrichment stage's registry: for each event kind, its feature schema, its extractor,
// the entity whose state it reads and writes, and its event time. The enrich service looks
// up `featureKinds[event.kind]` (or calls `extractFeatures`) and stays generic over kinds.

import type { LookoutEvent } from '../events.ts'
import { requireEventTime } from './event-time.ts'
import type { FeatureExtractor, FeatureSchema } from './extractor.ts'
import { extractMetric, type MetricState, metricEntityKey, metricSchema } from './metric.ts'
import { extractPayment, type PaymentState, paymentEntityKey, paymentSchema } from './payment.ts'
import { extractPoint, type PointState, pointEntityKey, pointSchema } from './point.ts'
import { extractRecord, type RecordState, recordEntityKey, recordSchema } from './replay.ts'
import { extractTransaction, type TransactionState, transactionEntityKey, transactionSchema } from './transaction.ts'

export type EventKind = LookoutEvent['kind']
export type EventOfKind<K extends EventKind> = Extract<LookoutEvent, { kind: K }>

/** Per-entity state of each kind, as stored in the changelog (plain JSON). */
export interface StateOfKind {
  transaction: TransactionState
  payment: PaymentState
  point: PointState
  metric: MetricState
  record: RecordState
}

export interface FeatureKind<E extends LookoutEvent, S> {
  readonly kind: E['kind']
  readonly schema: FeatureSchema
  readonly extract: FeatureExtractor<E, S>
  /** Key of the entity whose state this event reads and updates (also the changelog key). */
  entityKey(event: E): string
  /** Event time, ms since epoch; throws an INPUT_INVALID LookoutError for a malformed timestamp. */
  eventTimeMs(event: E): number
}

export type FeatureKinds = { readonly [K in EventKind]: FeatureKind<EventOfKind<K>, StateOfKind[K]> }

export const featureKinds: FeatureKinds = Object.freeze({
  transaction: {
    kind: 'transaction',
    schema: transactionSchema,
    extract: extractTransaction,
    entityKey: transactionEntityKey,
    eventTimeMs: (event) => requireEventTime(event.timestamp, 'timestamp'),
  },
  payment: {
    kind: 'payment',
    schema: paymentSchema,
    extract: extractPayment,
    entityKey: paymentEntityKey,
    eventTimeMs: (event) => requireEventTime(event.timestamp, 'timestamp'),
  },
  point: {
    kind: 'point',
    schema: pointSchema,
    extract: extractPoint,
    entityKey: pointEntityKey,
    eventTimeMs: (event) => requireEventTime(event.current_time, 'current_time'),
  },
  metric: {
    kind: 'metric',
    schema: metricSchema,
    extract: extractMetric,
    entityKey: metricEntityKey,
    eventTimeMs: (event) => requireEventTime(event.timestamp, 'timestamp'),
  },
  record: {
    kind: 'record',
    schema: recordSchema,
    extract: extractRecord,
    entityKey: recordEntityKey,
    eventTimeMs: (event) => requireEventTime(event.timestamp, 'timestamp'),
  },
})

export const eventKinds = Object.freeze(Object.keys(featureKinds)) as readonly EventKind[]

/**
 * Feature kinds of the event schemas declared at start-up (`registerKind` in kinds.ts adds
 * them), by schema name. Their events are `DeclaredEvent`s; the pipeline treats them as it
 * treats the built-in kinds.
 */
export const declaredFeatureKinds = new Map<string, FeatureKind<LookoutEvent, unknown>>()

/** The feature kind of a built-in kind or a declared schema; undefined for neither. */
export function featureKindOf(kind: string): FeatureKind<LookoutEvent, unknown> | undefined {
  return Object.hasOwn(featureKinds, kind)
    ? (featureKinds[kind as EventKind] as unknown as FeatureKind<LookoutEvent, unknown>)
    : declaredFeatureKinds.get(kind)
}

/** True for a built-in kind and for the name of a declared schema. */
export function isEventKind(kind: unknown): kind is EventKind {
  return typeof kind === 'string' && (Object.hasOwn(featureKinds, kind) || declaredFeatureKinds.has(kind))
}

export interface ExtractedFeatures {
  kind: EventKind
  entityKey: string
  eventTimeMs: number
  schema: FeatureSchema
  features: Float64Array
  /** The entity's next state, to be written to the store and its changelog. */
  nextState: unknown
}

/**
 * Runs the extractor of the event's kind. `state` is what the store holds for the entity
 * (parsed JSON, or undefined): a state of another layout version is ignored by the extractors.
 * The caller may look up the state first with `entityKeyOf(event)`.
 */
export function extractFeatures(event: LookoutEvent, state: unknown): ExtractedFeatures {
  const entry = featureKindOf(event.kind)!
  const eventTimeMs = entry.eventTimeMs(event)
  const { features, nextState } = entry.extract(event, state ?? undefined, eventTimeMs)
  return { kind: event.kind, entityKey: entry.entityKey(event), eventTimeMs, schema: entry.schema, features, nextState }
}

/** The entity key of any event (the store key to read before `extractFeatures`). */
export function entityKeyOf(event: LookoutEvent): string {
  return featureKindOf(event.kind)!.entityKey(event)
}

export type { FeatureExtractor, FeatureSchema } from './extractor.ts'
export { merchantRisk, merchantRiskTable } from './merchant-risk.ts'
export { metricSchema, paymentSchema, pointSchema, recordSchema, transactionSchema }
