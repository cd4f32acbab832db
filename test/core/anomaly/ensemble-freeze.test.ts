import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ScoreEnsemble, type ScoreEnsembleState } from '../../../src/core/anomaly/ensemble.ts'

const reference = Array.from({ length: 500 }, (_, i) => 0.3 + (0.3 * i) / 499)

test('a detector calibrated by its reference sample keeps the same map whatever traffic follows', () => {
  const ensemble = new ScoreEnsemble({ detectors: ['isolation_forest', 'half_space_trees'], seed: 1 })
  ensemble.freezeWith('isolation_forest', reference)
  const probe = { isolation_forest: 0.58, half_space_trees: 0.5 }
  const before = ensemble.calibrate(probe)
  assert.ok(before.calibrated, 'calibrated from the first event')
  assert.ok(Math.abs(before.scores.isolation_forest! - 0.93) < 0.01, String(before.scores.isolation_forest))
  // a burst of high scores does not make them usual
  for (let i = 0; i < 2000; i++) ensemble.observe({ isolation_forest: 0.7, half_space_trees: Math.random() })
  const after = ensemble.calibrate(probe)
  assert.equal(after.scores.isolation_forest, before.scores.isolation_forest)
  assert.ok(ensemble.calibrate({ isolation_forest: 0.7, half_space_trees: 0.5 }).score > 0.999)

  const restored = ScoreEnsemble.fromJSON(JSON.parse(JSON.stringify(ensemble.toJSON())) as ScoreEnsembleState)
  assert.deepEqual(restored.toJSON().frozen, ['isolation_forest'])
  assert.equal(restored.calibrate(probe).score, after.score)
  restored.observe({ isolation_forest: 0.9, half_space_trees: 0.5 })
  assert.equal(restored.calibrate(probe).scores.isolation_forest, before.scores.isolation_forest)
})

test('an unknown detector or an empty sample is refused', () => {
  const ensemble = new ScoreEnsemble({ detectors: ['isolation_forest'] })
  assert.throws(() => ensemble.freezeWith('nope', reference), /unknown detector nope/)
  assert.throws(() => ensemble.freezeWith('isolation_forest', []), /at least one score/)
})

test('a new model keeps the online detectors calibrations, and a detector without calibration counts as at its median', () => {
  const old = new ScoreEnsemble({ detectors: ['half_space_trees'], seed: 1 })
  for (let i = 0; i < 1000; i++) old.observe({ half_space_trees: i / 1000 })
  const next = new ScoreEnsemble({ detectors: ['half_space_trees', 'isolation_forest'], seed: 1 })
  next.freezeWith('isolation_forest', reference)
  // before taking over: no calibration of half_space_trees yet, so its p is 1/2, not 1
  assert.equal(next.calibrate({ half_space_trees: 0.999, isolation_forest: 0.45 }).scores.half_space_trees, 0.5)
  next.continueFrom(old)
  const p = next.calibrate({ half_space_trees: 0.999, isolation_forest: 0.45 }).scores.half_space_trees!
  assert.ok(p > 0.99, String(p))
  // the model's own calibration is its reference, not the old ensemble's
  assert.ok(
    Math.abs(next.calibrate({ half_space_trees: 0.5, isolation_forest: 0.58 }).scores.isolation_forest! - 0.93) < 0.01,
  )
})
