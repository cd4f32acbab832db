import assert from 'node:assert/strict'
import { test } from 'node:test'
import { evaluateDrift, formatDriftEval, phaseTransitions } from '../../src/offline/eval-drift.ts'

test('phase transitions of two cycles', () => {
  assert.deepEqual(phaseTransitions(500_000), [100_000, 200_000, 250_000, 350_000, 450_000])
})

test('eval --drift on the first 115,000 events: the transition is found, a candidate is trained and judged', async () => {
  const result = await evaluateDrift({ events: 115_000, bootstrapEvents: 10_000 })
  assert.equal(result.transitions.length, 1)
  const [transition] = result.transitions
  assert.ok(transition!.delay !== null && transition!.delay < 1_000, `delay ${transition!.delay}`)
  assert.equal(result.retrains[0]?.verdict, 'first model')
  const retrain = result.retrains.find((r) => r.drift === transition!.firstDrift)
  assert.ok(retrain, 'a retrain follows the drift')
  assert.match(retrain.verdict, /^(promote|reject): ROC-AUC/)
  const table = formatDriftEval(result)
  assert.match(table, /\| normal → drift \| 100000 \|/)
})

test('eval --drift checks and prints the targets its options set, not fixed numbers', async () => {
  const result = await evaluateDrift({
    events: 104_000,
    bootstrapEvents: 10_000,
    detectionAllowance: 3,
    maxFalseDriftsPer100k: 50,
    window: 4_000,
    recoveryShare: 0.75,
    recoveryWithin: 8_000,
  })
  const [transition] = result.transitions
  assert.equal(result.met.detected, transition!.delay !== null && transition!.delay < 3)
  assert.equal(result.met.falseDrifts, result.falseDrifts.per100k <= 50)
  const table = formatDriftEval(result)
  assert.match(table, /\| F1 4k before \| F1 0–4k after \| F1 4–8k after \|/)
  assert.match(table, /false \(outside the first 3 events after a transition\)/)
  assert.match(table, /every transition detected within 3 events: (met|NOT met)/)
  assert.match(table, /at most 50 false drifts per 100,000 stable events: (met|NOT met)/)
  assert.match(table, /F1 back to ≥ 75% of its pre-drift level within 8,000 events of each retrain/)
})

test('eval --drift reproduces more partitions on request, through the same offline pipeline as eval', async () => {
  const result = await evaluateDrift({ events: 30_000, bootstrapEvents: 10_000, partitions: 3 })
  assert.equal(result.partitions, 3)
  assert.match(formatDriftEval(result), /^phased source, seed 42, 30,000 events, 3 partitions in /)
})
