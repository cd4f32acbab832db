// `lookout eval`: the quality table and its JSON form.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cleanEnv, runCli } from '../helpers/cli.ts'

test('lookout eval prints a table per phase and, with --json, one JSON object on the last line', async () => {
  // drift → attack: the phase change at event 200,000 falls inside the run
  const result = await runCli(
    ['eval', '--events', '30000', '--from', '185000', '--train-events', '5000', '--seed', '3', '--json'],
    { env: cleanEnv() },
  )
  assert.equal(result.code, 0, result.stderr)
  const lines = result.stdout.trim().split('\n')
  assert.match(lines[0]!, /^lookout eval: source phased, seed 3, events 185,000–215,000/)
  assert.match(result.stdout, /slice\s+events\s+positives\s+detector\s+precision\s+recall\s+F1\s+PR-AUC/)
  assert.match(result.stdout, /^attack\s/m)
  const report = JSON.parse(lines.at(-1)!)
  const detectors = ['isolation_forest', 'half_space_trees', 'entity_zscore', 'rules', 'ensemble']
  assert.deepEqual(report.detectors, detectors)
  assert.deepEqual(Object.keys(report.phases), ['drift', 'attack'])
  assert.equal(report.evaluated, 25_000)
  for (const slice of [...Object.values(report.phases), report.overall] as {
    detectors: Record<string, Record<string, number | null>>
  }[]) {
    for (const name of detectors) {
      for (const key of ['precision', 'recall', 'f1', 'prAuc']) {
        const value = slice.detectors[name]![key]
        assert.ok(typeof value === 'number' && value >= 0 && value <= 1, `${name}.${key} = ${value}`)
      }
    }
  }
  assert.ok(report.phases.attack.detectors.ensemble.recall > 0.9, 'the ensemble finds the attack')
})

test('lookout eval rejects an unknown source', async () => {
  const result = await runCli(['eval', '--source', 'nope'], { env: cleanEnv() })
  assert.equal(result.code, 1)
  assert.match(result.stderr, /unknown source "nope"/)
})
