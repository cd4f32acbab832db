import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  hourCos,
  hourSin,
  isNight,
  maxGapSeconds,
  parseEventTime,
  requireEventTime,
  secondsSince,
  utcHourOfDay,
} from '../../../src/core/features/event-time.ts'
import { isLookoutError } from '../../../src/errors.ts'

test('parses ISO-8601; a timestamp without a zone is UTC, whatever the host time zone', () => {
  const utc = Date.UTC(2025, 2, 14, 9, 30, 15, 250)
  assert.equal(parseEventTime('2025-03-14T09:30:15.250Z'), utc)
  assert.equal(parseEventTime('2025-03-14T09:30:15.250'), utc)
  assert.equal(parseEventTime('2025-03-14T11:30:15.250+02:00'), utc)
  assert.equal(parseEventTime('2025-03-14'), Date.UTC(2025, 2, 14))
  assert.ok(Number.isNaN(parseEventTime('yesterday')))
})

test('requireEventTime names the field of a malformed timestamp', () => {
  assert.throws(
    () => requireEventTime('not a time', 'timestamp'),
    (error) => isLookoutError(error) && error.code === 'LOOKOUT_INPUT_INVALID' && /timestamp/.test(error.message),
  )
})

test('hour of day in UTC, also before 1970; sin/cos place 23:00 next to 00:00', () => {
  assert.equal(utcHourOfDay(Date.UTC(2025, 0, 1, 23, 59)), 23)
  assert.equal(utcHourOfDay(Date.UTC(1969, 11, 31, 22, 0)), 22)
  const distance = (a: number, b: number) => Math.hypot(hourSin(a) - hourSin(b), hourCos(a) - hourCos(b))
  assert.ok(Math.abs(distance(23, 0) - distance(0, 1)) < 1e-12)
  assert.deepEqual([0, 3, 5, 6, 12, 21, 22, 23].map(isNight), [true, true, true, false, false, false, true, true])
})

test('seconds since the previous event: cap for the first, 0 for a late one', () => {
  assert.equal(secondsSince(undefined, 1000), maxGapSeconds)
  assert.equal(secondsSince(1000, 4500), 3.5)
  assert.equal(secondsSince(5000, 4500), 0)
  assert.equal(secondsSince(0, 1e12), maxGapSeconds)
})
