// Event-time helpers shared by the extractors. All of them read the time passed in, never
// the clock.

import { ErrorCodes, LookoutError } from '../../errors.ts'

/** Gaps are capped here, and an entity's first event reports this gap: "longer than a week". */
export const maxGapSeconds = 7 * 24 * 3600

const hasZone = /(?:[zZ]|[+-]\d\d:?\d\d)$/

/**
 * Milliseconds since the epoch of an ISO-8601 timestamp. A timestamp without a zone is read
 * as UTC (not as the host's local time), so the same event gives the same time on every
 * machine, and the UTC hour of the result is the hour written in the timestamp.
 * NaN when the text is not a timestamp.
 */
export function parseEventTime(text: string): number {
  const trimmed = text.trim()
  // date-only or date-time without a zone → UTC; Date.parse reads "YYYY-MM-DD" as UTC already
  const iso = trimmed.length > 10 && !hasZone.test(trimmed) ? `${trimmed}Z` : trimmed
  return Date.parse(iso)
}

/** `parseEventTime`, throwing an INPUT_INVALID error naming the field when it is not a time. */
export function requireEventTime(text: string, field: string): number {
  const ms = parseEventTime(text)
  if (Number.isFinite(ms)) return ms
  throw new LookoutError(ErrorCodes.INPUT_INVALID, `${field} is not an ISO-8601 time: ${JSON.stringify(text)}`, {
    hint: 'send times like 2025-01-31T14:05:00Z; the event belongs in the dead-letter topic',
  })
}

/** Hour of the day, 0–23, in UTC. */
export function utcHourOfDay(eventTimeMs: number): number {
  const hour = Math.floor(eventTimeMs / 3_600_000) % 24
  return hour < 0 ? hour + 24 : hour
}

/** sin and cos of the hour on the 24-hour circle, so 23:00 and 00:00 are neighbours. */
export function hourSin(hour: number): number {
  return Math.sin((2 * Math.PI * hour) / 24)
}

export function hourCos(hour: number): number {
  return Math.cos((2 * Math.PI * hour) / 24)
}

/** Night is 22:00–05:59: the label rule's risky hours (1–4) with a margin either side. */
export function isNight(hour: number): boolean {
  return hour >= 22 || hour < 6
}

/**
 * Seconds from the entity's newest earlier event to `t`, in [0, maxGapSeconds]; the cap for
 * an entity's first event. A late event (earlier than the newest seen) reports 0: it arrived
 * right after a newer one.
 */
export function secondsSince(previousMs: number | undefined, t: number): number {
  if (previousMs === undefined) return maxGapSeconds
  const gap = (t - previousMs) / 1000
  return gap <= 0 ? 0 : Math.min(gap, maxGapSeconds)
}
