import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ScoreEnsemble } from '../../../src/core/anomaly/ensemble.ts'
import { Random } from '../../../src/core/random.ts'

type RawSource = (random: Random) => Record<string, number>

/** Scores then observes every event, as the scorer does; returns the scores after warm-up. */
function run(ensemble: ScoreEnsemble, source: RawSource, count: number, seed: number): number[] {
  const random = new Random(seed)
  const scores: number[] = []
  for (let i = 0; i < count; i++) {
    const raw = source(random)
    const result = ensemble.calibrate(raw)
    if (result.calibrated) scores.push(result.score)
    ensemble.observe(raw)
  }
  return scores
}

const flagRate = (scores: number[], threshold: number) => scores.filter((s) => s > threshold).length / scores.length

// Two detectors with unlike scales and shapes: a bounded forest-like score and a heavy tail.
const twoDetectors: RawSource = (random) => ({
  forest: 0.4 + 0.05 * random.normal(),
  zscore: random.exponential(0.5),
})

test('on a stationary stream a threshold q flags about (1 - q) of events', () => {
  const ensemble = new ScoreEnsemble({ detectors: ['forest', 'zscore'], seed: 1 })
  const scores = run(ensemble, twoDetectors, 20_000, 2)
  for (const [q, tolerance] of [
    // Tolerances are about three standard errors of a 4096-value reservoir's quantiles.
    [0.5, 0.04],
    [0.9, 0.02],
    [0.99, 0.005],
  ] as const) {
    const rate = flagRate(scores, q)
    assert.ok(Math.abs(rate - (1 - q)) < tolerance, `threshold ${q} flags ${rate}`)
  }
  // Per-detector calibrated scores are uniform-ish too.
  const probe = ensemble.calibrate({ forest: 0.4, zscore: 2 * Math.LN2 })
  assert.ok(Math.abs(probe.scores['forest']! - 0.5) < 0.05)
  assert.ok(Math.abs(probe.scores['zscore']! - 0.5) < 0.05)
})

test('two streams with very different raw scales flag the same share at one threshold', () => {
  const small: RawSource = (random) => ({ detector: random.normal(0, 1) })
  const large: RawSource = (random) => ({ detector: 1e6 * Math.exp(random.normal(0, 2)) })
  const a = run(new ScoreEnsemble({ detectors: ['detector'] }), small, 15_000, 3)
  const b = run(new ScoreEnsemble({ detectors: ['detector'] }), large, 15_000, 4)
  for (const q of [0.9, 0.99]) {
    assert.ok(Math.abs(flagRate(a, q) - flagRate(b, q)) < 0.01, `${q}: ${flagRate(a, q)} vs ${flagRate(b, q)}`)
    assert.ok(Math.abs(flagRate(a, q) - (1 - q)) < 0.012)
  }
})

test('monotone in each raw score, and still ranking beyond anything seen', () => {
  const ensemble = new ScoreEnsemble({ detectors: ['forest', 'zscore'] })
  run(ensemble, twoDetectors, 5000, 5)
  let previous = -1
  for (let raw = 0.2; raw < 1; raw += 0.005) {
    const { score } = ensemble.calibrate({ forest: raw, zscore: 1 })
    assert.ok(score >= previous, `score fell at forest=${raw}`)
    previous = score
  }
  const far = ensemble.calibrate({ forest: 0.9, zscore: 1 }).score
  const farther = ensemble.calibrate({ forest: 1, zscore: 1 }).score
  assert.ok(far > 0.99 && farther > far && farther <= 1)
})

test('calibrate() does not change state; observe() does', () => {
  const ensemble = new ScoreEnsemble({ detectors: ['forest', 'zscore'] })
  run(ensemble, twoDetectors, 1000, 6)
  const before = JSON.stringify(ensemble.toJSON())
  ensemble.calibrate({ forest: 0.9, zscore: 3 }, ['velocity'])
  assert.equal(JSON.stringify(ensemble.toJSON()), before)
  ensemble.observe({ forest: 0.9, zscore: 3 })
  assert.notEqual(JSON.stringify(ensemble.toJSON()), before)
  assert.equal(ensemble.observed, 1001)
})

test('serialise → restore gives identical scores from then on', () => {
  const original = new ScoreEnsemble({ detectors: ['forest', 'zscore'], weights: { zscore: 2 }, seed: 7 })
  run(original, twoDetectors, 4000, 8)
  const restored = ScoreEnsemble.fromJSON(JSON.parse(JSON.stringify(original.toJSON())))
  assert.deepEqual(run(restored, twoDetectors, 3000, 9), run(original, twoDetectors, 3000, 9))
  assert.deepEqual(restored.toJSON(), original.toJSON())
})

test('rule hits pass through as strong signals, even during warm-up', () => {
  const ensemble = new ScoreEnsemble({ detectors: ['forest'], rules: { 'five-in-60s': 0.95 } })
  const cold = ensemble.calibrate({ forest: 0.9 }, ['high-value-burst'])
  assert.equal(cold.calibrated, false)
  assert.equal(cold.score, 1)
  assert.deepEqual(cold.scores['rule:high-value-burst'], 1)
  run(ensemble, (random) => ({ forest: 0.4 + 0.05 * random.normal() }), 2000, 10)
  const ordinary = ensemble.calibrate({ forest: 0.4 }, ['five-in-60s'])
  assert.equal(ordinary.score, 0.95)
  assert.deepEqual(ordinary.raw, { forest: 0.4 })
  assert.ok(ensemble.calibrate({ forest: 0.4 }).score < 0.7)
})

test('missing detectors are skipped; unknown names and bad options are errors', () => {
  const ensemble = new ScoreEnsemble({ detectors: ['forest', 'zscore'], warmup: 0 })
  run(ensemble, twoDetectors, 500, 11)
  const partial = ensemble.calibrate({ zscore: 10 })
  assert.deepEqual(Object.keys(partial.scores), ['zscore'])
  assert.ok(partial.score > 0.9)
  assert.throws(() => ensemble.calibrate({ forrest: 1 }), /unknown detector forrest/)
  assert.throws(() => new ScoreEnsemble({ detectors: [] }), /non-empty/)
  assert.throws(() => new ScoreEnsemble({ detectors: ['a'], rules: { r: 2 } }), /rules\.r is 2/)
})

test('scoreAndObserve scores as calibrate and learns as observe', () => {
  const random = new Random(9)
  const twoCalls = new ScoreEnsemble({ detectors: ['forest', 'zscore'], seed: 1, warmup: 50 })
  const oneCall = new ScoreEnsemble({ detectors: ['forest', 'zscore'], seed: 1, warmup: 50 })
  for (let i = 0; i < 3_000; i++) {
    const raw: Record<string, number> =
      i % 5 === 0 ? { forest: random.next() } : { forest: random.next(), zscore: random.normal(0, 1) }
    const rules = i % 97 === 0 ? ['burst'] : []
    const expected = twoCalls.calibrate(raw, rules)
    twoCalls.observe(raw)
    const scores: Record<string, number> = {}
    assert.equal(oneCall.scoreAndObserve(raw, rules, scores), expected.score)
    assert.deepEqual(scores, expected.scores)
  }
  assert.deepEqual(oneCall.toJSON(), twoCalls.toJSON())
})
