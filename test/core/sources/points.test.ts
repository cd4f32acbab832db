import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Point } from '../../../src/core/events.ts'
import { PointGenerator } from '../../../src/core/sources/points.ts'

const nowMs = Date.UTC(2025, 3, 1, 12, 0, 0, 250)

function take(generator: PointGenerator, count: number): Point[] {
  return Array.from({ length: count }, (_, i) => generator.next(nowMs + i))
}

describe('PointGenerator', () => {
  it('numbers points from 0 and stamps the caller clock', () => {
    const points = take(new PointGenerator({ seed: 1 }), 3)
    assert.deepEqual(
      points.map((p) => [p.id, p.current_time]),
      [
        [0, '2025-04-01T12:00:00.250Z'],
        [1, '2025-04-01T12:00:00.251Z'],
        [2, '2025-04-01T12:00:00.252Z'],
      ],
    )
    assert.equal(new PointGenerator({ seed: 1, firstId: 500 }).next(nowMs).id, 500)
  })

  it('draws outliers with the configured probability (default 0.2)', () => {
    for (const [probability, seed] of [
      [undefined, 2],
      [0.05, 3],
      [0.5, 4],
    ] as const) {
      const points = take(new PointGenerator({ seed, outlierProbability: probability }), 40_000)
      const share = points.filter((p) => p.anomaly_label === 1).length / points.length
      const p = probability ?? 0.2
      assert.ok(Math.abs(share - p) < 4 * Math.sqrt((p * (1 - p)) / points.length), `${p}: ${share}`)
    }
    assert.ok(take(new PointGenerator({ seed: 5, outlierProbability: 0 }), 1000).every((p) => p.anomaly_label === 0))
  })

  it('inliers form two 0.3-wide clusters at (2, 2) and (−2, −2); outliers fill [−4, 4]²', () => {
    const points = take(new PointGenerator({ seed: 6 }), 40_000)
    const inliers = points.filter((p) => p.anomaly_label === 0)
    const outliers = points.filter((p) => p.anomaly_label === 1)
    const positive = inliers.filter((p) => p.data[0] > 0)
    assert.ok(Math.abs(positive.length / inliers.length - 0.5) < 0.02)
    for (const cluster of [positive, inliers.filter((p) => p.data[0] <= 0)]) {
      const centre = cluster[0]!.data[0] > 0 ? 2 : -2
      for (const axis of [0, 1] as const) {
        const values = cluster.map((p) => p.data[axis])
        const mean = values.reduce((s, v) => s + v, 0) / values.length
        const std = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length)
        assert.ok(Math.abs(mean - centre) < 0.02, `mean ${mean}`)
        assert.ok(Math.abs(std - 0.3) < 0.01, `std ${std}`)
      }
      // both coordinates share the cluster
      assert.ok(cluster.every((p) => Math.sign(p.data[0]) === Math.sign(p.data[1]) || Math.abs(p.data[1]) < 0.5))
    }
    assert.ok(outliers.every((p) => Math.abs(p.data[0]) <= 4 && Math.abs(p.data[1]) <= 4))
    const outlierMeanX = outliers.reduce((s, p) => s + p.data[0], 0) / outliers.length
    const outlierVarX = outliers.reduce((s, p) => s + p.data[0] ** 2, 0) / outliers.length
    assert.ok(Math.abs(outlierMeanX) < 0.1 && Math.abs(outlierVarX - 64 / 12) < 0.3, `var ${outlierVarX}`)
    // rounded to 3 decimals, both kinds alike
    assert.ok(points.every((p) => p.data.every((v) => Math.round(v * 1000) / 1000 === v)))
  })

  it('is deterministic under a seed', () => {
    assert.deepEqual(take(new PointGenerator({ seed: 9 }), 100), take(new PointGenerator({ seed: 9 }), 100))
    assert.notDeepEqual(take(new PointGenerator({ seed: 9 }), 100), take(new PointGenerator({ seed: 10 }), 100))
    assert.throws(() => new PointGenerator({ seed: 1, outlierProbability: 1.2 }), RangeError)
  })
})
