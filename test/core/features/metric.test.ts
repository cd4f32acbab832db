import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { MetricSample } from '../../../src/core/events.ts'
import { maxGapSeconds } from '../../../src/core/features/event-time.ts'
import {
  createMetricExtractor,
  extractMetric,
  metricEntityKey,
  metricSchema,
} from '../../../src/core/features/metric.ts'
import { Random } from '../../../src/core/random.ts'
import { extractorContract, feature, runStream } from './contract.ts'

const t0 = Date.UTC(2025, 0, 1, 6, 0, 0)
const minute = 60_000
const sample = (value: number): MetricSample => ({
  kind: 'metric',
  host: 'web-1',
  metric: 'cpu',
  timestamp: '',
  value,
})
const get = (features: Float64Array, name: string) => feature(metricSchema, features, name)

extractorContract('metric', {
  schema: metricSchema,
  extract: extractMetric,
  stream: [
    { event: sample(0), t: t0 },
    { event: sample(0), t: t0 },
    { event: sample(0), t: t0 + 5 * minute },
    { event: sample(50), t: t0 + 2 * minute },
    ...Array.from({ length: 40 }, (_, i) => ({ event: sample(40 + (i % 5)), t: t0 + (10 + i * 5) * minute })),
  ],
})

test('first sample: level is the value, no rate, the gap cap', () => {
  const { features } = extractMetric(sample(42), undefined, t0)
  assert.equal(get(features, 'value'), 42)
  assert.equal(get(features, 'level'), 42)
  assert.equal(get(features, 'deviation_robust'), 0)
  assert.equal(get(features, 'rate_per_second'), 0)
  assert.equal(get(features, 'seconds_since_last'), maxGapSeconds)
  assert.ok(Math.abs(get(features, 'hour_sin') - 1) < 1e-12) // 06:00 UTC
})

test('level is an event-time EWMA: one half-life moves it halfway', () => {
  const extract = createMetricExtractor({ levelHalfLifeMs: 10 * minute })
  const out = runStream(extract, [
    { event: sample(0), t: t0 },
    { event: sample(100), t: t0 + 10 * minute },
    { event: sample(50), t: t0 + 30 * minute },
  ])
  assert.equal(get(out[1]!.features, 'level'), 0)
  assert.equal(out[1]!.state.level, 50)
  assert.equal(get(out[2]!.features, 'level'), 50)
  assert.equal(get(out[1]!.features, 'rate_per_second'), 100 / 600)
  assert.equal(get(out[2]!.features, 'rate_per_second'), -50 / 1200)
  assert.equal(get(out[2]!.features, 'seconds_since_last'), 1200)
})

test('a spike stands out in robust units; ordinary noise does not', () => {
  const random = new Random(5)
  const stream = Array.from({ length: 60 }, (_, i) => ({ event: sample(30 + random.normal(0, 1)), t: t0 + i * minute }))
  stream.push({ event: sample(60), t: t0 + 60 * minute })
  const out = runStream(extractMetric, stream)
  const ordinary = out.slice(10, 60).map((o) => Math.abs(get(o.features, 'deviation_robust')))
  assert.ok(Math.max(...ordinary) < 5)
  assert.ok(get(out.at(-1)!.features, 'deviation_robust') > 10)
})

test('a late sample gets no rate and does not move the newest time', () => {
  const out = runStream(extractMetric, [
    { event: sample(10), t: t0 + 10 * minute },
    { event: sample(90), t: t0 + 5 * minute },
  ])
  assert.equal(get(out[1]!.features, 'rate_per_second'), 0)
  assert.equal(get(out[1]!.features, 'seconds_since_last'), 0)
  assert.equal(out[1]!.state.latest, t0 + 10 * minute)
  assert.equal(out[1]!.state.last, 10)
})

test('entity is host and metric', () => {
  assert.equal(metricEntityKey(sample(1)), 'web-1/cpu')
})
