import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { z } from 'zod'
import { Random } from '../../../src/core/random.ts'
import {
  batchPresets,
  datasetFormatOf,
  parseDataset,
  sampleBatch,
  validateRecords,
  zodRecordSchema,
} from '../../../src/core/sources/replay.ts'

const good = {
  id: 'a1',
  description: 'Coffee',
  amount: 3.5,
  timestamp: '2026-01-11T10:00:00',
  merchant: 'Cafe',
  operation_type: 'debit',
  side: 'outgoing',
}

describe('validateRecords', () => {
  it('keeps valid records and reports each invalid one with its row number and reason', () => {
    const rows = [
      good,
      { ...good, id: 'a2', operation_type: 'refund' },
      { ...good, id: 'a3', amount: 'twelve' },
      { ...good, id: 'a4', side: 'incoming', operation_type: 'credit', amount: 120 },
      { ...good, id: '', merchant: undefined },
      'not an object',
      { ...good, id: 'a7', timestamp: 'soon' },
    ]
    const { records, errors } = validateRecords(rows, { firstRow: 2 })
    assert.deepEqual(
      records.map((r) => [r.kind, r.id, r.amount, r.operation_type, r.side]),
      [
        ['record', 'a1', 3.5, 'debit', 'outgoing'],
        ['record', 'a4', 120, 'credit', 'incoming'],
      ],
    )
    assert.deepEqual(
      errors.map((e) => e.row),
      [3, 4, 6, 7, 8],
    )
    assert.match(errors[0]!.reason, /^operation_type: /)
    assert.match(errors[1]!.reason, /^amount: /)
    assert.match(errors[2]!.reason, /id: .*; merchant: /)
    assert.match(errors[3]!.reason, /^record: /)
    assert.match(errors[4]!.reason, /timestamp: not a parseable date-time/)
  })

  it('numbers rows from 1 by default and accepts a pluggable schema', () => {
    const sensor = zodRecordSchema('sensor', z.object({ sensor: z.string(), reading: z.number().min(0) }))
    const { records, errors } = validateRecords(
      [
        { sensor: 's', reading: 1 },
        { sensor: 's', reading: -1 },
      ],
      {
        schema: sensor,
      },
    )
    assert.deepEqual(records, [{ sensor: 's', reading: 1 }])
    assert.equal(errors.length, 1)
    assert.equal(errors[0]!.row, 2)
    assert.match(errors[0]!.reason, /^reading: /)
  })
})

describe('parseDataset', () => {
  it('CSV: header is row 1, numeric text accepted, bad rows reported by line', () => {
    const text = [
      'id,description,amount,timestamp,merchant,operation_type,side', // 1
      't1,Groceries,42.10,2026-01-11T10:00:00,Shop,debit,outgoing', // 2
      't2,Salary,abc,2026-01-11T10:00:00,Employer,credit,incoming', // 3
      '', // 4
      't3,"Multi', // 5
      'line",5,2026-01-11T11:00:00,Shop,debit,outgoing', // 6
      't4,Short,5,2026-01-11T11:00:00,Shop', // 7
      't5,Refund,7,2026-01-11T12:00:00,Shop,credit,sideways', // 8
    ].join('\n')
    const result = parseDataset(text, 'csv')
    assert.equal(result.rows, 5)
    assert.deepEqual(
      result.records.map((r) => [r.id, r.amount, r.description]),
      [
        ['t1', 42.1, 'Groceries'],
        ['t3', 5, 'Multi\nline'],
      ],
    )
    assert.deepEqual(
      result.errors.map((e) => e.row),
      [3, 7, 8],
    )
    assert.match(result.errors[0]!.reason, /^amount: /)
    assert.match(result.errors[1]!.reason, /expected 7 fields .* got 5/)
    assert.match(result.errors[2]!.reason, /^side: /)
  })

  it('CSV: an unclosed quote stops with a syntax error', () => {
    const result = parseDataset('id,description\n"t1,oops\n', 'csv')
    assert.equal(result.records.length, 0)
    assert.equal(result.errors.length, 1)
    assert.match(result.errors[0]!.reason, /^CSV syntax: /)
  })

  it('JSON Lines: each line is a row; invalid JSON and invalid records reported', () => {
    const text = [
      JSON.stringify(good),
      '{"id": 7,',
      '',
      JSON.stringify({ ...good, id: 9, side: 'up' }),
      JSON.stringify({ ...good, id: 10 }),
    ].join('\r\n')
    const result = parseDataset(text, 'jsonl')
    assert.equal(result.rows, 4)
    assert.deepEqual(
      result.records.map((r) => r.id),
      ['a1', '10'],
    )
    assert.deepEqual(
      result.errors.map((e) => e.row),
      [2, 4],
    )
    assert.match(result.errors[0]!.reason, /^invalid JSON: /)
  })

  it('infers the format from the path', () => {
    assert.equal(datasetFormatOf('s3://bucket/transactions.csv'), 'csv')
    assert.equal(datasetFormatOf('/data/x.JSONL'), 'jsonl')
    assert.equal(datasetFormatOf('/data/x.ndjson'), 'jsonl')
    assert.equal(datasetFormatOf('/data/x.parquet'), undefined)
  })
})

describe('sampleBatch', () => {
  const records = Array.from({ length: 20 }, (_, i) => i)

  it('draws between min and max records, with replacement, uniformly', () => {
    const random = new Random(5)
    const sizes = new Map<number, number>()
    const picks = new Array(records.length).fill(0)
    let repeats = 0
    for (let i = 0; i < 20_000; i++) {
      const batch = sampleBatch(records, random, 10, 20)
      sizes.set(batch.length, (sizes.get(batch.length) ?? 0) + 1)
      for (const r of batch) picks[r]++
      if (new Set(batch).size < batch.length) repeats++
    }
    assert.deepEqual(
      [...sizes.keys()].sort((a, b) => a - b),
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20],
    )
    for (const count of sizes.values()) assert.ok(Math.abs(count - 20_000 / 11) < 200)
    const total = picks.reduce((s, c) => s + c, 0)
    for (const count of picks) assert.ok(Math.abs(count / total - 1 / 20) < 0.003)
    // drawn with replacement: 10+ draws from 20 records almost always repeat one
    assert.ok(repeats > 19_000)
  })

  it('is deterministic for a seed, empty for an empty dataset, and checks its range', () => {
    assert.deepEqual(sampleBatch(records, new Random(1), 1, 10), sampleBatch(records, new Random(1), 1, 10))
    assert.deepEqual(sampleBatch([], new Random(1), 1, 10), [])
    assert.throws(() => sampleBatch(records, new Random(1), 5, 4), RangeError)
    assert.equal(sampleBatch(records, new Random(1), 3, 3).length, 3)
  })

  it('has the high, normal and low presets', () => {
    assert.deepEqual(batchPresets, {
      high: { intervalMs: 200, min: 10, max: 20 },
      normal: { intervalMs: 500, min: 1, max: 10 },
      low: { intervalMs: 2000, min: 1, max: 5 },
    })
  })
})
