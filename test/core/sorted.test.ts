import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Random } from '../../src/core/random.ts'
import { insertSorted, lowerBound, replaceSorted } from '../../src/core/sorted.ts'

test('inserts and replacements keep the array equal to a sort of its values, duplicates included', () => {
  const random = new Random(5)
  const values: number[] = []
  const sorted = new Float64Array(64)
  for (let step = 0; step < 5_000; step++) {
    const x = random.integer(0, 20) / 4
    if (values.length < 64) {
      insertSorted(sorted, values.length, x)
      values.push(x)
    } else {
      const slot = random.integer(0, 63)
      replaceSorted(sorted, 64, values[slot]!, x)
      values[slot] = x
    }
    assert.deepEqual(
      Array.from(sorted.subarray(0, values.length)),
      [...values].sort((a, b) => a - b),
    )
  }
})

test('lowerBound is the first index whose value is at least x', () => {
  const sorted = Float64Array.from([1, 2, 2, 3])
  assert.deepEqual(
    [0, 1, 2, 2.5, 3, 4].map((x) => lowerBound(sorted, 4, x)),
    [0, 0, 1, 3, 3, 4],
  )
})
