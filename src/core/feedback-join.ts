// The join of analyst labels (the `labels` topic) with the scored events they are about, in a
// processor's per-partition store. Both inputs are keyed by entity and co-partitioned, so an
// event and its labels meet in one partition's store, under `feedback:<entity>`:
// - a scored event without ground truth that could be marked (it was flagged) is remembered
//   there with what the consumer needs of it (the last `feedbackMemory` of the entity);
// - a label finds its event there; or, when it came first (a backlog read after a restart
//   delivers the two topics in no fixed order), it waits there until its event comes.
// So the join does not depend on the order the runtime reads the two topics in, and each label
// joins its event at most once (the first mark counts; a repeated mark is a duplicate).
import { decodeLabel, type LabelRecord } from './feedback.ts'

/** Events and waiting labels remembered per entity (each list keeps its newest this many). */
export const feedbackMemory = 64

/** The store the join keeps its memory in (a processor's partition store). */
export interface FeedbackStore {
  get<T>(key: string): T | undefined
  put(key: string, value: unknown): void
  delete(key: string): void
}

/** A label waiting for its event. */
export interface WaitingLabel {
  eventId: string
  label: 0 | 1
  at: string
}

/** A remembered event: its id, what the consumer keeps of it, and its label once joined. */
export type RememberedEvent<P> = P & { id: string; label?: 0 | 1 }

interface EntityMemory<P> {
  events: RememberedEvent<P>[]
  labels: WaitingLabel[]
}

const memoryKey = (entity: string) => `feedback:${entity}`

function save<P>(store: FeedbackStore, entity: string, memory: EntityMemory<P>): void {
  if (memory.events.length === 0 && memory.labels.length === 0) store.delete(memoryKey(entity))
  else store.put(memoryKey(entity), memory)
}

/**
 * A scored event without ground truth. Returns the label that was waiting for it, if any (the
 * join happens now); otherwise remembers it when `remember` (it can be marked), so that a
 * later label finds it.
 */
export function joinEvent<P extends object>(
  store: FeedbackStore,
  entity: string,
  event: RememberedEvent<P>,
  remember: boolean,
): WaitingLabel | undefined {
  const memory = store.get<EntityMemory<P>>(memoryKey(entity))
  const waiting = memory?.labels.find((label) => label.eventId === event.id)
  if (!remember && !waiting) return undefined
  const events = memory?.events ?? []
  const labels = memory?.labels.filter((label) => label !== waiting) ?? []
  const kept = { ...event, ...(waiting ? { label: waiting.label } : {}) }
  save(store, entity, { events: remember ? [...events, kept].slice(-feedbackMemory) : events, labels })
  return waiting
}

/** What became of a label. */
export type LabelJoin<P> =
  | { outcome: 'joined'; event: RememberedEvent<P> }
  | { outcome: 'duplicate'; event: RememberedEvent<P> }
  | { outcome: 'waiting' }

/**
 * A label: joined with its remembered event (which is returned), a duplicate of an earlier
 * mark of the same event (ignored), or kept waiting for its event.
 */
export function joinLabel<P extends object>(store: FeedbackStore, label: LabelRecord): LabelJoin<P> {
  const memory = store.get<EntityMemory<P>>(memoryKey(label.entity)) ?? { events: [], labels: [] }
  const index = memory.events.findIndex((event) => event.id === label.eventId)
  if (index >= 0) {
    const event = memory.events[index]!
    if (event.label !== undefined) return { outcome: 'duplicate', event }
    const joined = { ...event, label: label.label }
    const events = memory.events.slice()
    events[index] = joined
    save(store, label.entity, { events, labels: memory.labels })
    return { outcome: 'joined', event: joined }
  }
  if (!memory.labels.some((waiting) => waiting.eventId === label.eventId)) {
    const waiting: WaitingLabel = { eventId: label.eventId, label: label.label, at: label.at }
    save(store, label.entity, { events: memory.events, labels: [...memory.labels, waiting].slice(-feedbackMemory) })
  }
  return { outcome: 'waiting' }
}

/** A record of a processor that reads the labels beside its own input. */
export type WithLabels<T> = { readonly label: LabelRecord } | { readonly event: T }

/**
 * Parses a record of the `labels` topic (its key must be the label's entity: the key decides
 * the partition, and so where the label meets its event); throws with the dead-letter reason.
 */
export function decodeLabelRecord(text: string, key: string | undefined): LabelRecord {
  let label: LabelRecord
  try {
    label = decodeLabel(text)
  } catch (error) {
    throw new Error(
      `invalid label: ${error instanceof SyntaxError ? `not JSON: ${error.message}` : (error as Error).message}`,
    )
  }
  if (key !== label.entity)
    throw new Error(
      `invalid label: its key ${JSON.stringify(key ?? null)} is not its entity ${JSON.stringify(label.entity)}`,
    )
  return label
}

/** A processor's decode for its own input and the labels topic, told apart by topic. */
export function decodeWithLabels<T>(
  labelsTopic: string,
  decodeEvent: (value: Buffer) => T,
): (value: Buffer, key: string | undefined, topic: string) => WithLabels<T> {
  return (value, key, topic) =>
    topic === labelsTopic ? { label: decodeLabelRecord(value.toString(), key) } : { event: decodeEvent(value) }
}
