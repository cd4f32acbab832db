import assert from 'node:assert/strict'
import { test } from 'node:test'
import { minRobustSamples, recentPush, robustLocation, robustZScore } from '../../../src/core/features/recent-values.ts'
import { zScoreLimit } from '../../../src/core/features/welford.ts'
import { Random } from '../../../src/core/random.ts'

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const h = s.length >> 1
  return s.length % 2 ? s[h]! : (s[h - 1]! + s[h]!) / 2
}

test('median and 1.4826 × MAD match a sort-based computation on random samples of every size', () => {
  const random = new Random(3)
  for (let n = 1; n <= 40; n++) {
    for (let trial = 0; trial < 20; trial++) {
      const values = Array.from({ length: n }, () => Math.round(random.normal(100, 30)))
      const m = median(values)
      const mad = median(values.map((v) => Math.abs(v - m)))
      const got = robustLocation(values)
      assert.equal(got.median, m)
      if (mad > 0) assert.ok(Math.abs(got.scale - 1.4826 * mad) < 1e-9, `n=${n}`)
    }
  }
})

test('falls back to the mean absolute deviation when the MAD is 0', () => {
  // more than half equal: MAD 0, but the values are not all equal
  const values = [5, 5, 5, 5, 9]
  const { median: m, scale } = robustLocation(values)
  assert.equal(m, 5)
  assert.ok(Math.abs(scale - (1.2533141373155003 * 4) / 5) < 1e-12)
  assert.deepEqual(robustLocation([]), { median: 0, scale: 0 })
})

test('push keeps the newest values up to the capacity, in quantum units, without changing its input', () => {
  let state: number[] | undefined
  for (const x of [1.234, 2.345, 3.456, 4.567]) state = recentPush(state, x, 0.01, 3)
  assert.deepEqual(state, [235, 346, 457])
  const before = [...state!]
  recentPush(state, 9, 0.01, 3)
  assert.deepEqual(state, before)
  assert.deepEqual(recentPush(undefined, 0.123456, 0), [0.123456])
})

test('robust z-score: 0 before enough values, unit-free, clipped, finite with no spread', () => {
  const few = [100, 110, 90, 105].map((x) => x * 100)
  assert.equal(few.length < minRobustSamples, true)
  assert.equal(robustZScore(few, 1000, 0.01), 0)
  const values = [100, 102, 98, 101, 99, 100, 103, 97]
  const inCents = values.map((x) => x * 100)
  const z = robustZScore(values, 110, 0)
  assert.ok(z > 3)
  assert.ok(Math.abs(robustZScore(inCents, 110, 0.01) - z) < 1e-9)
  assert.equal(robustZScore(values, 1e9, 0), zScoreLimit)
  const flat = [7, 7, 7, 7, 7, 7]
  assert.equal(robustZScore(flat, 7, 0), 0)
  assert.equal(robustZScore(flat, 8, 0), zScoreLimit)
})
