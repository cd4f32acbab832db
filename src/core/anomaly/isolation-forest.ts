// Isolation Forest (Liu, Ting & Zhou 2008), with scikit-learn's semantics: each tree is grown
// on `sampleSize` rows drawn without replacement, splits on a random non-constant feature at
// a threshold uniform between the node's min and max (x <= threshold goes left), and stops at
// one row or at depth ceil(log2(sampleSize)). A point's path length in a tree is the depth of
// its external node plus c(size), the expected depth still needed to isolate the `size`
// training rows left there. The score is s(x) = 2^(-E[h(x)] / c(sampleSize)), in (0, 1]:
// about 0.5 and below for ordinary points, towards 1 for points isolated near the roots.
//
// The forest is trained offline (`IsolationForest.train`) and loaded by the scorer from its
// artifact (`toJSON` / `IsolationForest.fromJSON`); `learn()` does nothing.
//
// All trees live in a handful of flat typed arrays. Scoring (isolation-forest-kernel.ts) walks
// each tree a fixed number of steps with no data-dependent branch: an external node points at
// itself with threshold +Infinity, so a walk that reaches it early stays there. That keeps the
// loop free of branch mispredictions, which dominate the cost of a pointer-chasing walk.
import { ErrorCodes, LookoutError } from '../../errors.ts'
import { Random } from '../random.ts'
import type { Contribution, Detector } from './detector.ts'
import { ForestKernel } from './isolation-forest-kernel.ts'

export const ISOLATION_FOREST_TYPE = 'isolation-forest'

export interface IsolationForestOptions {
  /** One name per column, in column order. */
  readonly featureNames: readonly string[]
  /** Trees in the forest (default 100). */
  readonly nTrees?: number
  /** Rows drawn for each tree (default min(256, rows)). */
  readonly sampleSize?: number
  /** Seed of the tree randomness (default 42). */
  readonly seed?: number
}

/** Row-major matrix: row r, column c is `data[r * columns + c]`. */
export interface FeatureMatrix {
  readonly data: Float64Array
  readonly rows: number
  readonly columns: number
}

export interface FeatureStatistics {
  readonly mean: number
  /** Population standard deviation. */
  readonly std: number
  readonly min: number
  readonly max: number
}

export interface TrainingSummary {
  readonly rows: number
  readonly features: Readonly<Record<string, FeatureStatistics>>
  /**
   * The forest's scores of its own training rows, ascending: every row, or evenly spaced order
   * statistics of them (at most `referenceScoreCount`). A scorer that loads the model ranks its
   * first events against them instead of against nothing (absent in older artifacts).
   */
  readonly scores?: readonly number[]
}

/** Training-row scores kept in a model's summary. */
export const referenceScoreCount = 1024

export interface IsolationForestParams {
  readonly nTrees: number
  readonly sampleSize: number
  readonly maxDepth: number
  readonly seed: number
}

/**
 * The saved model. Tree arrays are little-endian bytes in base64; node `i` of the forest is
 * an external node when `feature[i] === -1`, otherwise its children are `left[i]` and
 * `left[i] + 1`. `size[i]` is the number of training rows that reached node `i`.
 */
// A type alias, not an interface, so it is assignable to DetectorState's index signature.
export type IsolationForestState = {
  readonly type: typeof ISOLATION_FOREST_TYPE
  readonly format: 1
  readonly featureNames: readonly string[]
  readonly params: IsolationForestParams
  readonly training: TrainingSummary
  readonly trees: {
    readonly nodes: number
    /** Index of each tree's root node (Int32). */
    readonly roots: string
    /** Split feature, -1 at external nodes (Int32). */
    readonly feature: string
    /** Split threshold (Float64). */
    readonly threshold: string
    /** Left child; the right child is the next node (Int32). */
    readonly left: string
    /** Training rows that reached the node (Int32). */
    readonly size: string
  }
}

const EULER_GAMMA = 0.5772156649015329
const defaultSeed = 42
const defaultTrees = 100
const defaultSampleSize = 256

/** Expected path length of an unsuccessful BST search among n points: c(n) in the paper. */
export function averagePathLength(n: number): number {
  if (n <= 1) return 0
  if (n === 2) return 1
  return 2 * (Math.log(n - 1) + EULER_GAMMA) - (2 * (n - 1)) / n
}

interface Forest {
  readonly roots: Int32Array
  readonly feature: Int32Array
  readonly threshold: Float64Array
  readonly left: Int32Array
  readonly size: Int32Array
}

export class IsolationForest implements Detector {
  readonly name = ISOLATION_FOREST_TYPE
  readonly featureNames: readonly string[]
  readonly params: IsolationForestParams
  readonly training: TrainingSummary

  readonly #forest: Forest
  // Walk layout (derived, not saved): external nodes loop onto themselves. `score` runs it in
  // WebAssembly (#kernel); `explain` walks these arrays.
  readonly #walkFeature: Int32Array
  readonly #walkThreshold: Float64Array
  readonly #walkNext: Int32Array
  /** Steps that reach every external node: the deepest external node's depth. */
  readonly #steps: number
  readonly #kernel: ForestKernel
  /** ln(size) per node, built on the first `explain`. */
  #logSize: Float64Array | undefined
  readonly #normaliser: number

  private constructor(
    featureNames: readonly string[],
    params: IsolationForestParams,
    training: TrainingSummary,
    forest: Forest,
  ) {
    this.featureNames = Object.freeze([...featureNames])
    this.params = Object.freeze({ ...params })
    this.training = training
    this.#forest = forest
    const nodes = forest.feature.length
    this.#walkFeature = new Int32Array(nodes)
    this.#walkThreshold = new Float64Array(nodes)
    this.#walkNext = new Int32Array(nodes)
    /** depth + c(size) at external nodes. */
    const pathLength = new Float64Array(nodes)
    const depth = new Int32Array(nodes)
    let deepest = 0
    // Children always follow their parent, so one forward pass sees every parent first.
    for (let node = 0; node < nodes; node++) {
      const f = forest.feature[node]!
      if (f < 0) {
        this.#walkFeature[node] = 0
        this.#walkThreshold[node] = Number.POSITIVE_INFINITY
        this.#walkNext[node] = node
        pathLength[node] = depth[node]! + averagePathLength(forest.size[node]!)
        if (depth[node]! > deepest) deepest = depth[node]!
      } else {
        const left = forest.left[node]!
        this.#walkFeature[node] = f
        this.#walkThreshold[node] = forest.threshold[node]!
        this.#walkNext[node] = left
        depth[left] = depth[node]! + 1
        depth[left + 1] = depth[node]! + 1
      }
    }
    this.#steps = deepest
    this.#kernel = new ForestKernel({ ...forest, columns: featureNames.length, pathLength, steps: deepest })
    this.#normaliser = averagePathLength(params.sampleSize)
  }

  /** Grows a forest on `rows`. Deterministic for a given seed. */
  static train(rows: readonly Float64Array[] | FeatureMatrix, options: IsolationForestOptions): IsolationForest {
    const matrix = toMatrix(rows, options.featureNames.length)
    const columns = matrix.columns
    if (columns === 0) throw invalid('featureNames', options.featureNames, 'at least one feature name')
    if (matrix.rows < 2) throw invalid('rows', matrix.rows, 'at least two training rows')
    const nTrees = options.nTrees ?? defaultTrees
    if (!Number.isInteger(nTrees) || nTrees < 1) throw invalid('nTrees', nTrees, 'an integer ≥ 1')
    const sampleSize = options.sampleSize ?? Math.min(defaultSampleSize, matrix.rows)
    if (!Number.isInteger(sampleSize) || sampleSize < 2 || sampleSize > matrix.rows)
      throw invalid('sampleSize', sampleSize, `an integer in [2, ${matrix.rows}] (the training rows)`)
    const seed = options.seed ?? defaultSeed
    if (!Number.isInteger(seed)) throw invalid('seed', seed, 'an integer')
    const maxDepth = Math.ceil(Math.log2(sampleSize))

    const builder = new ForestBuilder(matrix, maxDepth)
    const random = new Random(seed)
    const population = new Int32Array(matrix.rows)
    for (let i = 0; i < population.length; i++) population[i] = i
    const roots = new Int32Array(nTrees)
    for (let t = 0; t < nTrees; t++) {
      // One independent stream per tree: tree t does not depend on how much randomness
      // earlier trees consumed.
      const treeRandom = random.fork()
      // Partial Fisher–Yates: the first sampleSize entries become a uniform sample.
      for (let i = 0; i < sampleSize; i++) {
        const j = treeRandom.integer(i, population.length - 1)
        const swap = population[i]!
        population[i] = population[j]!
        population[j] = swap
      }
      roots[t] = builder.grow(population.slice(0, sampleSize), treeRandom)
    }
    const forest = new IsolationForest(
      options.featureNames,
      { nTrees, sampleSize, maxDepth, seed },
      summarise(matrix, options.featureNames),
      builder.finish(roots),
    )
    const scores = forest.scoreMany(matrix, new Float64Array(matrix.rows)).sort()
    const kept =
      scores.length <= referenceScoreCount
        ? Array.from(scores)
        : Array.from(
            { length: referenceScoreCount },
            (_, i) => scores[Math.round((i * (scores.length - 1)) / (referenceScoreCount - 1))]!,
          )
    ;(forest as { training: TrainingSummary }).training = { ...forest.training, scores: kept }
    return forest
  }

  static fromJSON(state: unknown): IsolationForest {
    const s = state as Partial<IsolationForestState> | null
    if (s === null || typeof s !== 'object' || s.type !== ISOLATION_FOREST_TYPE)
      throw invalidModel('it is not an isolation-forest model')
    if (s.format !== 1) throw invalidModel(`format ${String(s.format)} is not supported (expected 1)`)
    const names = s.featureNames
    if (!Array.isArray(names) || names.length === 0 || !names.every((name) => typeof name === 'string'))
      throw invalidModel('featureNames must be a non-empty list of strings')
    const params = s.params
    if (
      params === undefined ||
      !Number.isInteger(params.nTrees) ||
      !Number.isInteger(params.sampleSize) ||
      params.sampleSize < 2
    )
      throw invalidModel('params must carry integer nTrees and sampleSize ≥ 2')
    const trees = s.trees
    if (trees === undefined || s.training === undefined) throw invalidModel('trees or training summary missing')
    const forest: Forest = {
      roots: decodeInt32(trees.roots, 'roots'),
      feature: decodeInt32(trees.feature, 'feature'),
      threshold: decodeFloat64(trees.threshold, 'threshold'),
      left: decodeInt32(trees.left, 'left'),
      size: decodeInt32(trees.size, 'size'),
    }
    checkForest(forest, names.length, params.nTrees)
    return new IsolationForest(names, params, s.training, forest)
  }

  /** Trained offline: streaming observations do not change the forest. */
  learn(_x: Float64Array): void {}

  /** s(x) = 2^(-E[h(x)] / c(sampleSize)), in (0, 1]; higher is more anomalous. NaN goes left. */
  score(x: Float64Array): number {
    if (x.length !== this.featureNames.length)
      throw invalid('x.length', x.length, `${this.featureNames.length} features`)
    return 2 ** -(this.#kernel.sumPathLengths(x) / this.params.nTrees / this.#normaliser)
  }

  /** `score` of every row of `matrix` into `out` (length ≥ rows); the same values, one call. */
  scoreMany(matrix: FeatureMatrix, out: Float64Array): Float64Array {
    if (matrix.columns !== this.featureNames.length)
      throw invalid('matrix.columns', matrix.columns, `${this.featureNames.length} features`)
    if (matrix.data.length !== matrix.rows * matrix.columns)
      throw invalid('matrix.data.length', matrix.data.length, `rows × columns = ${matrix.rows * matrix.columns}`)
    if (out.length < matrix.rows) throw invalid('out.length', out.length, `at least ${matrix.rows} (the rows)`)
    const kernel = this.#kernel
    const divisor = this.params.nTrees
    const normaliser = this.#normaliser
    for (let row = 0; row < matrix.rows; row++)
      out[row] = 2 ** -(kernel.sumPathLengthsOfRow(matrix.data, row) / divisor / normaliser)
    return out
  }

  /** Mean path length E[h(x)] over the trees (the quantity behind `score`). */
  pathLength(x: Float64Array): number {
    return -Math.log2(this.score(x)) * this.#normaliser
  }

  /**
   * Which features isolate `x`. Along x's path in every tree, each split is credited to its
   * feature with ln(rows at the node / rows in the child x goes to): the share of training
   * mass that split cut away from x. A split that separates x from nearly everything (an
   * outlying value) earns much more than one that halves the node. Weights are normalised
   * to sum to 1 and sorted, largest first; features never split on are left out.
   */
  explain(x: Float64Array, limit = this.featureNames.length): Contribution[] {
    const roots = this.#forest.roots
    this.#logSize ??= Float64Array.from(this.#forest.size, (rows) => Math.log(rows))
    const logSize = this.#logSize
    const feature = this.#walkFeature
    const threshold = this.#walkThreshold
    const next = this.#walkNext
    const steps = this.#steps
    const credit = new Float64Array(this.featureNames.length)
    // The scoring walk, to the leaf (which loops to itself: its credit ln(size) − ln(size) would be 0).
    for (let t = 0; t < roots.length; t++) {
      let node = roots[t]!
      for (let step = 0; step < steps; step++) {
        const f = feature[node]!
        const child = next[node]! + +(x[f]! > threshold[node]!)
        if (child === node) break
        credit[f]! += logSize[node]! - logSize[child]!
        node = child
      }
    }
    let total = 0
    for (const value of credit) total += value
    if (!(total > 0)) return []
    const contributions: Contribution[] = []
    for (let f = 0; f < credit.length; f++)
      if (credit[f]! > 0) contributions.push({ feature: this.featureNames[f]!, weight: credit[f]! / total })
    contributions.sort((a, b) => b.weight - a.weight || (a.feature < b.feature ? -1 : 1))
    return contributions.slice(0, limit)
  }

  toJSON(): IsolationForestState {
    const forest = this.#forest
    return {
      type: ISOLATION_FOREST_TYPE,
      format: 1,
      featureNames: [...this.featureNames],
      params: { ...this.params },
      training: this.training,
      trees: {
        nodes: forest.feature.length,
        roots: encode(forest.roots),
        feature: encode(forest.feature),
        threshold: encode(forest.threshold),
        left: encode(forest.left),
        size: encode(forest.size),
      },
    }
  }
}

/** Grows trees into shared growable node arrays; children are allocated as adjacent pairs. */
class ForestBuilder {
  readonly #matrix: FeatureMatrix
  readonly #maxDepth: number
  #feature: number[] = []
  #threshold: number[] = []
  #left: number[] = []
  #size: number[] = []
  readonly #candidates: Int32Array

  constructor(matrix: FeatureMatrix, maxDepth: number) {
    this.#matrix = matrix
    this.#maxDepth = maxDepth
    this.#candidates = new Int32Array(matrix.columns)
  }

  /** Grows one tree on the given row indices (reordered in place); returns its root. */
  grow(rows: Int32Array, random: Random): number {
    const root = this.#allocate(1)
    this.#split(root, rows, 0, rows.length, 0, random)
    return root
  }

  finish(roots: Int32Array): Forest {
    return {
      roots,
      feature: Int32Array.from(this.#feature),
      threshold: Float64Array.from(this.#threshold),
      left: Int32Array.from(this.#left),
      size: Int32Array.from(this.#size),
    }
  }

  #allocate(count: number): number {
    const first = this.#feature.length
    for (let i = 0; i < count; i++) {
      this.#feature.push(-1)
      this.#threshold.push(0)
      this.#left.push(-1)
      this.#size.push(0)
    }
    return first
  }

  #split(node: number, rows: Int32Array, start: number, end: number, depth: number, random: Random): void {
    this.#size[node] = end - start
    if (depth >= this.#maxDepth || end - start <= 1) return
    const { data, columns } = this.#matrix
    // Like scikit-learn, draw features without replacement until one is not constant here;
    // a node where every feature is constant stays external.
    const candidates = this.#candidates
    for (let i = 0; i < columns; i++) candidates[i] = i
    for (let remaining = columns; remaining > 0; remaining--) {
      const pick = random.integer(0, remaining - 1)
      const f = candidates[pick]!
      candidates[pick] = candidates[remaining - 1]!
      let min = Number.POSITIVE_INFINITY
      let max = Number.NEGATIVE_INFINITY
      for (let i = start; i < end; i++) {
        const value = data[rows[i]! * columns + f]!
        if (value < min) min = value
        if (value > max) max = value
      }
      if (!(max > min)) continue
      let threshold = random.uniform(min, max)
      if (threshold >= max) threshold = min // rounding guard: keep both sides non-empty
      // Partition: rows with value <= threshold to the front.
      let middle = start
      for (let i = start; i < end; i++) {
        const row = rows[i]!
        if (data[row * columns + f]! <= threshold) {
          rows[i] = rows[middle]!
          rows[middle] = row
          middle++
        }
      }
      const left = this.#allocate(2)
      this.#feature[node] = f
      this.#threshold[node] = threshold
      this.#left[node] = left
      this.#split(left, rows, start, middle, depth + 1, random)
      this.#split(left + 1, rows, middle, end, depth + 1, random)
      return
    }
  }
}

function toMatrix(rows: readonly Float64Array[] | FeatureMatrix, columns: number): FeatureMatrix {
  if (!Array.isArray(rows)) {
    const matrix = rows as FeatureMatrix
    if (matrix.columns !== columns)
      throw invalid('columns', matrix.columns, `${columns}, one per feature name (featureNames)`)
    if (matrix.data.length !== matrix.rows * matrix.columns)
      throw invalid('data', matrix.data.length, `rows × columns = ${matrix.rows * matrix.columns} values`)
    checkFiniteData(matrix.data)
    return matrix
  }
  const list = rows as readonly Float64Array[]
  const data = new Float64Array(list.length * columns)
  list.forEach((row, r) => {
    if (row.length !== columns) throw invalid(`rows[${r}].length`, row.length, `${columns}, one per feature name`)
    data.set(row, r * columns)
  })
  checkFiniteData(data)
  return { data, rows: list.length, columns }
}

function checkFiniteData(data: Float64Array): void {
  for (let i = 0; i < data.length; i++)
    if (!Number.isFinite(data[i])) throw invalid('training data', data[i], 'finite numbers only')
}

function summarise(matrix: FeatureMatrix, names: readonly string[]): TrainingSummary {
  const { data, rows, columns } = matrix
  const features: Record<string, FeatureStatistics> = {}
  for (let c = 0; c < columns; c++) {
    let mean = 0
    let m2 = 0
    let min = Number.POSITIVE_INFINITY
    let max = Number.NEGATIVE_INFINITY
    for (let r = 0; r < rows; r++) {
      const value = data[r * columns + c]!
      // Welford: stable for large offsets.
      const delta = value - mean
      mean += delta / (r + 1)
      m2 += delta * (value - mean)
      if (value < min) min = value
      if (value > max) max = value
    }
    features[names[c]!] = { mean, std: Math.sqrt(m2 / rows), min, max }
  }
  return { rows, features }
}

function checkForest(forest: Forest, features: number, trees: number): void {
  const nodes = forest.feature.length
  if (forest.threshold.length !== nodes || forest.left.length !== nodes || forest.size.length !== nodes)
    throw invalidModel('tree arrays differ in length')
  if (forest.roots.length !== trees || trees < 1) throw invalidModel(`expected ${trees} tree roots`)
  for (const root of forest.roots) if (root < 0 || root >= nodes) throw invalidModel(`root ${root} out of range`)
  for (let node = 0; node < nodes; node++) {
    const f = forest.feature[node]!
    if (f === -1) continue
    const left = forest.left[node]!
    // Children after their parent rules out cycles and lets the constructor use one pass.
    if (f < 0 || f >= features || left <= node || left + 1 >= nodes)
      throw invalidModel(`node ${node} has an invalid split (feature ${f}, left ${left})`)
  }
}

function encode(array: Int32Array | Float64Array): string {
  const bytes = new Uint8Array(array.byteLength)
  const view = new DataView(bytes.buffer)
  if (array instanceof Int32Array) for (let i = 0; i < array.length; i++) view.setInt32(i * 4, array[i]!, true)
  else for (let i = 0; i < array.length; i++) view.setFloat64(i * 8, array[i]!, true)
  return Buffer.from(bytes.buffer).toString('base64')
}

function decodeBytes(text: unknown, field: string, width: number): DataView {
  if (typeof text !== 'string') throw invalidModel(`trees.${field} must be a base64 string`)
  const bytes = Buffer.from(text, 'base64')
  if (bytes.length % width !== 0) throw invalidModel(`trees.${field} is not a whole number of ${width}-byte values`)
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
}

function decodeInt32(text: unknown, field: string): Int32Array {
  const view = decodeBytes(text, field, 4)
  const out = new Int32Array(view.byteLength / 4)
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(i * 4, true)
  return out
}

function decodeFloat64(text: unknown, field: string): Float64Array {
  const view = decodeBytes(text, field, 8)
  const out = new Float64Array(view.byteLength / 8)
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true)
  return out
}

function invalid(setting: string, value: unknown, allowed: string): LookoutError {
  return new LookoutError(
    ErrorCodes.INPUT_INVALID,
    `IsolationForest: ${setting} is ${JSON.stringify(value) ?? String(value)}; expected ${allowed}`,
  )
}

function invalidModel(reason: string): LookoutError {
  return new LookoutError(ErrorCodes.INPUT_INVALID, `Isolation Forest model is invalid: ${reason}`, {
    hint: 'retrain the model (lookout train) or load a file written by this version of Lookout',
  })
}
