// Decoding and validation of incoming events, and the shapes of enriched and scored events.
import type { Contribution } from '../anomaly/detector.ts'
import type { LookoutEvent } from '../events.ts'
import { type EventKind, entityKeyOf, extractFeatures, isEventKind } from '../features/index.ts'
import { kindOf, registeredKinds } from '../kinds.ts'

/** An event with its entity's features, as written to `enriched-features`. */
export interface EnrichedEvent {
  kind: EventKind
  id: string
  entity: string
  /** Event time, ms since epoch. */
  eventTime: number
  /** When the source produced it, ms since epoch (for end-to-end latency). */
  producedAt: number | undefined
  /** Feature vector in the order of the kind's schema. */
  features: number[]
  /** The event's kind and the fields scoring and training read (`KindEntry.carried`), not the whole event. */
  event: LookoutEvent
}

/** A scored event, as written to `anomaly-scores` (and `anomalies` when over the threshold). */
export interface ScoredEvent {
  kind: EventKind
  id: string
  entity: string
  eventTime: number
  producedAt: number | undefined
  /** Combined score in [0, 1]; one threshold means the same across streams. */
  score: number
  /** Per-detector calibrated scores (and `rule:<name>` severities). */
  scores: Record<string, number>
  /** Rules that fired. */
  rules: string[]
  /** Features that contributed most, weights summing to 1. */
  contributions: Contribution[]
  /** Version of the offline model used, or null while none is loaded. */
  modelVersion: string | null
  /**
   * The kind's own per-entity detector score, uncalibrated (metrics: the series detector's
   * score, the same number `lookout score` gives the metric's `timestamp,value` file).
   */
  entityScore?: number
  /** Each detector's raw score, only when the scorer is asked for them (offline evaluation). */
  raw?: Record<string, number>
  /** The raw Isolation Forest score of a candidate model scoring in shadow (the live score ignores it). */
  shadow?: { modelVersion: string; isolationForest: number }
  /** Ground truth when the source knows it. */
  label?: 0 | 1
  phase?: string
  eventNumber?: number
  amount?: number
}

/** Parses and validates one event; throws an Error whose message is the dead-letter reason. */
export function decodeEvent(text: string): LookoutEvent {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (error) {
    throw new Error(`not JSON: ${(error as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object')
  const event = parsed as Record<string, unknown>
  if (!isEventKind(event.kind)) {
    throw new Error(`unknown kind ${JSON.stringify(event.kind)}; expected ${registeredKinds().join(', ')}`)
  }
  kindOf(event.kind).validate(parsed as LookoutEvent)
  return parsed as LookoutEvent
}

/** The event's id: the id the source gave it, or what identifies it (a metric's host/metric@time). */
export function eventId(event: LookoutEvent): string {
  return kindOf(event.kind).id(event)
}

function producedAt(event: LookoutEvent): number | undefined {
  const seconds = (event as { ingestion_timestamp?: unknown }).ingestion_timestamp
  return typeof seconds === 'number' && Number.isFinite(seconds) ? Math.round(seconds * 1000) : undefined
}

/** The enrichment step: features from the entity's state before the event, and the next state. */
export function enrich(event: LookoutEvent, state: unknown): { enriched: EnrichedEvent; nextState: unknown } {
  const extracted = extractFeatures(event, state)
  const vector = extracted.features
  // a plain array (what JSON writes as one); Array.from takes several times longer on a typed array
  const features: number[] = []
  for (let i = 0; i < vector.length; i++) features.push(vector[i]!)
  return {
    enriched: {
      kind: extracted.kind,
      id: eventId(event),
      entity: extracted.entityKey,
      eventTime: extracted.eventTimeMs,
      producedAt: producedAt(event),
      features,
      event: kindOf(event.kind).carried(event),
    },
    nextState: extracted.nextState,
  }
}

/** The index of the first feature that is not a finite number, or -1. */
export function firstNonFinite(features: readonly number[]): number {
  for (let i = 0; i < features.length; i++) if (!Number.isFinite(features[i])) return i
  return -1
}

/** Parses a scored event (a record of anomaly-scores or anomalies); throws an Error whose message is the dead-letter reason. */
export function decodeScored(text: string): ScoredEvent {
  const event = JSON.parse(text) as ScoredEvent
  if (
    typeof event?.id !== 'string' ||
    typeof event.entity !== 'string' ||
    typeof event.score !== 'number' ||
    !Number.isFinite(event.score)
  )
    throw new Error('a scored event needs string id and entity and a numeric score')
  if (!isEventKind(event.kind)) throw new Error(`unknown kind ${JSON.stringify(event.kind)}`)
  if (typeof event.eventTime !== 'number') throw new Error('eventTime must be a number')
  return event
}

export { entityKeyOf }
