// The contract every detector of src/core/anomaly keeps, whatever its input: the multivariate
// detectors (a Float64Array per event), the series detector (timestamp, value), the score
// calibrator (one raw score) and the ensemble (raw scores by detector name). Each is run as a
// stream: score each input against the past, then learn it. test/core/anomaly/contracts.test.ts
// applies it to every exported detector and fails when one is not covered.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Detector, DetectorState } from '../../../src/core/anomaly/detector.ts'
import { Random } from '../../../src/core/random.ts'

/** How the contract drives a detector `D` whose events are `I`. */
export interface StreamContractSubject<D, I> {
  /** A detector built from a seed (trained or warmed up where the detector needs it). */
  create(seed: number): D
  /** Scores one input against the past, then learns it. */
  step(detector: D, input: I): number
  /** Scores without learning, where the detector's API has such a call. */
  score?(detector: D, input: I): number
  toJSON(detector: D): unknown
  fromJSON(state: never): D
  /** Documented score range, inclusive. */
  range: readonly [number, number]
  /** The stream the detector learns: normal inputs with a few mild outliers, in order. */
  stream(seed: number): I[]
  /** Inputs that continue the stream: ordinary ones, and far outliers. */
  probes(): { inliers: I[]; outliers: I[] }
}

const roundTrip = <D, I>(subject: StreamContractSubject<D, I>, detector: D): D =>
  subject.fromJSON(JSON.parse(JSON.stringify(subject.toJSON(detector))) as never)

export function streamContract<D, I>(name: string, subject: StreamContractSubject<D, I>): void {
  const stream = subject.stream(2)
  const half = Math.floor(stream.length / 2)
  const run = (detector: D, inputs: I[]): number[] => inputs.map((input) => subject.step(detector, input))

  test(`${name}: same seed gives the same scores`, () => {
    assert.deepEqual(run(subject.create(7), stream), run(subject.create(7), stream))
  })

  test(`${name}: scores stay within the documented range and are finite`, () => {
    const [low, high] = subject.range
    const detector = subject.create(3)
    const { inliers, outliers } = subject.probes()
    for (const score of run(detector, [...stream, ...inliers, ...outliers])) {
      assert.ok(Number.isFinite(score), `score ${score} is not finite`)
      assert.ok(score >= low && score <= high, `score ${score} outside [${low}, ${high}]`)
    }
  })

  test(`${name}: serialise → load gives identical scores and state, before and after learning`, () => {
    const original = subject.create(11)
    run(original, stream.slice(0, half))
    const restored = roundTrip(subject, original)
    assert.deepEqual(subject.toJSON(restored), subject.toJSON(original))
    assert.deepEqual(run(restored, stream.slice(half)), run(original, stream.slice(half)))
    assert.deepEqual(subject.toJSON(restored), subject.toJSON(original))
  })

  if (subject.score) {
    const score = subject.score
    test(`${name}: scoring without learning does not change state`, () => {
      const detector = subject.create(5)
      run(detector, stream.slice(0, half))
      const before = JSON.stringify(subject.toJSON(detector))
      const first = stream.slice(half).map((input) => score(detector, input))
      assert.equal(JSON.stringify(subject.toJSON(detector)), before)
      assert.deepEqual(
        stream.slice(half).map((input) => score(detector, input)),
        first,
      )
    })
  }

  test(`${name}: far outliers score higher than inliers on average`, () => {
    const detector = subject.create(13)
    run(detector, stream)
    const { inliers, outliers } = subject.probes()
    // each probe against the same past: scored without learning, or by a copy of the detector
    const probe = (input: I) =>
      subject.score ? subject.score(detector, input) : subject.step(roundTrip(subject, detector), input)
    const mean = (inputs: I[]) => inputs.reduce((sum, input) => sum + probe(input), 0) / inputs.length
    assert.ok(mean(outliers) > mean(inliers), `outliers ${mean(outliers)} vs inliers ${mean(inliers)}`)
  })
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

/** A multivariate `Detector` (score(x), learn(x), toJSON()). */
export interface ContractSubject {
  /** Builds a detector from a seed; for offline detectors, trained on `training`. */
  create(seed: number, training: Float64Array[]): Detector
  /** Rebuilds a detector from `toJSON()` output. */
  fromJSON(state: DetectorState): Detector
  /** Documented score range, inclusive. */
  range: readonly [number, number]
  dimensions: number
}

/** The stream contract for a multivariate `Detector`, trained (or warmed up) on 500 rows. */
export function detectorContract(name: string, subject: ContractSubject): void {
  const training = contractData(500, subject.dimensions, 1)
  streamContract<Detector, Float64Array>(name, {
    create: (seed) => subject.create(seed, training),
    step(detector, row) {
      const score = detector.score(row)
      detector.learn(row)
      return score
    },
    score: (detector, row) => detector.score(row),
    toJSON: (detector) => detector.toJSON(),
    fromJSON: (state) => subject.fromJSON(state),
    range: subject.range,
    stream: (seed) => contractData(300, subject.dimensions, seed),
    probes: () => ({
      inliers: contractData(200, subject.dimensions, 99).filter((_, i) => i % 50 !== 49),
      outliers: Array.from({ length: 20 }, (_, i) => new Float64Array(subject.dimensions).fill(6 + (i % 3))),
    }),
  })
}
