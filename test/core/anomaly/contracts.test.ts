// Every detector exported by src/core/anomaly under the one contract (./contract.ts), and a
// check that none is left out: a class exported from src/core/anomaly/*.ts must be listed in
// `covered` below (with the contract run on it) or in `notDetectors` (with the reason).
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { test } from 'node:test'
import { ScoreEnsemble, type ScoreEnsembleState } from '../../../src/core/anomaly/ensemble.ts'
import { HalfSpaceTrees, fromJSON as halfSpaceTreesFromJSON } from '../../../src/core/anomaly/half-space-trees.ts'
import { IsolationForest } from '../../../src/core/anomaly/isolation-forest.ts'
import { RandomCutForest, fromJSON as randomCutForestFromJSON } from '../../../src/core/anomaly/random-cut-forest.ts'
import { EntityZScoreDetector, fromJSON as entityZScoreFromJSON } from '../../../src/core/anomaly/robust-zscore.ts'
import { ScoreCalibrator, type ScoreCalibratorState } from '../../../src/core/anomaly/score-calibrator.ts'
import { SeriesDetector, type SeriesDetectorState } from '../../../src/core/anomaly/series.ts'
import { Random } from '../../../src/core/random.ts'
import { detectorContract, streamContract } from './contract.ts'

/** A class (some detectors' constructors are private, hence not `new`-able types). */
type Class = { readonly name: string; readonly prototype: object }

/** The contract's subjects, by the class they build (checked below). */
const covered = new Map<Class, () => void>()

function cover(type: Class, contract: (check: (detector: unknown) => void) => void): void {
  covered.set(type, () =>
    contract((detector) =>
      assert.ok(
        Object.prototype.isPrototypeOf.call(type.prototype, detector as object),
        `the subject builds a ${type.name}`,
      ),
    ),
  )
}

// Multivariate detectors: one Float64Array per event.

cover(IsolationForest, (check) => {
  const featureNames = ['a', 'b', 'c', 'd']
  detectorContract('isolation-forest', {
    create(seed, training) {
      const forest = IsolationForest.train(training, { featureNames, seed, nTrees: 50 })
      check(forest)
      return forest
    },
    fromJSON: (state) => IsolationForest.fromJSON(state),
    range: [0, 1],
    dimensions: featureNames.length,
  })
})

cover(HalfSpaceTrees, (check) => {
  const dimensions = 4
  detectorContract('half-space-trees', {
    create(seed, training) {
      // Contract data spans about [-8, 8]; a short window makes the stream cross several pivots.
      const limits = Array.from({ length: dimensions }, () => [-8, 8] as const)
      const detector = new HalfSpaceTrees({ dimensions, limits, windowSize: 100, seed })
      check(detector)
      for (const row of training) detector.learn(row)
      return detector
    },
    fromJSON: halfSpaceTreesFromJSON,
    range: [0, 1],
    dimensions,
  })
})

cover(RandomCutForest, (check) => {
  for (const [name, options] of [
    ['random-cut-forest', { trees: 20, sampleSize: 128 }],
    ['random-cut-forest (shingle 3)', { shingleSize: 3, trees: 10, sampleSize: 64 }],
  ] as const) {
    detectorContract(name, {
      create(seed, training) {
        const detector = new RandomCutForest({ dimensions: 4, ...options, seed })
        check(detector)
        for (const row of training) detector.learn(row)
        return detector
      },
      fromJSON: randomCutForestFromJSON,
      range: [0, 1],
      dimensions: 4,
    })
  }
})

cover(EntityZScoreDetector, (check) => {
  detectorContract('entity-zscore', {
    create() {
      const detector = new EntityZScoreDetector({ featureIndices: [0, 1, 2, 3] })
      check(detector)
      return detector
    },
    fromJSON: entityZScoreFromJSON,
    range: [0, 1],
    dimensions: 4,
  })
})

// The series detector: (timestamp, value) per event; it has no seed and no score-only call.

const minute = 60_000
const start = Date.UTC(2024, 0, 1)
interface Point {
  t: number
  value: number
}

/** An hourly sinusoid sampled every minute, with noise; points from `from` to `to`. */
function series(from: number, to: number, seed: number): Point[] {
  const random = new Random(seed)
  return Array.from({ length: to - from }, (_, i) => ({
    t: start + (from + i) * minute,
    value: 50 + 10 * Math.sin((2 * Math.PI * (from + i)) / 60) + random.normal(0, 0.5),
  }))
}

cover(SeriesDetector, (check) => {
  streamContract<SeriesDetector, Point>('series', {
    create() {
      const detector = new SeriesDetector()
      check(detector)
      return detector
    },
    step: (detector, point) => detector.update(point.t, point.value),
    toJSON: (detector) => detector.toJSON(),
    fromJSON: (state: SeriesDetectorState) => SeriesDetector.fromJSON(state),
    range: [0, 1],
    stream: (seed) => series(0, 1_200, seed),
    probes() {
      const next = series(1_200, 1_240, 5)
      return { inliers: next, outliers: next.map((point, i) => ({ t: point.t, value: point.value + 60 + i })) }
    },
  })
})

// The score calibrator: one raw score per event; cdf() scores without learning.

function rawScores(count: number, seed: number): number[] {
  const random = new Random(seed)
  return Array.from({ length: count }, (_, i) => (i % 50 === 49 ? random.uniform(0, 3) : random.exponential(1)))
}

cover(ScoreCalibrator, (check) => {
  streamContract<ScoreCalibrator, number>('score-calibrator', {
    create(seed) {
      // a small reservoir and horizon, so that the stream exercises the seeded replacements
      const calibrator = new ScoreCalibrator({ capacity: 128, horizon: 512, seed })
      check(calibrator)
      return calibrator
    },
    step(calibrator, raw) {
      const score = calibrator.cdf(raw)
      calibrator.observe(raw)
      return score
    },
    score: (calibrator, raw) => calibrator.cdf(raw),
    toJSON: (calibrator) => calibrator.toJSON(),
    fromJSON: (state: ScoreCalibratorState) => ScoreCalibrator.fromJSON(state),
    range: [0, 1],
    stream: (seed) => rawScores(600, seed),
    probes: () => ({ inliers: rawScores(100, 99), outliers: Array.from({ length: 20 }, (_, i) => 20 + i) }),
  })
})

// The ensemble: raw scores by detector name per event; calibrate() scores without learning.

type Raw = Record<string, number>

function rawByDetector(count: number, seed: number): Raw[] {
  const random = new Random(seed)
  return Array.from({ length: count }, () => ({
    forest: 0.4 + 0.05 * random.normal(),
    zscore: random.exponential(0.5),
  }))
}

cover(ScoreEnsemble, (check) => {
  streamContract<ScoreEnsemble, Raw>('score-ensemble', {
    create(seed) {
      const ensemble = new ScoreEnsemble({
        detectors: ['forest', 'zscore'],
        weights: { zscore: 2 },
        warmup: 100,
        capacity: 128,
        horizon: 512,
        seed,
      })
      check(ensemble)
      return ensemble
    },
    step(ensemble, raw) {
      const { score } = ensemble.calibrate(raw)
      ensemble.observe(raw)
      return score
    },
    score: (ensemble, raw) => ensemble.calibrate(raw).score,
    toJSON: (ensemble) => ensemble.toJSON(),
    fromJSON: (state: ScoreEnsembleState) => ScoreEnsemble.fromJSON(state),
    range: [0, 1],
    stream: (seed) => rawByDetector(600, seed),
    probes: () => ({
      inliers: rawByDetector(100, 99),
      outliers: Array.from({ length: 20 }, (_, i) => ({ forest: 0.9, zscore: 20 + i })),
    }),
  })
})

/** Exported classes of src/core/anomaly that are not detectors, and why. */
const notDetectors: Record<string, string> = {
  ForestKernel: "the Isolation Forest's compiled trees: covered through IsolationForest",
}

for (const contract of covered.values()) contract()

test('every class exported by src/core/anomaly is under the detector contract, or said not to be a detector', async () => {
  const directory = resolve(import.meta.dirname, '../../../src/core/anomaly')
  const exported: string[] = []
  for (const file of readdirSync(directory).filter((name) => name.endsWith('.ts'))) {
    const module = (await import(resolve(directory, file))) as Record<string, unknown>
    for (const [name, value] of Object.entries(module))
      if (typeof value === 'function' && Function.prototype.toString.call(value).startsWith('class '))
        exported.push(name)
  }
  const coveredNames = [...covered.keys()].map((type) => type.name)
  const missing = exported.filter((name) => !coveredNames.includes(name) && !(name in notDetectors))
  assert.deepEqual(missing, [], 'exported classes without the detector contract: add them to `covered`')
  for (const name of [...coveredNames, ...Object.keys(notDetectors)])
    assert.ok(exported.includes(name), `${name} is listed but not exported by src/core/anomaly`)
})
