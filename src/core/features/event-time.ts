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
  // the common shape, read digit by digit (it is read for every event); anything else by Date.parse
  const fast = parseCommonTimestamp(text)
  if (fast !== undefined) return fast
  const trimmed = text.trim()
  // date-only or date-time without a zone → UTC; Date.parse reads "YYYY-MM-DD" as UTC already
  const iso = trimmed.length > 10 && !hasZone.test(trimmed) ? `${trimmed}Z` : trimmed
  return Date.parse(iso)
}

/** The digit at `i` of `text`, or -1. */
function digit(text: string, i: number): number {
  const code = text.charCodeAt(i) - 48
  return code >= 0 && code <= 9 ? code : -1
}

/** The two-digit number at `i`, or -1. */
function twoDigits(text: string, i: number): number {
  const high = digit(text, i)
  const low = digit(text, i + 1)
  return high < 0 || low < 0 ? -1 : high * 10 + low
}

const daysInMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * `YYYY-MM-DDTHH:MM:SS`, optionally `.` and 1–3 fraction digits, optionally `Z` or `±HH:MM`,
 * with values in range; undefined for any other text (Date.parse reads it then). Gives what
 * Date.parse gives for the same text (a zone-less one read as UTC).
 */
export function parseCommonTimestamp(text: string): number | undefined {
  const length = text.length
  if (length < 19 || length > 29) return undefined
  const y1 = twoDigits(text, 0)
  const y2 = twoDigits(text, 2)
  const month = twoDigits(text, 5)
  const day = twoDigits(text, 8)
  const hour = twoDigits(text, 11)
  const minute = twoDigits(text, 14)
  const second = twoDigits(text, 17)
  if (
    y1 < 0 ||
    y2 < 0 ||
    text.charCodeAt(4) !== 45 || // -
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 || // T
    text.charCodeAt(13) !== 58 || // :
    text.charCodeAt(16) !== 58 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth[month - 1]! ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    second < 0 ||
    second > 59
  )
    return undefined
  const year = y1 * 100 + y2
  // Date.UTC reads years 0–99 as 1900–1999
  if (year < 100) return undefined
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return undefined
  let i = 19
  let ms = 0
  if (i < length && text.charCodeAt(i) === 46) {
    // .f, .ff or .fff
    const start = ++i
    while (i < length && i - start < 3) {
      const d = digit(text, i)
      if (d < 0) break
      ms = ms * 10 + d
      i++
    }
    if (i === start) return undefined
    for (let k = i - start; k < 3; k++) ms *= 10
    if (i < length && digit(text, i) >= 0) return undefined
  }
  let offsetMinutes = 0
  if (i < length) {
    const sign = text.charCodeAt(i)
    // Z
    if (sign === 90 && i + 1 === length) i++
    else if ((sign === 43 || sign === 45) && i + 6 === length && text.charCodeAt(i + 3) === 58) {
      const offsetHours = twoDigits(text, i + 1)
      const offsetMins = twoDigits(text, i + 4)
      if (offsetHours < 0 || offsetHours > 23 || offsetMins < 0 || offsetMins > 59) return undefined
      offsetMinutes = (sign === 45 ? -1 : 1) * (offsetHours * 60 + offsetMins)
      i += 6
    } else return undefined
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000
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
