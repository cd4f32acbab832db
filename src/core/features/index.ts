// The enrichment stage's view of the kind registry (src/core/kinds.ts): for any event, its
// features, the entity whose state it reads and writes, and its event time. The enrich service
// calls `extractFeatures` and stays generic over kinds.

import type { LookoutEvent } from '../events.ts'
import { type EventKind, type FeatureKind, isEventKind, kindOf } from '../kinds.ts'

export type { EventKind, FeatureKind } from '../kinds.ts'
export { isEventKind }

/** The feature kind of a built-in kind or a declared schema; undefined for neither. */
export function featureKindOf(kind: string): FeatureKind | undefined {
  return isEventKind(kind) ? kindOf(kind).features : undefined
}

export interface ExtractedFeatures {
  kind: EventKind
  entityKey: string
  eventTimeMs: number
  schema: { readonly names: readonly string[] }
  features: Float64Array
  /** The entity's next state, to be written to the store and its changelog. */
  nextState: unknown
}

/**
 * Computes the event's features. `state` is what the store holds for the entity (parsed JSON,
 * or undefined): a state built for other features is ignored. The caller may look up the
 * state first with `entityKeyOf(event)`.
 */
export function extractFeatures(event: LookoutEvent, state: unknown): ExtractedFeatures {
  const entry = kindOf(event.kind).features
  const eventTimeMs = entry.eventTimeMs(event)
  const { features, nextState } = entry.extract(event, state ?? undefined, eventTimeMs)
  return { kind: event.kind, entityKey: entry.entityKey(event), eventTimeMs, schema: entry.schema, features, nextState }
}

/** The entity key of any event (the store key to read before `extractFeatures`). */
export function entityKeyOf(event: LookoutEvent): string {
  return kindOf(event.kind).features.entityKey(event)
}
