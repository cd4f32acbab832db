import assert from 'node:assert/strict'
import { test } from 'node:test'
import { firstSeenHas, firstSeenObserve, locationCell } from '../../../src/core/features/first-seen.ts'

function observeAll(values: string[], capacity: number) {
  let state: readonly string[] | undefined
  return values.map((value) => {
    const out = firstSeenObserve(state, value, capacity)
    state = out.next
    return out
  })
}

test('says whether a value is new, remembering it afterwards', () => {
  const out = observeAll(['a', 'b', 'a', 'c', 'b'], 3)
  assert.deepEqual(
    out.map((o) => o.firstSeen),
    [true, true, false, true, false],
  )
  assert.deepEqual(out.at(-1)!.next, ['a', 'c', 'b'])
})

test('evicts the least recently used value when full', () => {
  // a is used again before d arrives, so b (least recent) is the one forgotten
  const out = observeAll(['a', 'b', 'c', 'a', 'd', 'b', 'a'], 3)
  assert.deepEqual(
    out.map((o) => o.firstSeen),
    [true, true, true, false, true, true, false],
  )
  assert.deepEqual(out[4]!.next, ['c', 'a', 'd'])
  assert.deepEqual(out.at(-1)!.next, ['d', 'b', 'a'])
  assert.ok(out.every((o) => o.next.length <= 3))
})

test('does not change the state it is given', () => {
  const state = ['a', 'b']
  firstSeenObserve(state, 'a', 2)
  firstSeenObserve(state, 'c', 2)
  assert.deepEqual(state, ['a', 'b'])
  assert.equal(firstSeenHas(state, 'b'), true)
  assert.equal(firstSeenHas(undefined, 'b'), false)
})

test('location cells: 0.1° grid, nearby points share a cell, negative coordinates floor', () => {
  assert.equal(locationCell(35.6892, 51.389), '356:513')
  assert.equal(locationCell(35.6801, 51.3999), '356:513')
  assert.notEqual(locationCell(35.7001, 51.389), locationCell(35.6892, 51.389))
  assert.equal(locationCell(-0.05, -0.05), '-1:-1')
  assert.equal(locationCell(40.7, -74.0, 1), '40:-74')
})
