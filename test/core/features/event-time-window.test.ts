import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  type EventTimeWindowState,
  minuteAndHour,
  type WindowConfig,
  windowObserve,
  windowStats,
} from '../../../src/core/features/event-time-window.ts'

const second = 1000
const minute = 60 * second
// a minute boundary, so bucket positions in the tests are easy to read
const t0 = Date.UTC(2025, 0, 1, 12, 0, 0)

function observeAll(times: number[], config: WindowConfig = minuteAndHour) {
  let state: EventTimeWindowState | undefined
  return times.map((t) => {
    const out = windowObserve(state, t, config)
    state = out.next
    return out
  })
}

test('first event counts itself in both windows', () => {
  const [first] = observeAll([t0])
  assert.equal(first!.shortCount, 1)
  assert.equal(first!.longCount, 1)
  assert.deepEqual(first!.next, { latest: t0, ages: [0], counts: [1] })
})

test('short window is (t − 60 s, t]: an event exactly 60 s earlier is out, 59.999 s earlier is in', () => {
  const exact = observeAll([t0, t0 + 60 * second])
  assert.equal(exact[1]!.shortCount, 1)
  assert.equal(exact[1]!.longCount, 2)
  const inside = observeAll([t0, t0 + 60 * second - 1])
  assert.equal(inside[1]!.shortCount, 2)
})

test('counts on a hand-made sequence', () => {
  const times = [t0, t0 + 10 * second, t0 + 20 * second, t0 + 30 * second, t0 + 50 * second, t0 + 70 * second]
  const out = observeAll(times)
  assert.deepEqual(
    out.map((o) => o.shortCount),
    [1, 2, 3, 4, 5, 4], // at +70 s: +20, +30, +50, +70 (+10 s is exactly 60 s earlier)
  )
  assert.deepEqual(
    out.map((o) => o.longCount),
    [1, 2, 3, 4, 5, 6],
  )
  assert.deepEqual(out.at(-1)!.next.counts, [5, 1])
})

test('hour window: the current minute plus the 59 before it', () => {
  // t0 is at 12:00:00; bucket of 12:59:59 still includes 12:00; 13:00:00 does not
  const inHour = observeAll([t0, t0 + 59 * minute + 59 * second])
  assert.equal(inHour[1]!.longCount, 2)
  const outOfHour = observeAll([t0, t0 + 60 * minute])
  assert.equal(outOfHour[1]!.longCount, 1)
  assert.deepEqual(outOfHour[1]!.next.counts, [1])
  // granularity: 12:00:30 and 13:00:10 are 59 min 40 s apart but in buckets 60 apart
  const bucketed = observeAll([t0 + 30 * second, t0 + 60 * minute + 10 * second])
  assert.equal(bucketed[1]!.longCount, 1)
})

test('state stays bounded over a long dense stream', () => {
  const times = Array.from({ length: 5000 }, (_, i) => t0 + i * 2 * second)
  const out = observeAll(times)
  const last = out.at(-1)!
  assert.equal(last.shortCount, 30) // one every 2 s in (t − 60 s, t]
  assert.equal(last.longCount, 59 * 30 + 1 + ((times.at(-1)! - t0) % minute) / (2 * second))
  assert.ok(last.next.counts.length <= 60)
  assert.ok(last.next.ages.length <= 30)
})

test('short count saturates at the capacity', () => {
  const config = { ...minuteAndHour, shortCapacity: 4 }
  const out = observeAll(
    Array.from({ length: 10 }, (_, i) => t0 + i * second),
    config,
  )
  assert.equal(out.at(-1)!.shortCount, 4)
  assert.equal(out.at(-1)!.longCount, 10)
  assert.equal(out.at(-1)!.next.ages.length, 4)
})

test('out of order: a late event counts at its own time and is kept for later queries', () => {
  const out = observeAll([t0, t0 + 40 * second, t0 + 20 * second, t0 + 50 * second])
  const late = out[2]!
  // at +20 s: +0 and +20 itself; +40 is after it
  assert.equal(late.shortCount, 2)
  assert.equal(late.longCount, 3) // bucket-granular: +40 s shares its minute
  assert.equal(late.next.latest, t0 + 40 * second)
  assert.deepEqual(late.next.ages, [40 * second, 20 * second, 0])
  assert.equal(out[3]!.shortCount, 4)
  assert.deepEqual(windowStats(out[3]!.next, t0 + 61 * second), { shortCount: 3, longCount: 4 })
})

test('out of order: a late event in an older bucket is counted there', () => {
  const out = observeAll([t0 + 10 * minute, t0 + 5 * minute + 30 * second, t0 + 10 * minute + 1])
  const late = out[1]!
  assert.equal(late.shortCount, 1)
  assert.equal(late.longCount, 1) // the +10 min event is after its bucket
  assert.deepEqual(late.next.counts, [1, 0, 0, 0, 0, 1])
  assert.equal(out[2]!.longCount, 3)
  // an hour and a bit after the late one: it has dropped out, the others not
  assert.equal(windowStats(out[2]!.next, t0 + 65 * minute + 30 * second).longCount, 2)
})

test('out of order: an event older than the whole window counts itself but is not kept', () => {
  const out = observeAll([t0 + 2 * 60 * minute, t0])
  assert.equal(out[1]!.shortCount, 1)
  assert.equal(out[1]!.longCount, 1)
  assert.deepEqual(out[1]!.next, out[0]!.next)
})

test('windowObserve does not change the state it is given', () => {
  const a = windowObserve(undefined, t0).next
  const copy = structuredClone(a)
  windowObserve(a, t0 + second)
  windowObserve(a, t0 - 30 * second)
  windowObserve(a, t0 + 3 * 60 * minute)
  assert.deepEqual(a, copy)
})

test('windowStats of no state is zero', () => {
  assert.deepEqual(windowStats(undefined, t0), { shortCount: 0, longCount: 0 })
})
