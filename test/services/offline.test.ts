// Offline scoring of files: formats, the series detector, malformed rows.
import assert from 'node:assert/strict'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { isLookoutError } from '../../src/errors.ts'
import { OfflinePipeline, partitionOf, scoreFile, splitCsv } from '../../src/offline/offline.ts'

const directory = mkdtempSync(join(tmpdir(), 'lookout-score-'))
after(() => rmSync(directory, { recursive: true, force: true }))

function phased(count: number) {
  const generator = new PhasedGenerator({ seed: 3, users: 50 })
  return Array.from({ length: count }, () => generator.next(1_700_000_000))
}

const columns = [
  'transaction_id',
  'user_id',
  'event_number',
  'timestamp',
  'amount',
  'merchant_category',
  'hour_of_day',
  'location_match',
  'device_known',
  'transactions_last_hour',
  'user_avg_amount',
  'amount_vs_user_avg',
  'phase',
  'anomaly_label',
] as const

test('partitionOf is the Kafka client default partitioner (murmur2, unsigned, modulo)', () => {
  const counts = [0, 0, 0]
  for (let i = 0; i < 300; i++) counts[partitionOf(`user_${i}`, 3)]!++
  assert.ok(
    counts.every((count) => count > 60),
    `spread over partitions: ${counts}`,
  )
  assert.equal(partitionOf('user_7', 1), 0)
})

test('a CSV of events scores exactly like the same events as JSON Lines', async () => {
  const events = phased(1_500)
  const jsonl = join(directory, 'events.jsonl')
  writeFileSync(jsonl, events.map((event) => JSON.stringify(event)).join('\n'))
  const csv = join(directory, 'events.csv')
  writeFileSync(
    csv,
    `${columns.join(',')}\n${events.map((event) => columns.map((c) => String(event[c])).join(',')).join('\n')}\n`,
  )
  const options = { partitions: 3, threshold: 0.99 }
  const a = await scoreFile({ ...options, input: jsonl, output: join(directory, 'events.scored.jsonl') })
  const b = await scoreFile({ ...options, input: csv, output: join(directory, 'events.scored.csv'), details: true })
  assert.deepEqual([a.format, a.mode, a.scored], ['jsonl', 'events', 1_500])
  assert.deepEqual([b.format, b.mode, b.scored], ['csv', 'events', 1_500])

  const fromJson = readFileSync(join(directory, 'events.scored.jsonl'), 'utf8').trim().split('\n')
  assert.equal(fromJson.length, 1_500)
  // every row unchanged, with anomaly_score added
  const first = JSON.parse(fromJson[0]!)
  assert.deepEqual(
    { ...first, anomaly_score: undefined },
    { ...JSON.parse(JSON.stringify(events[0])), anomaly_score: undefined },
  )
  const lines = readFileSync(join(directory, 'events.scored.csv'), 'utf8').trim().split('\n')
  assert.equal(
    lines[0],
    `${columns.join(',')},anomaly_score,anomaly_isolation_forest,anomaly_half_space_trees,anomaly_entity_zscore,anomaly_series,anomaly_rules`,
  )
  const scoreColumn = columns.length
  let positive = 0
  lines.slice(1).forEach((line, i) => {
    const fields = splitCsv(line)
    assert.equal(fields.slice(0, scoreColumn).join(','), columns.map((c) => String(events[i]![c])).join(','))
    const score = Number(fields[scoreColumn])
    assert.equal(score, JSON.parse(fromJson[i]!).anomaly_score, `row ${i + 2}`)
    assert.ok(score >= 0 && score <= 1)
    if (score > 0) positive++
  })
  assert.ok(positive > 500)
})

test('the pipeline scores per partition: one partition instead of three gives other scores', () => {
  const events = phased(2_000)
  const three = new OfflinePipeline({ partitions: 3 })
  const one = new OfflinePipeline({ partitions: 1 })
  let differing = 0
  for (const event of events) if (three.process(event).score !== one.process(event).score) differing++
  assert.ok(differing > 100, `${differing} differ`)
})

test('a timestamp,value CSV is scored by the series detector; a spike scores high', async () => {
  const rows = ['timestamp,value']
  const start = Date.UTC(2025, 0, 1)
  for (let i = 0; i < 600; i++) {
    const value = i === 500 ? 95 : 40 + 5 * Math.sin((2 * Math.PI * i) / 48) + ((i * 7919) % 13) / 13
    rows.push(`${new Date(start + i * 300_000).toISOString().replace('T', ' ').slice(0, 19)},${value.toFixed(3)}`)
  }
  const input = join(directory, 'cpu.csv')
  writeFileSync(input, `${rows.join('\n')}\n`)
  const output = join(directory, 'cpu.scored.csv')
  const summary = await scoreFile({ input, output, partitions: 3, threshold: 0.999, details: true })
  assert.equal(summary.mode, 'series')
  const lines = readFileSync(output, 'utf8').trim().split('\n')
  assert.equal(lines[0], 'timestamp,value,anomaly_score,anomaly_value,anomaly_level,anomaly_season,anomaly_stuck')
  const scores = lines.slice(1).map((line) => Number(line.split(',')[2]))
  assert.equal(scores.length, 600)
  assert.ok(scores.every((s) => s >= 0 && s <= 1))
  assert.ok(scores[500]! > 0.999, `spike scored ${scores[500]}`)
  assert.equal(summary.flagged, 1 + scores.slice(0, 500).filter((s) => s > 0.999).length)
  const quiet = scores.slice(100, 500).filter((s) => s > 0.999).length
  assert.ok(quiet <= 2, `${quiet} ordinary points alarmed`)
})

test('a malformed row stops the run with its row number, or goes to the side file with --skip-invalid', async () => {
  const events = phased(20)
  const lines = events.map((event) => JSON.stringify(event))
  lines.splice(5, 0, '{"kind":"transaction","amount":"lots"}')
  lines.splice(9, 0, 'not json')
  const input = join(directory, 'bad.jsonl')
  writeFileSync(input, `${lines.join('\n')}\n`)
  const output = join(directory, 'bad.scored.jsonl')
  await assert.rejects(
    scoreFile({ input, output, partitions: 3, threshold: 0.99 }),
    (error) => isLookoutError(error) && error.code === 'LOOKOUT_INPUT_INVALID' && /^row 6: field/.test(error.message),
  )
  assert.equal(existsSync(output), false, 'no partial output is left')
  const summary = await scoreFile({ input, output, partitions: 3, threshold: 0.99, skipInvalid: true })
  assert.deepEqual([summary.rows, summary.scored, summary.rejected], [22, 20, 2])
  const rejected = readFileSync(`${output}.rejected.jsonl`, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
  assert.deepEqual(
    rejected.map((r) => [r.row, r.text]),
    [
      [6, lines[5]],
      [10, 'not json'],
    ],
  )
  assert.match(rejected[1].reason, /not JSON/)
  assert.equal(readFileSync(output, 'utf8').trim().split('\n').length, 20)
})

test('CSV rows: quoted fields, nested columns and kinds; a bad cell names its field', async () => {
  assert.deepEqual(splitCsv('a,"b,c","d ""e"""'), ['a', 'b,c', 'd "e"'])
  const input = join(directory, 'points.csv')
  writeFileSync(
    input,
    'kind,id,data.0,data.1,current_time,note\npoint,1,0.1,0.2,2025-01-01T00:00:00Z,"a, b"\npoint,2,x,0.2,2025-01-01T00:00:01Z,c\n',
  )
  const output = join(directory, 'points.scored.csv')
  const summary = await scoreFile({ input, output, partitions: 3, threshold: 0.99, skipInvalid: true })
  assert.deepEqual([summary.scored, summary.rejected], [1, 1])
  assert.match(
    readFileSync(`${output}.rejected.jsonl`, 'utf8'),
    /"row":3,"reason":"field data.0: \\"x\\" is not a finite number"/,
  )
  assert.match(
    readFileSync(output, 'utf8'),
    /^kind,id,data\.0,data\.1,current_time,note,anomaly_score\npoint,1,0\.1,0\.2,2025-01-01T00:00:00Z,"a, b",0\n$/,
  )
})

test('CSV syntax is read by csv-parse: quoted commas, escaped quotes, line breaks in quotes, CRLF; a malformed record is skipped with its line', async () => {
  assert.deepEqual(splitCsv(' a , "b, ""c""\nd" ,e'), ['a', 'b, "c"\nd', 'e'])
  assert.throws(() => splitCsv('a,"b"c'), /Invalid Closing Quote/)
  const input = join(directory, 'syntax.csv')
  writeFileSync(
    input,
    'kind,id,data.0,data.1,current_time,note\r\n' +
      'point,1,0.1,0.2,2025-01-01T00:00:00Z,"two\r\nlines"\r\n' +
      '\r\n' +
      'point,2,0.1,0.2,2025-01-01T00:00:01Z,"bad"quote\r\n' +
      'point,3,0.3,0.1,2025-01-01T00:00:02Z,"say ""hi"""\r\n',
  )
  const output = join(directory, 'syntax.scored.csv')
  const summary = await scoreFile({ input, output, partitions: 1, threshold: 0.99, skipInvalid: true })
  assert.deepEqual([summary.rows, summary.scored, summary.rejected], [3, 2, 1])
  const rejected = JSON.parse(readFileSync(`${output}.rejected.jsonl`, 'utf8'))
  assert.equal(rejected.row, 5)
  assert.match(rejected.reason, /Invalid Closing Quote/)
  const lines = readFileSync(output, 'utf8').split('\n')
  assert.equal(lines[1], 'point,1,0.1,0.2,2025-01-01T00:00:00Z,"two')
  assert.match(lines[2]!, /^lines",0$/)
  assert.match(lines[3]!, /^point,3,0\.3,0\.1,2025-01-01T00:00:02Z,"say ""hi""",[\d.e-]+$/)
})
