// `lookout score` as a user runs it.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { cleanEnv, runCli } from '../helpers/cli.ts'

const directory = mkdtempSync(join(tmpdir(), 'lookout-score-cli-'))
after(() => rmSync(directory, { recursive: true, force: true }))

test('lookout score writes every row with anomaly_score and prints a summary', async () => {
  const generator = new PhasedGenerator({ seed: 5 })
  const input = join(directory, 'events.jsonl')
  writeFileSync(input, Array.from({ length: 3_000 }, () => JSON.stringify(generator.next(0))).join('\n'))
  const output = join(directory, 'scored.jsonl')
  const result = await runCli(['score', '--input', input, '--output', output, '--partitions', '2'], { env: cleanEnv() })
  assert.equal(result.code, 0, result.stderr)
  assert.match(result.stdout, /^scored 3,000 of 3,000 rows \(jsonl, 2 partitions, no model\) in [\d.]+ s/)
  assert.match(result.stdout, /rows at or above 0\.999 \(score\.threshold\)/)
  const rows = readFileSync(output, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  assert.equal(rows.length, 3_000)
  assert.ok(rows.every((row) => row.anomaly_score >= 0 && row.anomaly_score <= 1))
})

test('lookout score stops at a malformed row and names it', async () => {
  const input = join(directory, 'bad.csv')
  writeFileSync(input, 'timestamp,value\n2025-01-01 00:00:00,1\n2025-01-01 00:05:00,oops\n')
  const result = await runCli(['score', '--input', input, '--output', join(directory, 'bad.out.csv')], {
    env: cleanEnv(),
  })
  assert.equal(result.code, 1)
  assert.match(result.stderr, /error \[LOOKOUT_INPUT_INVALID\]: row 3: value "oops" is not a finite number/)
  assert.match(result.stderr, /--skip-invalid/)
})
