import assert from 'node:assert/strict'
import { test } from 'node:test'
import { HalfSpaceTrees } from '../../../src/core/anomaly/half-space-trees.ts'
import { RobustScaler, type RobustScalerState } from '../../../src/core/features/robust-scaler.ts'
import { rocAuc } from '../../../src/core/quality.ts'
import { Random } from '../../../src/core/random.ts'

/** The scaling the scorer used before: online min–max, clipped to [0, 1]. */
function minMax(dimensions: number) {
  const min = new Array(dimensions).fill(Infinity)
  const max = new Array(dimensions).fill(-Infinity)
  return {
    transform(x: Float64Array, out: Float64Array) {
      for (let i = 0; i < dimensions; i++)
        out[i] = max[i] > min[i] ? Math.min(1, Math.max(0, (x[i]! - min[i]) / (max[i] - min[i]))) : 0.5
      return out
    },
    observe(x: Float64Array) {
      for (let i = 0; i < dimensions; i++) {
        min[i] = Math.min(min[i], x[i]!)
        max[i] = Math.max(max[i], x[i]!)
      }
    },
  }
}

/** HST's ROC-AUC on a stream with one early huge outlier, then 2 % shifted anomalies. */
function run(scaler: { transform(x: Float64Array, out: Float64Array): Float64Array; observe(x: Float64Array): void }) {
  const random = new Random(3)
  const hst = new HalfSpaceTrees({ dimensions: 2, seed: 5, trees: 25, height: 8 })
  const scores: number[] = []
  const labels: number[] = []
  const scaled = new Float64Array(2)
  for (let i = 0; i < 6000; i++) {
    const anomaly = i > 1000 && random.next() < 0.02
    const x = Float64Array.of(random.normal() + (anomaly ? 4 : 0), random.normal() - (anomaly ? 4 : 0))
    if (i === 500) x.set([1e6, -1e6]) // one corrupt record early in the stream
    const score = hst.score(scaler.transform(x, scaled))
    hst.learn(scaled)
    scaler.observe(x)
    if (i > 1000) {
      scores.push(score)
      labels.push(anomaly ? 1 : 0)
    }
  }
  return rocAuc(scores, labels)
}

test('one outlier squashes min–max ranges for ever; the robust scaler keeps HST separating anomalies', () => {
  const withMinMax = run(minMax(2))
  const withRobust = run(new RobustScaler({ dimensions: 2, seed: 1 }))
  assert.ok(withRobust > 0.95, `robust: ROC-AUC ${withRobust}`)
  assert.ok(withRobust - withMinMax > 0.05, `robust ${withRobust} vs min–max ${withMinMax}`)
})

test('values map into [0, 1] in order, around the median', () => {
  const scaler = new RobustScaler({ dimensions: 1, seed: 1 })
  for (let i = 0; i < 1000; i++) scaler.observe([i % 100])
  const out = new Float64Array(1)
  const at = (x: number) => scaler.transform([x], out)[0]!
  assert.ok(Math.abs(at(49.5) - 0.5) < 0.1)
  assert.ok(at(-1e9) >= 0 && at(-1e9) < at(0) && at(0) < at(50) && at(50) < at(100) && at(100) < at(1e9))
  assert.ok(at(1e9) <= 1)
  const constant = new RobustScaler({ dimensions: 1 })
  for (let i = 0; i < 50; i++) constant.observe([7])
  assert.deepEqual(
    [constant.transform([7], out)[0], constant.transform([8], out)[0], constant.transform([6], out)[0]],
    [0.5, 1, 0],
  )
})

test("the trees' padded split range [0.15, 0.85] spans about ±4.7 standard deviations of normal data", () => {
  const random = new Random(3)
  const scaler = new RobustScaler({ dimensions: 1, seed: 1 })
  for (let i = 0; i < 5000; i++) scaler.observe([random.normal(100, 10)])
  const out = new Float64Array(1)
  const at = (x: number) => scaler.transform([x], out)[0]!
  assert.ok(at(100 + 40) < 0.85 && at(100 - 40) > 0.15, `±4σ: ${at(60)} – ${at(140)}`)
  assert.ok(at(100 + 60) > 0.85 && at(100 - 60) < 0.15, `±6σ: ${at(40)} – ${at(160)}`)
})

test('state round-trips through JSON and the restored scaler goes on identically', () => {
  const a = new RobustScaler({ dimensions: 3, capacity: 16, horizon: 100, seed: 9 })
  const random = new Random(1)
  for (let i = 0; i < 300; i++) a.observe([random.normal(), random.next(), i])
  const b = RobustScaler.fromJSON(JSON.parse(JSON.stringify(a.toJSON())) as RobustScalerState)
  for (let i = 0; i < 300; i++) {
    const x = [random.normal(), random.next(), i]
    assert.deepEqual(b.transform(x, new Float64Array(3)), a.transform(x, new Float64Array(3)))
    a.observe(x)
    b.observe(x)
  }
  assert.deepEqual(b.toJSON(), a.toJSON())
})
