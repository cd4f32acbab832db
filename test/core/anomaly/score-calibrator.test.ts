import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ScoreCalibrator } from '../../../src/core/anomaly/score-calibrator.ts'
import { Random } from '../../../src/core/random.ts'

test('cdf of a uniform stream is close to the identity', () => {
  const calibrator = new ScoreCalibrator({ capacity: 1024, horizon: 10_000, seed: 3 })
  const random = new Random(1)
  for (let i = 0; i < 20_000; i++) calibrator.observe(random.next())
  for (const x of [0.05, 0.25, 0.5, 0.9, 0.99]) assert.ok(Math.abs(calibrator.cdf(x) - x) < 0.04, `cdf(${x})`)
  assert.equal(calibrator.size, 1024)
  assert.equal(calibrator.observed, 20_000)
})

test('cdf is non-decreasing everywhere and strictly rising past the largest value', () => {
  const calibrator = new ScoreCalibrator({ capacity: 256, horizon: 1000 })
  const random = new Random(2)
  for (let i = 0; i < 2000; i++) calibrator.observe(random.exponential(1))
  let previous = -1
  for (let x = -1; x < 30; x += 0.01) {
    const p = calibrator.cdf(x)
    assert.ok(p >= previous && p >= 0 && p <= 1)
    previous = p
  }
  assert.ok(calibrator.cdf(12) < calibrator.cdf(13) && calibrator.cdf(13) < 1)
})

test('ties count as not below: a mostly-constant detector does not inflate ordinary events', () => {
  const calibrator = new ScoreCalibrator({ capacity: 500, horizon: 500 })
  for (let i = 0; i < 500; i++) calibrator.observe(i % 20 === 0 ? 1 : 0)
  assert.equal(calibrator.cdf(0), 0)
  assert.ok(Math.abs(calibrator.cdf(1) - 0.95) < 0.01)
  assert.ok(calibrator.cdf(2) > 0.99 && calibrator.cdf(2) < 1)
})

test('forgets over the horizon: after a level shift the new level becomes the median', () => {
  const calibrator = new ScoreCalibrator({ capacity: 256, horizon: 1000, seed: 5 })
  const random = new Random(4)
  for (let i = 0; i < 5000; i++) calibrator.observe(random.normal(0, 1))
  assert.ok(calibrator.cdf(10) > 0.99)
  for (let i = 0; i < 6000; i++) calibrator.observe(random.normal(10, 1))
  assert.ok(Math.abs(calibrator.cdf(10) - 0.5) < 0.1, `cdf(10) = ${calibrator.cdf(10)}`)
})

test('serialise → load continues identically (values and random state)', () => {
  const original = new ScoreCalibrator({ capacity: 64, horizon: 200, seed: 9 })
  const random = new Random(6)
  for (let i = 0; i < 500; i++) original.observe(random.normal())
  const restored = ScoreCalibrator.fromJSON(JSON.parse(JSON.stringify(original.toJSON())))
  for (let i = 0; i < 500; i++) {
    const value = random.normal()
    original.observe(value)
    restored.observe(value)
  }
  assert.deepEqual(restored.toJSON(), original.toJSON())
  assert.equal(restored.cdf(0.3), original.cdf(0.3))
})

test('non-finite values are ignored; an empty calibrator ranks everything at 0', () => {
  const calibrator = new ScoreCalibrator()
  assert.equal(calibrator.cdf(5), 0)
  calibrator.observe(Number.NaN)
  calibrator.observe(Number.POSITIVE_INFINITY)
  assert.equal(calibrator.observed, 0)
  assert.throws(() => new ScoreCalibrator({ capacity: 100, horizon: 10 }), /horizon is 10/)
})
