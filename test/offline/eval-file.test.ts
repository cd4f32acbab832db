import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { Random } from '../../src/core/random.ts'
import { compileSchema } from '../../src/core/schemas/compile.ts'
import { validateSchemaDeclaration } from '../../src/core/schemas/declaration.ts'
import { fileEvalJson, formatFileEvalTable, runFileEval } from '../../src/offline/eval-file.ts'
import { scoreFile } from '../../src/offline/offline.ts'

const dir = mkdtempSync(join(tmpdir(), 'lookout-eval-file-'))

function tabular(rows: number, seed: number): string {
  const random = new Random(seed)
  const lines = ['x0,x1,x2,label']
  for (let i = 0; i < rows; i++) {
    const anomaly = random.next() < 0.03
    const shift = anomaly ? 6 : 0
    lines.push(`${random.normal() + shift},${random.normal() - shift},${random.normal()},${anomaly ? 1 : 0}`)
  }
  return `${lines.join('\n')}\n`
}

test('a CSV with header x0..xN,label gets an inferred schema; every detector and the ensemble are measured', async () => {
  const input = join(dir, 'blobs.csv')
  writeFileSync(input, tabular(3000, 1))
  const report = await runFileEval({ input, trainFraction: 0.2, threshold: 0.999, partitions: 3, seed: 42 })
  assert.equal(report.schemaSource, 'inferred')
  assert.equal(report.rows, 3000)
  assert.equal(report.trainRows, 600)
  assert.deepEqual(Object.keys(report.detectors).sort(), ['half_space_trees', 'isolation_forest'])
  assert.ok(report.detectors.isolation_forest!.rocAuc! > 0.98, JSON.stringify(report.detectors))
  assert.ok(report.detectors.half_space_trees!.rocAuc! > 0.9, JSON.stringify(report.detectors))
  assert.ok(report.ensemble.rocAuc! > report.detectors.isolation_forest!.rocAuc! - 0.01)
  const table = formatFileEvalTable(report)
  assert.match(table, /inferred from the header x0\.\.xN,label/)
  assert.match(table, /ensemble/)
  const json = JSON.parse(fileEvalJson(report))
  assert.equal(json.rows, 3000)
  assert.equal(json.positives, report.positives)
  for (const quality of [json.detectors.isolation_forest, json.detectors.half_space_trees, json.ensemble])
    for (const key of ['rocAuc', 'ap', 'precision', 'recall', 'f1']) assert.equal(typeof quality[key], 'number', key)
})

test('JSON Lines with a schema file: nested fields, per-entity features; a malformed row is rejected with its field', async () => {
  const schema = join(dir, 'logins.json')
  writeFileSync(
    schema,
    JSON.stringify({
      name: 'logins',
      entityKey: 'user',
      eventTime: 'at',
      label: 'fraud',
      fields: [
        { name: 'user', type: 'string' },
        { name: 'at', type: 'timestamp' },
        { name: 'geo.latency', type: 'number' },
        { name: 'country', type: 'string' },
        { name: 'fraud', type: 'boolean' },
      ],
      features: [
        { name: 'latency', type: 'log1p', field: 'geo.latency' },
        { name: 'latency_z', type: 'robust_zscore', field: 'geo.latency' },
        { name: 'new_country', type: 'first_seen', field: 'country' },
        { name: 'logins_1h', type: 'count', window: '1h' },
      ],
    }),
  )
  const random = new Random(2)
  const lines: string[] = []
  for (let i = 0; i < 2000; i++) {
    const fraud = random.next() < 0.03
    const user = `u${random.integer(0, 19)}`
    lines.push(
      JSON.stringify({
        user,
        at: new Date(Date.UTC(2025, 0, 1) + i * 60_000).toISOString(),
        geo: { latency: fraud ? 2000 + random.next() * 100 : 50 + random.next() * 20 },
        country: fraud ? `c${random.integer(10, 99)}` : 'fr',
        fraud,
      }),
    )
  }
  lines.splice(
    100,
    0,
    JSON.stringify({ user: 'u1', at: '2025-01-01T00:00:00Z', geo: { latency: 'slow' }, country: 'fr', fraud: false }),
  )
  const input = join(dir, 'logins.jsonl')
  writeFileSync(input, `${lines.join('\n')}\n`)
  const report = await runFileEval({ input, schema, trainFraction: 0.2, threshold: 0.999, partitions: 3, seed: 42 })
  assert.equal(report.schemaSource, 'file')
  assert.equal(report.rows, 2000)
  assert.equal(report.rejected, 1)
  assert.match(report.rejections[0]!.reason, /field geo\.latency must be a finite number/)
  assert.ok('entity_zscore' in report.detectors, Object.keys(report.detectors).join())
  assert.ok(report.ensemble.rocAuc! > 0.95, JSON.stringify(report.ensemble))
})

test('a CSV of another layout needs a schema, and says so', async () => {
  const input = join(dir, 'other.csv')
  writeFileSync(input, 'a,b,label\n1,2,0\n')
  await assert.rejects(
    runFileEval({ input, trainFraction: 0.2, threshold: 0.999, partitions: 1, seed: 1 }),
    /needs a schema/,
  )
})

test('lookout score --schema scores the rows of a declared schema; a malformed row is skipped with its field', async () => {
  const declaration = validateSchemaDeclaration({
    name: 'sensor_readings',
    entityKey: 'sensor',
    fields: [
      { name: 'sensor', type: 'string' },
      { name: 'reading.value', type: 'number' },
    ],
    features: [
      { name: 'value', type: 'number', field: 'reading.value' },
      { name: 'value_z', type: 'robust_zscore', field: 'reading.value' },
    ],
  })
  const random = new Random(5)
  const rows = ['sensor,reading.value']
  for (let i = 0; i < 600; i++) rows.push(`s${i % 3},${i === 500 ? 1e6 : random.normal()}`)
  rows.splice(10, 0, 's1,warm')
  const input = join(dir, 'sensors.csv')
  const output = join(dir, 'sensors.scored.csv')
  writeFileSync(input, `${rows.join('\n')}\n`)
  const summary = await scoreFile({
    input,
    output,
    partitions: 2,
    threshold: 0.99,
    schema: compileSchema(declaration),
    skipInvalid: true,
  })
  assert.equal(summary.mode, 'events')
  assert.equal(summary.scored, 600)
  assert.equal(summary.rejected, 1)
  assert.match(
    readFileSync(summary.rejectedPath!, 'utf8'),
    /field reading\.value must be a finite number, got \\"warm\\"/,
  )
  const scored = readFileSync(output, 'utf8').trim().split('\n')
  assert.equal(scored[0], 'sensor,reading.value,anomaly_score')
  const outlier = scored.find((line) => line.startsWith('s2,1000000,'))!
  assert.ok(Number(outlier.split(',')[2]) >= 0.99, outlier)
})
