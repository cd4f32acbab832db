// The rules of analyst feedback: the join of labels with scored events, and alert suppression
// after false-positive marks.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { encodeLabel, type LabelRecord } from '../../src/core/feedback.ts'
import {
  decodeLabelRecord,
  feedbackMemory,
  joinEvent,
  joinLabel,
  type RememberedEvent,
} from '../../src/core/feedback-join.ts'
import { applyMark, countSuppressed, isSuppressed, suppressionRecord } from '../../src/core/suppression.ts'
import { StateStore } from '../../src/kafka/state-store.ts'

function mark(eventId: string, label: 0 | 1, at = '2026-12-02T10:00:00.000Z', entity = 'u1'): LabelRecord {
  return { eventId, entity, label, by: 'ana', at }
}

type Flag = { flagged: boolean }

test('join: a label finds its remembered event once; a repeated mark is a duplicate', () => {
  const store = new StateStore()
  assert.equal(joinEvent<Flag>(store, 'u1', { id: 'e1', flagged: true }, true), undefined)
  const first = joinLabel<Flag>(store, mark('e1', 0))
  assert.deepEqual(first, { outcome: 'joined', event: { id: 'e1', flagged: true, label: 0 } })
  const again = joinLabel<Flag>(store, mark('e1', 1))
  assert.equal(again.outcome, 'duplicate')
})

test('join: a label that comes before its event waits for it, whatever order the topics are read in', () => {
  const store = new StateStore()
  assert.deepEqual(joinLabel<Flag>(store, mark('e2', 1)), { outcome: 'waiting' })
  // the same label twice waits once
  joinLabel<Flag>(store, mark('e2', 1))
  const waiting = joinEvent<Flag>(store, 'u1', { id: 'e2', flagged: true }, true)
  assert.deepEqual(waiting, { eventId: 'e2', label: 1, at: '2026-12-02T10:00:00.000Z' })
  // joined now: a later repeat of the mark is a duplicate, not a second join
  assert.equal(joinLabel<Flag>(store, mark('e2', 1)).outcome, 'duplicate')
  // an event not remembered (not flagged) still takes the label that waited for it
  joinLabel<Flag>(store, mark('e3', 1))
  assert.equal(joinEvent<Flag>(store, 'u1', { id: 'e3', flagged: false }, false)?.label, 1)
  assert.equal(joinEvent<Flag>(store, 'u1', { id: 'e4', flagged: false }, false), undefined)
})

test('join: memory is bounded per entity, entities apart, and an empty memory is deleted', () => {
  const store = new StateStore()
  for (let i = 0; i < feedbackMemory + 10; i++) joinEvent<Flag>(store, 'u1', { id: `e${i}`, flagged: true }, true)
  joinEvent<Flag>(store, 'u2', { id: 'e0', flagged: false }, true)
  const memory = store.get<{ events: RememberedEvent<Flag>[] }>('feedback:u1')!
  assert.equal(memory.events.length, feedbackMemory)
  assert.equal(memory.events[0]!.id, 'e10')
  // the oldest were forgotten: their label waits (bounded too)
  assert.equal(joinLabel<Flag>(store, mark('e0', 0)).outcome, 'waiting')
  assert.equal(joinLabel<Flag>(store, mark('e0', 0, undefined, 'u2')).outcome, 'joined')
  const fresh = new StateStore()
  joinLabel<Flag>(fresh, mark('x', 0))
  joinEvent<Flag>(fresh, 'u1', { id: 'x', flagged: false }, false)
  assert.equal([...fresh.pendingChanges()].at(-1)![1], undefined, 'tombstone for the emptied memory')
})

test('label records: malformed ones are refused with the reason; the key must be the entity', () => {
  const good = mark('e1', 0)
  assert.deepEqual(decodeLabelRecord(encodeLabel(good), 'u1'), good)
  assert.throws(() => decodeLabelRecord('{oops', 'u1'), /^Error: invalid label: not JSON: /)
  assert.throws(
    () => decodeLabelRecord(JSON.stringify({ ...good, label: 2 }), 'u1'),
    /invalid label: label must be 0 \(false positive\) or 1 \(true positive\)/,
  )
  assert.throws(
    () => decodeLabelRecord(JSON.stringify({ ...good, at: 'yesterday' }), 'u1'),
    /invalid label: `at` must be an ISO-8601 time/,
  )
  assert.throws(() => decodeLabelRecord(encodeLabel(good), 'u2'), /its key "u2" is not its entity "u1"/)
  assert.throws(() => decodeLabelRecord(encodeLabel(good), undefined), /its key null is not its entity "u1"/)
})

const policy = { afterFalsePositives: 3, forMs: 60_000 }

test('suppression: the Nth distinct false-positive mark suppresses the entity for the period from that mark', () => {
  let state = applyMark(undefined, mark('a', 0), policy).state
  state = applyMark(state, mark('a', 0), policy).state // the same alert marked again: counted once
  state = applyMark(state, mark('b', 0), policy).state
  assert.deepEqual(state.falsePositives, ['a', 'b'])
  assert.equal(isSuppressed(state, Date.parse('2026-12-02T10:00:01Z')), false)
  const third = applyMark(state, mark('c', 0, '2026-12-02T10:05:00.000Z'), policy)
  assert.equal(third.started, true)
  const since = Date.parse('2026-12-02T10:05:00.000Z')
  assert.deepEqual(third.state, {
    falsePositives: [],
    since,
    until: since + 60_000,
    count: 3,
    eventIds: ['a', 'b', 'c'],
    suppressedAlerts: 0,
  })
  assert.equal(isSuppressed(third.state, since - 1), false, 'alerts before the mark are not held back')
  assert.equal(isSuppressed(third.state, since), true)
  assert.equal(isSuppressed(third.state, since + 59_999), true)
  assert.equal(isSuppressed(third.state, since + 60_000), false, 'after the period alerts flow again')
  const counted = countSuppressed(countSuppressed(third.state))
  assert.deepEqual(suppressionRecord('u1', counted), {
    entity: 'u1',
    since: '2026-12-02T10:05:00.000Z',
    until: '2026-12-02T10:06:00.000Z',
    falsePositives: 3,
    eventIds: ['a', 'b', 'c'],
    suppressedAlerts: 2,
  })
})

test('suppression: a true-positive mark takes back that event’s false positive; 0 turns suppression off', () => {
  let state = applyMark(undefined, mark('a', 0), policy).state
  state = applyMark(state, mark('b', 0), policy).state
  state = applyMark(state, mark('a', 1), policy).state
  assert.deepEqual(state.falsePositives, ['b'])
  assert.equal(applyMark(state, mark('c', 0), policy).started, false, 'two false positives left, not three')
  let off = applyMark(undefined, mark('a', 0), { ...policy, afterFalsePositives: 0 })
  for (const id of ['b', 'c', 'd']) off = applyMark(off.state, mark(id, 0), { ...policy, afterFalsePositives: 0 })
  assert.equal(off.started, false)
  assert.equal(isSuppressed(off.state, Date.parse('2026-12-02T10:00:00Z')), false)
})
