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

test('a serialized store reads committed values back as JSON does, each read a fresh object', () => {
  const store = new StateStore({ serialized: true })
  store.put('a', { n: -0, gone: undefined, when: 1.5 })
  store.commitPending()
  const first = store.get<Record<string, unknown>>('a')
  assert.deepEqual(first, { n: 0, when: 1.5 })
  assert.notEqual(store.get('a'), first)
})
