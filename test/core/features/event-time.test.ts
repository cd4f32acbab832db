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

test('the digit-by-digit reading of the common shape gives what Date.parse gives, on random texts near it', () => {
  // texts of the common shape, and near misses: each character of a valid timestamp replaced
  let state = 7
  const random = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
    return state / 2 ** 32
  }
  const pad = (n: number, width: number) => String(n).padStart(width, '0')
  const alphabet = '0123456789-:TZ+. z'
  let compared = 0
  for (let i = 0; i < 20_000; i++) {
    const year = Math.floor(random() * 2500)
    const text =
      `${pad(year, 4)}-${pad(1 + Math.floor(random() * 13), 2)}-${pad(1 + Math.floor(random() * 31), 2)}` +
      `T${pad(Math.floor(random() * 25), 2)}:${pad(Math.floor(random() * 61), 2)}:${pad(Math.floor(random() * 61), 2)}` +
      ['', '.5', '.25', '.250', '.1234', '.'][Math.floor(random() * 6)] +
      ['', 'Z', '+02:00', '-05:30', '+2:00', '+0200', 'z', ' '][Math.floor(random() * 8)]
    const variants = [text]
    const at = Math.floor(random() * text.length)
    variants.push(text.slice(0, at) + alphabet[Math.floor(random() * alphabet.length)] + text.slice(at + 1))
    for (const candidate of variants) {
      const trimmed = candidate.trim()
      const expected = Date.parse(
        trimmed.length > 10 && !/(?:[zZ]|[+-]\d\d:?\d\d)$/.test(trimmed) ? `${trimmed}Z` : trimmed,
      )
      const actual = parseEventTime(candidate)
      assert.ok(Object.is(actual, expected), `${JSON.stringify(candidate)}: ${actual}, Date.parse ${expected}`)
      compared++
    }
  }
  assert.equal(compared, 40_000)
  assert.equal(parseEventTime('2024-02-29T23:59:59.999Z'), Date.UTC(2024, 1, 29, 23, 59, 59, 999))
  // a day past the month's end is Date.parse's to read (V8 rolls it over)
  assert.equal(parseEventTime('2023-02-29T00:00:00Z'), Date.parse('2023-02-29T00:00:00Z'))
})
