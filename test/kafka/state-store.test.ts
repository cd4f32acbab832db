import assert from 'node:assert/strict'
import { test } from 'node:test'
import { StateStore } from '../../src/kafka/state-store.ts'

for (const serialized of [false, true]) {
  test(`a ${serialized ? 'serialized' : 'plain'} store: pending writes until commit, changelog records, restore and copies`, () => {
    const store = new StateStore({ serialized })
    store.put('a', { n: 1, recent: [1, 2] })
    store.put('b', { n: 2 })
    assert.deepEqual(store.get('a'), { n: 1, recent: [1, 2] })
    assert.equal(store.size, 0)
    assert.deepEqual(
      [...store.pendingRecords()],
      [
        ['a', '{"n":1,"recent":[1,2]}'],
        ['b', '{"n":2}'],
      ],
    )
    store.commitPending()
    assert.equal(store.size, 2)
    assert.deepEqual(store.get('a'), { n: 1, recent: [1, 2] })
    store.delete('b')
    assert.deepEqual([...store.pendingRecords()], [['b', undefined]])
    const copy = store.copy(true)
    store.discardPending()
    assert.deepEqual(store.get('b'), { n: 2 })
    assert.equal(copy.get('b'), undefined)
    assert.equal(copy.serialized, serialized)

    const restored = new StateStore({ serialized })
    restored.restoreText('a', '{"n":1,"recent":[1,2]}')
    restored.restoreText('c', '{"n":3}')
    restored.restoreText('c', undefined)
    restored.restore('d', { n: 4 })
    assert.deepEqual(
      new Map(restored.entries()),
      new Map([
        ['a', { n: 1, recent: [1, 2] }],
        ['d', { n: 4 }],
      ]),
    )
  })
}

test('a serialized store without an object cache reads committed values back as JSON does, each read a fresh object', () => {
  const store = new StateStore({ serialized: true, cachedObjects: 0 })
  store.put('a', { n: -0, gone: undefined, when: 1.5 })
  store.commitPending()
  const first = store.get<Record<string, unknown>>('a')
  assert.deepEqual(first, { n: 0, when: 1.5 })
  assert.notEqual(store.get('a'), first)
})

test('a serialized store hands recently written values back as written, the others as their JSON', () => {
  const store = new StateStore({ serialized: true, cachedObjects: 2 })
  const written = ['a', 'b', 'c'].map((key, i) => {
    const value = { i, window: { toJSON: () => ({ t: [i] }) } }
    store.put(key, value)
    return value
  })
  assert.deepEqual(
    [...store.pendingRecords()].map(([, text]) => text),
    ['{"i":0,"window":{"t":[0]}}', '{"i":1,"window":{"t":[1]}}', '{"i":2,"window":{"t":[2]}}'],
  )
  store.commitPending()
  // the two newest as the objects written; the oldest, out of the cache, parsed from its text
  assert.equal(store.get('b'), written[1])
  assert.equal(store.get('c'), written[2])
  assert.deepEqual(store.get('a'), { i: 0, window: { t: [0] } })
  // a write that aborts leaves the cached value; a deletion and a restore drop it
  store.put('b', { i: 9 })
  store.discardPending()
  assert.equal(store.get('b'), written[1])
  const copy = store.copy(false)
  assert.equal(copy.get('c'), written[2])
  store.delete('c')
  store.commitPending()
  assert.equal(store.get('c'), undefined)
  store.restoreText('b', '{"i":7}')
  assert.deepEqual(store.get('b'), { i: 7 })
  // the text committed is the JSON of what was written, whatever the cache holds
  assert.deepEqual(new Map(copy.entries()).get('b'), { i: 1, window: { t: [1] } })
})
