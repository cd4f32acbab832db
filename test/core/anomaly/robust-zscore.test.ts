import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  createRobustState,
  EntityZScoreDetector,
  MAX_ROBUST_Z,
  type RobustState,
  robustZ,
  updateRobustState,
} from '../../../src/core/anomaly/robust-zscore.ts'
import { Random } from '../../../src/core/random.ts'

function feed(values: readonly number[], capacity = 50): RobustState {
  let state = createRobustState(capacity)
  for (const value of values) state = updateRobustState(state, value)
  return state
}

test('median and MAD are exact over the buffer', () => {
  const state = feed([1, 2, 3, 4, 100])
  assert.equal(state.median, 3)
  // deviations 2, 1, 0, 1, 97 → MAD 1
  assert.equal(state.mad, 1)
  assert.equal(state.count, 5)
  assert.ok(Math.abs(robustZ(state, 3 + 1.4826 * 2) - 2) < 1e-12)
  assert.ok(Math.abs(robustZ(state, 3 - 1.4826 * 4) + 4) < 1e-12)
})

test('one extreme value barely moves the yardstick, unlike mean and standard deviation', () => {
  const random = new Random(1)
  const history = Array.from({ length: 49 }, () => random.normal(100, 10))
  const clean = feed(history)
  const polluted = feed([...history, 1_000_000])
  assert.ok(Math.abs(polluted.median - clean.median) < 2)
  assert.ok(Math.abs(robustZ(polluted, 200) - robustZ(clean, 200)) < 1.5)
  assert.ok(robustZ(polluted, 200) > 7)
})

test('the ring buffer keeps only the last `capacity` values and the state stays JSON', () => {
  const state = feed([1000, 1000, 1000, 1, 2, 3, 4, 5], 5)
  assert.equal(state.recent.length, 5)
  assert.equal(state.count, 8)
  assert.deepEqual(
    [...state.recent].sort((a, b) => a - b),
    [1, 2, 3, 4, 5],
  )
  assert.equal(state.median, 3)
  assert.deepEqual(JSON.parse(JSON.stringify(state)), state)
  // updates are pure: the old state is untouched
  const next = updateRobustState(state, 50)
  assert.equal(state.count, 8)
  assert.equal(next.count, 9)
})

test('robustZ is 0 before minCount values and for non-finite values; those are not learned', () => {
  const state = feed([10, 11, 12, 13])
  assert.equal(robustZ(state, 1000), 0)
  assert.notEqual(robustZ(state, 1000, { minCount: 3 }), 0)
  assert.equal(robustZ(undefined, 5), 0)
  assert.equal(updateRobustState(state, Number.NaN), state)
  assert.equal(robustZ(feed([1, 2, 3, 4, 5]), Number.POSITIVE_INFINITY), 0)
})

test('a degenerate history falls back to the mean absolute deviation, then to a capped z', () => {
  // six of ten values equal: MAD is 0 but the history is not constant
  const mostlyFlat = feed([5, 5, 5, 5, 5, 5, 6, 7, 8, 9])
  assert.equal(mostlyFlat.mad, 0)
  assert.ok(mostlyFlat.meanDeviation > 0)
  const z = robustZ(mostlyFlat, 15)
  assert.ok(Number.isFinite(z) && z > 5)
  const flat = feed([7, 7, 7, 7, 7, 7])
  assert.equal(robustZ(flat, 7), 0)
  assert.equal(robustZ(flat, 8), MAX_ROBUST_Z)
  assert.equal(robustZ(flat, 6), -MAX_ROBUST_Z)
})

test('bad capacity is rejected with the setting named', () => {
  assert.throws(() => createRobustState(0), /capacity = 0/)
})

test('the detector maps the largest |z| with z²/(z² + k²)', () => {
  const detector = new EntityZScoreDetector({ featureIndices: [1, 3], featureNames: ['amount_z', 'gap_z'] })
  assert.equal(detector.score(Float64Array.of(99, 0, 99, 0)), 0)
  assert.equal(detector.score(Float64Array.of(0, -3.5, 0, 1)), 0.5)
  assert.equal(detector.score(Float64Array.of(0, 1, 0, 7)), 0.8)
  assert.equal(detector.score(Float64Array.of(0, Number.NaN, 0, 0)), 0)
  const extreme = detector.score(Float64Array.of(0, Number.POSITIVE_INFINITY, 0, 0))
  assert.ok(extreme < 1 && extreme > 0.99)
  assert.deepEqual(detector.explain(Float64Array.of(0, 1, 0, 7)), [
    { feature: 'gap_z', weight: 0.8 },
    { feature: 'amount_z', weight: 1 / (1 + 3.5 * 3.5) },
  ])
  assert.throws(() => detector.score(Float64Array.of(1, 2)), /index 3/)
})

test('features stage + detector end to end: a user’s unusual amount scores high', () => {
  const random = new Random(3)
  let state: RobustState | undefined
  const detector = new EntityZScoreDetector({ featureIndices: [0], halfScoreAt: 3.5 })
  const scores: number[] = []
  for (let i = 0; i < 200; i++) {
    const amount = i === 150 ? 2500 : random.normal(150, 30)
    scores.push(detector.score(Float64Array.of(robustZ(state, amount))))
    state = updateRobustState(state, amount)
  }
  const others = scores.filter((_, i) => i !== 150)
  assert.ok(scores[150]! > 0.99)
  assert.ok(Math.max(...others) < 0.8, `max inlier score ${Math.max(...others)}`)
})
