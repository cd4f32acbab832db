import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DetectorState } from '../../../src/core/anomaly/detector.ts'
import {
  averagePathLength,
  IsolationForest,
  type IsolationForestState,
} from '../../../src/core/anomaly/isolation-forest.ts'
import { Random } from '../../../src/core/random.ts'

const featureNames = ['amount', 'velocity', 'distance']

/** Correlated 3-feature inliers, seeded. */
function inliers(count: number, seed: number): Float64Array[] {
  const random = new Random(seed)
  const rows: Float64Array[] = []
  for (let i = 0; i < count; i++) {
    const amount = random.normal(50, 10)
    rows.push(Float64Array.of(amount, random.normal(3, 1), 0.1 * amount + random.normal(0, 1)))
  }
  return rows
}

const training = inliers(1000, 42)
const forest = IsolationForest.train(training, { featureNames, seed: 42 })

test('c(n) matches the paper: c(1) = 0, c(2) = 1, c(256) ≈ 10.24', () => {
  assert.equal(averagePathLength(1), 0)
  assert.equal(averagePathLength(2), 1)
  assert.ok(Math.abs(averagePathLength(256) - 10.244770920119917) < 1e-12)
})

test('defaults follow scikit-learn: 100 trees, sampleSize min(256, n), depth ceil(log2 ψ)', () => {
  assert.deepEqual(forest.params, { nTrees: 100, sampleSize: 256, maxDepth: 8, seed: 42 })
  const small = IsolationForest.train(training.slice(0, 100), { featureNames })
  assert.deepEqual(small.params, { nTrees: 100, sampleSize: 100, maxDepth: 7, seed: 42 })
})

test('golden: pinned scores of three fixed points for seed 42', () => {
  // An inlier, a point that breaks the amount–distance correlation, a far outlier.
  const points = [Float64Array.of(50, 3, 5), Float64Array.of(20, 3, 12), Float64Array.of(130, 9, 20)]
  assert.deepEqual(
    points.map((x) => forest.score(x)),
    [0.388517448693784, 0.6733106948128372, 0.7696349988928389],
  )
})

test('an obvious outlier scores > 0.6, inliers < 0.5', () => {
  assert.ok(forest.score(Float64Array.of(130, 9, 20)) > 0.6)
  assert.ok(forest.score(Float64Array.of(20, 3, 12)) > 0.6)
  const fresh = inliers(200, 7)
  const mean = fresh.reduce((sum, x) => sum + forest.score(x), 0) / fresh.length
  assert.ok(mean < 0.5, `mean inlier score ${mean}`)
  assert.ok(forest.score(Float64Array.of(50, 3, 5)) < 0.5)
})

test('explanations name the perturbed feature first and sum to 1', () => {
  const base = inliers(30, 9)
  for (const [index, delta] of [
    [0, 60],
    [1, 8],
    [2, 12],
  ] as const) {
    for (const row of base.slice(0, 10)) {
      const x = row.slice()
      x[index]! += delta
      const explanation = forest.explain(x)
      assert.equal(explanation[0]?.feature, featureNames[index])
      const total = explanation.reduce((sum, c) => sum + c.weight, 0)
      assert.ok(Math.abs(total - 1) < 1e-12)
      for (let i = 1; i < explanation.length; i++) assert.ok(explanation[i - 1]!.weight >= explanation[i]!.weight)
    }
  }
  assert.equal(forest.explain(Float64Array.of(50, 3, 20), 1).length, 1)
})

test('the artifact carries feature names and training statistics', () => {
  const state = forest.toJSON()
  assert.deepEqual(state.featureNames, featureNames)
  assert.equal(state.training.rows, 1000)
  const amount = state.training.features['amount']!
  const values = training.map((row) => row[0]!)
  const mean = values.reduce((a, b) => a + b, 0) / values.length
  assert.ok(Math.abs(amount.mean - mean) < 1e-9)
  assert.ok(Math.abs(amount.std - Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length)) < 1e-9)
  assert.equal(amount.min, Math.min(...values))
  assert.equal(amount.max, Math.max(...values))
  assert.ok(JSON.stringify(state).length < 400_000, 'compact: base64 tree arrays')
})

test('the fast walk agrees with a plain recursive traversal of the saved trees', () => {
  // 13 trees exercises both the 8-at-a-time loop and the remainder loop.
  const small = IsolationForest.train(training, { featureNames, seed: 3, nTrees: 13, sampleSize: 200 })
  const state = small.toJSON()
  const int32 = (text: string) => {
    const bytes = Buffer.from(text, 'base64')
    return Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readInt32LE(i * 4))
  }
  const feature = int32(state.trees.feature)
  const left = int32(state.trees.left)
  const size = int32(state.trees.size)
  const roots = int32(state.trees.roots)
  const thresholdBytes = Buffer.from(state.trees.threshold, 'base64')
  const threshold = (node: number) => thresholdBytes.readDoubleLE(node * 8)
  const pathLength = (x: Float64Array, node: number, depth: number): number =>
    feature[node] === -1
      ? depth + averagePathLength(size[node]!)
      : pathLength(x, x[feature[node]!]! <= threshold(node) ? left[node]! : left[node]! + 1, depth + 1)
  for (const x of [...inliers(50, 5), Float64Array.of(50, 3, 20), Float64Array.of(-100, 100, 0)]) {
    const mean = roots.reduce((sum, root) => sum + pathLength(x, root, 0), 0) / roots.length
    const expected = 2 ** (-mean / averagePathLength(200))
    assert.ok(Math.abs(small.score(x) - expected) < 1e-12, `${small.score(x)} vs ${expected}`)
  }
})

test('training is deterministic per seed and differs across seeds', () => {
  const again = IsolationForest.train(training, { featureNames, seed: 42 })
  assert.deepEqual(again.toJSON(), forest.toJSON())
  const other = IsolationForest.train(training, { featureNames, seed: 43 })
  assert.notDeepEqual(other.toJSON().trees, forest.toJSON().trees)
})

test('accepts a row-major matrix as well as a list of rows', () => {
  const data = new Float64Array(training.length * 3)
  for (const [r, row] of training.entries()) data.set(row, r * 3)
  const fromMatrix = IsolationForest.train({ data, rows: training.length, columns: 3 }, { featureNames, seed: 42 })
  assert.deepEqual(fromMatrix.toJSON(), forest.toJSON())
})

test('learn() is a no-op: the forest is trained offline', () => {
  const copy = IsolationForest.fromJSON(forest.toJSON())
  const before = JSON.stringify(copy.toJSON())
  for (const row of inliers(100, 11)) copy.learn(row)
  assert.equal(JSON.stringify(copy.toJSON()), before)
})

test('constant columns never split; an all-constant sample leaves single-node trees', () => {
  const constant = Array.from({ length: 50 }, (_, i) => Float64Array.of(1, i % 2 === 0 ? 2 : 3))
  const model = IsolationForest.train(constant, { featureNames: ['flat', 'binary'], seed: 1, nTrees: 5 })
  assert.deepEqual(
    model.explain(Float64Array.of(1, 2)).map((c) => c.feature),
    ['binary'],
  )
  const flat = IsolationForest.train(
    Array.from({ length: 20 }, () => Float64Array.of(4, 4)),
    { featureNames: ['x', 'y'], nTrees: 3 },
  )
  // Every root is external with 20 rows: E[h] = c(20), so s = 2^-1.
  assert.equal(flat.score(Float64Array.of(4, 4)), 0.5)
  assert.deepEqual(flat.explain(Float64Array.of(9, 9)), [])
})

test('rejects bad options, bad input widths and corrupt models, naming the problem', () => {
  assert.throws(() => IsolationForest.train(training, { featureNames: ['one'] }), /rows\[0\]\.length is 3/)
  assert.throws(() => IsolationForest.train(training, { featureNames, sampleSize: 5000 }), /sampleSize is 5000/)
  assert.throws(() => IsolationForest.train(training, { featureNames, nTrees: 0 }), /nTrees is 0/)
  assert.throws(() => IsolationForest.train([Float64Array.of(1, Number.NaN, 2)], { featureNames }), /rows is 1|finite/)
  assert.throws(() => forest.score(Float64Array.of(1, 2)), /x\.length is 2/)
  const state = forest.toJSON()
  assert.throws(() => IsolationForest.fromJSON({ ...state, type: 'half-space-trees' }), /not an isolation-forest/)
  assert.throws(() => IsolationForest.fromJSON({ ...state, format: 2 } as unknown as DetectorState), /format 2/)
  const broken: IsolationForestState = { ...state, trees: { ...state.trees, left: state.trees.roots } }
  assert.throws(() => IsolationForest.fromJSON(broken), /differ in length/)
})

/** The scoring walk in plain TypeScript, summing eight trees at a time as `score` does. */
function referenceScore(model: IsolationForest, x: Float64Array): number {
  const state = model.toJSON()
  const decode = (text: string) => Buffer.from(text, 'base64')
  const int32 = (text: string) => {
    const bytes = decode(text)
    return Int32Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readInt32LE(i * 4))
  }
  const roots = int32(state.trees.roots)
  const feature = int32(state.trees.feature)
  const left = int32(state.trees.left)
  const size = int32(state.trees.size)
  const thresholdBytes = decode(state.trees.threshold)
  const pathLengths = Array.from(roots, (root) => {
    let node = root
    let depth = 0
    while (feature[node]! >= 0) {
      const threshold = thresholdBytes.readDoubleLE(node * 8)
      node = x[feature[node]!]! > threshold ? left[node]! + 1 : left[node]!
      depth++
    }
    return depth + averagePathLength(size[node]!)
  })
  let total = 0
  let t = 0
  for (; t + 8 <= pathLengths.length; t += 8) {
    let group = pathLengths[t]!
    for (let i = 1; i < 8; i++) group += pathLengths[t + i]!
    total += group
  }
  for (; t < pathLengths.length; t++) total += pathLengths[t]!
  return 2 ** -(total / pathLengths.length / averagePathLength(model.params.sampleSize))
}

test('score equals a plain walk of the saved trees bit for bit, for any number of trees', () => {
  const probes = [...inliers(20, 3), Float64Array.of(130, 9, 20), Float64Array.of(Number.NaN, 3, 5)]
  for (const nTrees of [1, 7, 8, 9, 16, 20, 25, 33, 100]) {
    const model = IsolationForest.train(training, { featureNames, seed: 5, nTrees })
    for (const x of probes) assert.equal(model.score(x), referenceScore(model, x), `nTrees ${nTrees}`)
  }
})

test('scoreMany gives score of every row', () => {
  const rows = inliers(50, 11)
  const matrix = { data: new Float64Array(rows.length * 3), rows: rows.length, columns: 3 }
  for (const [i, x] of rows.entries()) matrix.data.set(x, i * 3)
  const out = forest.scoreMany(matrix, new Float64Array(rows.length))
  assert.deepEqual(
    Array.from(out),
    rows.map((x) => forest.score(x)),
  )
  assert.throws(() => forest.scoreMany({ ...matrix, columns: 2 }, out), /matrix.columns/)
})
