// Analyst feedback: a true- or false-positive mark on an alerted event, published to the `labels`
// topic keyed by entity (like the events), and joined back into drift detection, the shadow judge
// and alert suppression.

export interface LabelRecord {
  /** The id of the scored event the mark is about (the alert's event). */
  readonly eventId: string
  readonly entity: string
  /** 1: a true anomaly (true positive); 0: normal (false positive). */
  readonly label: 0 | 1
  /** Who marked it. */
  readonly by: string
  /** When it was marked, ISO-8601. */
  readonly at: string
  /** The alert the mark came from, when there is one. */
  readonly alertId?: string
  readonly comment?: string
}

/** Encodes a label as the value of a `labels` record (the record's key is `entity`). */
export function encodeLabel(label: LabelRecord): string {
  return JSON.stringify(label)
}

/** Parses a `labels` record; throws an Error whose message is the dead-letter reason. */
export function decodeLabel(text: string): LabelRecord {
  const value = JSON.parse(text) as Partial<LabelRecord>
  if (typeof value?.eventId !== 'string' || value.eventId === '') throw new Error('a label needs a string eventId')
  if (typeof value.entity !== 'string' || value.entity === '') throw new Error('a label needs a string entity')
  if (value.label !== 0 && value.label !== 1) throw new Error('label must be 0 (false positive) or 1 (true positive)')
  if (typeof value.by !== 'string') throw new Error('a label needs `by`, who marked it')
  if (typeof value.at !== 'string' || Number.isNaN(Date.parse(value.at)))
    throw new Error('`at` must be an ISO-8601 time')
  return value as LabelRecord
}
