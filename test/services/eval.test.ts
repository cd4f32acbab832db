// The quality report on small runs of each labelled source.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { formatEvalTable, runEval } from '../../src/offline/eval.ts'

test('eval over a normal → drift change reports both phases and every detector', () => {
  const report = runEval({
    source: 'phased',
    events: 12_000,
    from: 95_000,
    trainEvents: 2_000,
    seed: 1,
    threshold: 0.99,
    partitions: 3,
  })
  assert.deepEqual(Object.keys(report.phases), ['normal', 'drift'])
  assert.equal(report.phases.normal!.events + report.phases.drift!.events, 10_000)
  assert.equal(report.overall.events, 10_000)
  assert.ok(report.detectors.includes('isolation_forest'))
  // the label rules are among the scorer's rules, so rules and the ensemble find every labelled drift event
  assert.ok(report.phases.drift!.detectors.ensemble!.recall > 0.95)
  assert.match(formatEvalTable(report), /^normal\s+\d/m)
})

test('eval on points and payments: no phases, overall quality in range', () => {
  for (const source of ['points', 'payments'] as const) {
    const report = runEval({ source, events: 4_000, trainEvents: 1_000, seed: 2, threshold: 0.99, partitions: 3 })
    assert.deepEqual(report.phases, {})
    assert.ok(report.overall.positives > 0, source)
    const prAuc = report.overall.detectors.isolation_forest!.prAuc
    assert.ok(prAuc !== null && prAuc > 0 && prAuc <= 1, `${source}: ${prAuc}`)
  }
})
