// The contract every Detector must keep. Call `detectorContract` from a detector's test file.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Detector, DetectorState } from '../../../src/core/anomaly/detector.ts'
import { Random } from '../../../src/core/random.ts'

export interface ContractSubject {
  /** Builds a detector from a seed; for offline detectors, trained on `training`. */
  create(seed: number, training: Float64Array[]): Detector
  /** Rebuilds a detector from `toJSON()` output. */
  fromJSON(state: DetectorState): Detector
  /** Documented score range, inclusive. */
  range: readonly [number, number]
  dimensions: number
}

/** Seeded two-cluster data with a few far outliers. */
export function contractData(count: number, dimensions: number, seed: number): Float64Array[] {
  const random = new Random(seed)
  const rows: Float64Array[] = []
  for (let i = 0; i < count; i++) {
    const row = new Float64Array(dimensions)
    const outlier = i % 50 === 49
    for (let d = 0; d < dimensions; d++)
      row[d] = outlier ? random.uniform(-8, 8) : random.normal(i % 2 === 0 ? 0 : 1, 0.3)
    rows.push(row)
  }
  return rows
}

export function detectorContract(name: string, subject: ContractSubject): void {
  const training = contractData(500, subject.dimensions, 1)
  const stream = contractData(300, subject.dimensions, 2)

  const run = (detector: Detector, rows: Float64Array[]): number[] =>
    rows.map((row) => {
      const score = detector.score(row)
      detector.learn(row)
      return score
    })

  test(`${name}: same seed gives the same scores`, () => {
    assert.deepEqual(run(subject.create(7, training), stream), run(subject.create(7, training), stream))
  })

  test(`${name}: scores stay within the documented range and are finite`, () => {
    const [low, high] = subject.range
    for (const score of run(subject.create(3, training), stream)) {
      assert.ok(Number.isFinite(score), `score ${score} is not finite`)
      assert.ok(score >= low && score <= high, `score ${score} outside [${low}, ${high}]`)
    }
  })

  test(`${name}: serialise → load gives identical scores, before and after learning`, () => {
    const original = subject.create(11, training)
    run(original, stream.slice(0, 150))
    const state = JSON.parse(JSON.stringify(original.toJSON())) as DetectorState
    const restored = subject.fromJSON(state)
    assert.deepEqual(run(restored, stream.slice(150)), run(original, stream.slice(150)))
  })

  test(`${name}: score() does not change state`, () => {
    const detector = subject.create(5, training)
    run(detector, stream.slice(0, 100))
    const before = JSON.stringify(detector.toJSON())
    const first = stream.slice(100).map((row) => detector.score(row))
    assert.equal(JSON.stringify(detector.toJSON()), before)
    assert.deepEqual(
      stream.slice(100).map((row) => detector.score(row)),
      first,
    )
  })

  test(`${name}: far outliers score higher than inliers on average`, () => {
    const detector = subject.create(13, training)
    run(detector, stream)
    const inliers = contractData(200, subject.dimensions, 99).filter((_, i) => i % 50 !== 49)
    const outliers: Float64Array[] = []
    for (let i = 0; i < 20; i++) outliers.push(new Float64Array(subject.dimensions).fill(6 + (i % 3)))
    const mean = (rows: Float64Array[]) => rows.reduce((sum, row) => sum + detector.score(row), 0) / rows.length
    assert.ok(mean(outliers) > mean(inliers), `outliers ${mean(outliers)} vs inliers ${mean(inliers)}`)
  })
}
