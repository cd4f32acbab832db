import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  clippedZ,
  emptyWelford,
  type WelfordState,
  welfordStd,
  welfordUpdate,
  welfordVariance,
  welfordZScore,
  zScoreLimit,
} from '../../../src/core/features/welford.ts'
import { Random } from '../../../src/core/random.ts'

function twoPass(values: number[]): { mean: number; variance: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)
  return { mean, variance }
}

test('matches a two-pass mean and sample variance on random data to 1e-9', () => {
  const random = new Random(7)
  for (const [mean, std] of [
    [0, 1],
    [150, 50],
    [1e6, 3e5],
    [-20, 0.001],
  ] as const) {
    const values = Array.from({ length: 5000 }, () => random.normal(mean, std))
    let state: WelfordState | undefined
    for (const x of values) state = welfordUpdate(state, x)
    const expected = twoPass(values)
    assert.equal(state!.n, values.length)
    assert.ok(Math.abs(state!.mean - expected.mean) <= 1e-9 * Math.max(1, Math.abs(expected.mean)))
    assert.ok(Math.abs(welfordVariance(state!) - expected.variance) <= 1e-9 * expected.variance)
  }
})

test('update returns a new state and leaves the old one alone', () => {
  const one = welfordUpdate(undefined, 10)
  const two = welfordUpdate(one, 20)
  assert.deepEqual(one, { n: 1, mean: 10, m2: 0 })
  assert.deepEqual(two, { n: 2, mean: 15, m2: 50 })
  assert.deepEqual(emptyWelford, { n: 0, mean: 0, m2: 0 })
})

test('variance is 0 below two values; z-score is 0 until there is a spread to measure', () => {
  assert.equal(welfordVariance(emptyWelford), 0)
  assert.equal(welfordVariance(welfordUpdate(undefined, 5)), 0)
  assert.equal(welfordZScore(undefined, 100), 0)
  assert.equal(welfordZScore(welfordUpdate(undefined, 5), 100), 0)
})

test('z-score against the values seen so far', () => {
  let state: WelfordState | undefined
  for (const x of [2, 4, 4, 4, 5, 5, 7, 9]) state = welfordUpdate(state, x)
  // mean 5, sample std √(32/7)
  assert.equal(state!.mean, 5)
  assert.ok(Math.abs(welfordStd(state!) - Math.sqrt(32 / 7)) < 1e-12)
  assert.ok(Math.abs(welfordZScore(state, 9) - 4 / Math.sqrt(32 / 7)) < 1e-12)
})

test('zero spread: equal value scores 0, anything else the clip limit, never Infinity or NaN', () => {
  const flat = welfordUpdate(welfordUpdate(undefined, 3), 3)
  assert.equal(welfordZScore(flat, 3), 0)
  assert.equal(welfordZScore(flat, 4), zScoreLimit)
  assert.equal(welfordZScore(flat, 2), -zScoreLimit)
  assert.equal(clippedZ(1e9, 1, 0), zScoreLimit)
  assert.equal(clippedZ(-1e9, 1, 0), -zScoreLimit)
})
