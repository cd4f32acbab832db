import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Point } from '../../../src/core/events.ts'
import { extractPoint, pointEntityKey, pointSchema, pointStreamKey } from '../../../src/core/features/point.ts'
import { extractorContract, runStream } from './contract.ts'

const t0 = Date.UTC(2025, 0, 1)
const point = (x0: number, x1: number, id = 0): Point => ({
  kind: 'point',
  id,
  data: [x0, x1],
  current_time: new Date(t0).toISOString(),
  anomaly_label: 0,
})

extractorContract('point', {
  schema: pointSchema,
  extract: extractPoint,
  stream: [point(0, 0), point(0, 0), point(0, 5), point(1, -1), point(100, 100), point(-3, 2)].map((event, i) => ({
    event,
    t: t0 + i,
  })),
})

test('values and their z-scores against the stream before each point', () => {
  const out = runStream(
    extractPoint,
    [point(1, 10), point(3, 10), point(5, 10), point(11, 13)].map((event, i) => ({ event, t: t0 + i })),
  )
  assert.deepEqual([...out[0]!.features], [1, 10, 0, 0])
  assert.deepEqual([...out[1]!.features], [3, 10, 0, 0]) // one value: no spread yet
  // x0 history [1, 3]: mean 2, std √2; x1 history [10, 10]: zero spread, equal value
  assert.ok(Math.abs(out[2]!.features[2]! - 3 / Math.SQRT2) < 1e-12)
  assert.equal(out[2]!.features[3], 0)
  // x0 history [1, 3, 5]: mean 3, std 2 → (11 − 3) / 2
  assert.equal(out[3]!.features[2], 4)
  assert.equal(out[3]!.features[3], 50) // zero spread, different value: the clip limit
})

test('all points are one stream', () => {
  assert.equal(pointEntityKey(point(1, 2, 7)), pointStreamKey)
})
