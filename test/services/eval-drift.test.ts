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
