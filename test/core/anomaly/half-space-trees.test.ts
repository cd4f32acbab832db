import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DetectorState } from '../../../src/core/anomaly/detector.ts'
import { fromJSON, HalfSpaceTrees } from '../../../src/core/anomaly/half-space-trees.ts'
import { Random } from '../../../src/core/random.ts'

/** The forest River 0.26.1 builds for its docstring example (5 trees, height 3, seed 42). */
const riverExampleForest: DetectorState = {
  type: 'half-space-trees',
  trees: 5,
  height: 3,
  windowSize: 3,
  dimensions: 1,
  featureNames: ['x'],
  splitFeatures: new Array(35).fill(0),
  splitThresholds: [
    0.16750752865586685, 0.05129876468011281, 0.30974557195191466, 0.03199450813713954, 0.0758022172734275,
    0.23915975829466696, 0.5093577343535237, 0.5314590364222517, 0.2989382562479105, 0.6527341412197929,
    0.046200647957340225, 0.4474487150292352, 0.578224679254853, 0.7283344269982521, 0.5726082219568237,
    0.3783865279124098, 0.8217621683657463, 0.3145077058191517, 0.48257256863013553, 0.710676009739028,
    0.8542151902560173, 0.35257157452147503, 0.11033855071521198, 0.5446344032845993, 0.03802062576025897,
    0.20853558561177732, 0.5073085696189573, 0.8071033555032896, 0.6603887585652444, 0.27446998946399825,
    0.8958072500998943, 0.16413300756047972, 0.5173016471650139, 0.7009914259938899, 0.9309638232749102,
  ],
  latestMass: new Array(75).fill(0),
  referenceMass: new Array(75).fill(0),
  counter: 0,
  firstWindow: true,
}

test("on River's own forest, scores equal River's docstring example exactly", () => {
  // bench/reference/half_space_trees.py --example prints these from River itself.
  const detector = fromJSON(riverExampleForest)
  const xs = [0.5, 0.45, 0.43, 0.44, 0.445, 0.45, 0.0]
  for (const x of xs.slice(0, 3)) detector.learn(Float64Array.of(x))
  const scores = xs.map((x) => {
    detector.learn(Float64Array.of(x))
    return detector.score(Float64Array.of(x))
  })
  assert.deepEqual(
    scores,
    [
      0.10666666666666669, 0.07111111111111112, 0.10666666666666669, 0.10666666666666669, 0.10666666666666669,
      0.07111111111111112, 0.8533333333333333,
    ],
  )
})

function smallStream(count: number): Float64Array[] {
  const random = new Random(7)
  const rows: Float64Array[] = []
  for (let i = 0; i < count; i++)
    rows.push(Float64Array.of(random.normal(0.3, 0.05), random.normal(0.6, 0.05), random.uniform(0, 1)))
  return rows
}

test('golden: seed 42 on a fixed small stream gives pinned trees and scores', () => {
  const detector = new HalfSpaceTrees({ dimensions: 3, trees: 5, height: 4, windowSize: 20, seed: 42 })
  const state = detector.toJSON()
  assert.deepEqual(state.splitFeatures.slice(0, 7), [0, 0, 2, 1, 1, 1, 1])
  assert.deepEqual(state.splitThresholds.slice(0, 3), [0.5601446900516748, 0.16192031726741746, 0.36121725421398876])
  const scores = smallStream(60).map((row) => {
    const score = detector.score(row)
    detector.learn(row)
    return score
  })
  assert.deepEqual(scores.slice(0, 20), new Array(20).fill(0), 'no reference mass during the first window')
  assert.deepEqual(
    scores.slice(-6),
    [
      0.4083870967741936, 0.5451612903225806, 0.5335483870967742, 0.3722580645161291, 0.5567741935483871,
      0.5180645161290323,
    ],
  )
})

test('an outlier after warm-up scores higher than every inlier', () => {
  const detector = new HalfSpaceTrees({ dimensions: 3, seed: 42 })
  const rows = smallStream(1000)
  for (const row of rows) detector.learn(row)
  const outlier = Float64Array.of(0.95, 0.05, 0.5)
  const outlierScore = detector.score(outlier)
  const inlierMax = Math.max(...rows.slice(-200).map((row) => detector.score(row)))
  assert.ok(outlierScore > inlierMax, `outlier ${outlierScore} vs max inlier ${inlierMax}`)
})

test('the reference mass swaps in every windowSize learned events', () => {
  const detector = new HalfSpaceTrees({ dimensions: 1, trees: 1, height: 2, windowSize: 4, seed: 1 })
  const x = Float64Array.of(0.5)
  for (let i = 0; i < 3; i++) detector.learn(x)
  assert.equal(detector.score(x), 0)
  detector.learn(x)
  // All four events sit on one path: full mass at every level, so nothing is anomalous.
  assert.equal(detector.score(x), 0)
  const state = detector.toJSON()
  assert.equal(state.counter, 0)
  assert.equal(state.firstWindow, false)
  assert.deepEqual(state.latestMass, new Array(7).fill(0))
  assert.equal(state.referenceMass[0], 4)
})

test('explain blames the feature that isolates the point, and weights sum to the score', () => {
  const detector = new HalfSpaceTrees({ dimensions: 3, seed: 3, featureNames: ['amount', 'velocity', 'noise'] })
  const random = new Random(5)
  for (let i = 0; i < 2000; i++)
    detector.learn(Float64Array.of(random.normal(0.5, 0.05), random.normal(0.5, 0.05), random.normal(0.5, 0.05)))
  const outlier = Float64Array.of(0.5, 0.95, 0.5)
  const contributions = detector.explain(outlier)
  assert.equal(contributions[0]?.feature, 'velocity')
  const total = contributions.reduce((sum, c) => sum + c.weight, 0)
  assert.ok(Math.abs(total - detector.score(outlier)) < 1e-12, `${total} vs ${detector.score(outlier)}`)
})

test('a missing feature (NaN) follows the busier branch instead of always going right', () => {
  const detector = new HalfSpaceTrees({ dimensions: 2, trees: 3, height: 3, windowSize: 50, seed: 9 })
  for (let i = 0; i < 100; i++) detector.learn(Float64Array.of(0.1, 0.1))
  assert.ok(detector.score(Float64Array.of(Number.NaN, 0.1)) < detector.score(Float64Array.of(0.99, 0.99)))
})

test('rejects bad settings and bad states with errors that name them', () => {
  assert.throws(() => new HalfSpaceTrees({ dimensions: 2, height: 0 }), /height = 0/)
  assert.throws(() => new HalfSpaceTrees({ limits: [[1, 1]] }), /limits\[0\]/)
  assert.throws(() => new HalfSpaceTrees({ dimensions: 2 }).score(new Float64Array(3)), /3 features/)
  assert.throws(() => fromJSON({ ...riverExampleForest, referenceMass: [1] }), /referenceMass/)
  assert.throws(() => fromJSON({ ...riverExampleForest, type: 'isolation-forest' }), /type/)
})

test('scoreThenLearn gives the scores and the state of score then learn, missing values included', () => {
  const twoCalls = new HalfSpaceTrees({ dimensions: 3, trees: 5, height: 4, windowSize: 20, seed: 42 })
  const oneWalk = new HalfSpaceTrees({ dimensions: 3, trees: 5, height: 4, windowSize: 20, seed: 42 })
  const rows = smallStream(200)
  for (let i = 0; i < rows.length; i += 7) rows[i]![i % 3] = Number.NaN
  for (const row of rows) {
    const expected = twoCalls.score(row)
    twoCalls.learn(row)
    assert.equal(oneWalk.scoreThenLearn(row), expected)
  }
  assert.deepEqual(oneWalk.toJSON(), twoCalls.toJSON())
})
