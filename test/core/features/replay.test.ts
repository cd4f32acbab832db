import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { ReplayedRecord } from '../../../src/core/events.ts'
import { extractRecord, recordEntityKey, recordSchema } from '../../../src/core/features/replay.ts'
import { extractorContract, feature, runStream } from './contract.ts'

const t0 = Date.UTC(2024, 5, 1, 8, 0, 0)
const record = (amount: number, overrides: Partial<ReplayedRecord> = {}): ReplayedRecord => ({
  kind: 'record',
  id: 'r',
  description: 'coffee',
  amount,
  timestamp: '',
  merchant: 'Cafe Nero',
  operation_type: 'debit',
  side: 'outgoing',
  ...overrides,
})
const get = (features: Float64Array, name: string) => feature(recordSchema, features, name)

extractorContract('record', {
  schema: recordSchema,
  extract: extractRecord,
  stream: [
    { event: record(0), t: t0 },
    { event: record(-25, { operation_type: 'credit', side: 'incoming' }), t: t0 - 86_400_000 },
    { event: record(0), t: t0 },
    ...Array.from({ length: 40 }, (_, i) => ({ event: record(3 + (i % 4)), t: t0 + i * 45_000 })),
  ],
})

test('direction flags, signed log, and per-merchant history', () => {
  const out = runStream(extractRecord, [
    { event: record(4), t: t0 },
    { event: record(-8, { operation_type: 'credit', side: 'incoming' }), t: t0 + 30_000 },
  ])
  assert.equal(get(out[0]!.features, 'is_debit'), 1)
  assert.equal(get(out[0]!.features, 'is_outgoing'), 1)
  assert.equal(get(out[1]!.features, 'is_debit'), 0)
  assert.equal(get(out[1]!.features, 'is_outgoing'), 0)
  assert.equal(get(out[1]!.features, 'log_amount'), -Math.log1p(8))
  assert.equal(get(out[1]!.features, 'amount_vs_merchant_avg'), -2)
  assert.equal(get(out[1]!.features, 'count_last_minute'), 2)
  assert.equal(get(out[1]!.features, 'merchant_event_count'), 2)
})

test('entity is the merchant', () => {
  assert.equal(recordEntityKey(record(1)), 'Cafe Nero')
})
