// Half-Space Trees (Tan, Ting & Liu, "Fast anomaly detection for streaming data", IJCAI 2011),
// with the semantics of River's `anomaly.HalfSpaceTrees` so that scores are comparable:
//
// - Each tree is a complete binary tree of `height` splits built once from random (feature,
//   threshold) pairs: the feature is drawn with probability proportional to the width of its
//   current range, the threshold uniformly inside the range shrunk by 15 % padding on each side.
// - Every node keeps two masses: `latest` (counted by `learn` in the current window) and
//   `reference` (the latest mass of the previous window). Every `windowSize` learned events the
//   latest mass becomes the reference and the latest is cleared.
// - `score(x)` walks each tree adding reference·2^depth at every node on x's path, stopping after
//   the first node whose reference mass is below 0.1·windowSize; the sum over trees is divided by
//   its maximum, trees·windowSize·(2^(height+1) − 1), and flipped: 1 − sum/max. Range [0, 1],
//   higher = more anomalous; 0 during the first window (no reference yet), as in River.
//
// Node data lives in flat typed arrays in heap order (node i has children 2i+1 and 2i+2), one set
// for the whole forest, so learning and scoring allocate nothing.

import { ErrorCodes, LookoutError } from '../../errors.ts'
import { Random } from '../random.ts'
import type { Contribution, Detector, DetectorState } from './detector.ts'
import { optionError, positiveIntegerOption } from './options.ts'

export const HALF_SPACE_TREES_TYPE = 'half-space-trees'

/** The `limit` largest weights as contributions, largest first (ties: lower index first). */
export function topContributions(weights: Float64Array, names: readonly string[], limit: number): Contribution[] {
  const top: Contribution[] = []
  for (let f = 0; f < weights.length; f++) {
    const weight = weights[f]!
    if (top.length === limit && weight <= top[top.length - 1]!.weight) continue
    let at = top.length
    while (at > 0 && top[at - 1]!.weight < weight) at--
    top.splice(at, 0, { feature: names[f]!, weight })
    if (top.length > limit) top.pop()
  }
  return top
}

/** River's padding: splits never fall in the outer 15 % of a node's range. */
const PADDING = 0.15
/** River's (and the paper's) size limit, as a share of the window. */
const SIZE_LIMIT_SHARE = 0.1

export interface HalfSpaceTreesOptions {
  /** Number of features; may be omitted when `limits` or `featureNames` gives it. */
  dimensions?: number
  /** Number of trees (River: n_trees). Default 10. */
  trees?: number
  /** Splits from root to leaf (River: height). A tree has 2^(height+1) − 1 nodes. Default 8. */
  height?: number
  /** Learned events per mass window (River: window_size). Default 250. */
  windowSize?: number
  /** Range [low, high] of each feature; default [0, 1] for every feature, as in River. */
  limits?: readonly (readonly [number, number])[]
  /** Seed of the tree construction. Default 0. */
  seed?: number
  /** Names used by `explain`; default `x0`, `x1`, … */
  featureNames?: readonly string[]
}

export interface HalfSpaceTreesState extends DetectorState {
  readonly type: typeof HALF_SPACE_TREES_TYPE
  readonly trees: number
  readonly height: number
  readonly windowSize: number
  readonly dimensions: number
  readonly featureNames: readonly string[]
  /** Split feature of every internal node, tree after tree, heap order. */
  readonly splitFeatures: readonly number[]
  /** Split threshold of every internal node (go left when value < threshold). */
  readonly splitThresholds: readonly number[]
  /** Latest-window mass of every node. */
  readonly latestMass: readonly number[]
  /** Reference (previous window) mass of every node. */
  readonly referenceMass: readonly number[]
  /** Events learned in the current window. */
  readonly counter: number
  /** True until the first window has completed. */
  readonly firstWindow: boolean
}

const invalid = (setting: string, value: unknown, allowed: string) =>
  optionError('half-space-trees', setting, value, allowed)
const positiveInteger = (setting: string, value: number, max: number) =>
  positiveIntegerOption('half-space-trees', setting, value, max)

export class HalfSpaceTrees implements Detector {
  readonly name = HALF_SPACE_TREES_TYPE
  #explainWeights: Float64Array | undefined
  #explainDrops: Float64Array | undefined
  #explainFeatures: Int32Array | undefined
  readonly trees: number
  readonly height: number
  readonly windowSize: number
  readonly dimensions: number
  readonly featureNames: readonly string[]

  readonly #nodesPerTree: number
  readonly #internalPerTree: number
  readonly #sizeLimit: number
  readonly #maxScore: number
  readonly #splitFeature: Int32Array
  readonly #splitThreshold: Float64Array
  #latest: Int32Array
  #reference: Int32Array
  #counter = 0
  #firstWindow = true

  constructor(options: HalfSpaceTreesOptions) {
    const dimensions = options.dimensions ?? options.limits?.length ?? options.featureNames?.length
    if (dimensions === undefined) throw invalid('dimensions', dimensions, 'dimensions, limits or featureNames')
    this.dimensions = positiveInteger('dimensions', dimensions, 1 << 20)
    this.trees = positiveInteger('trees', options.trees ?? 10, 10_000)
    this.height = positiveInteger('height', options.height ?? 8, 24)
    this.windowSize = positiveInteger('windowSize', options.windowSize ?? 250, 2 ** 30)
    if (options.limits !== undefined && options.limits.length !== this.dimensions)
      throw invalid('limits', `${options.limits.length} ranges`, `${this.dimensions} ranges`)
    if (options.featureNames !== undefined && options.featureNames.length !== this.dimensions)
      throw invalid('featureNames', `${options.featureNames.length} names`, `${this.dimensions} names`)
    this.featureNames = Object.freeze(
      options.featureNames ? [...options.featureNames] : Array.from({ length: this.dimensions }, (_, i) => `x${i}`),
    )

    this.#nodesPerTree = 2 ** (this.height + 1) - 1
    this.#internalPerTree = 2 ** this.height - 1
    this.#sizeLimit = SIZE_LIMIT_SHARE * this.windowSize
    this.#maxScore = this.trees * this.windowSize * this.#nodesPerTree
    this.#splitFeature = new Int32Array(this.trees * this.#internalPerTree)
    this.#splitThreshold = new Float64Array(this.trees * this.#internalPerTree)
    this.#latest = new Int32Array(this.trees * this.#nodesPerTree)
    this.#reference = new Int32Array(this.trees * this.#nodesPerTree)

    const low = new Float64Array(this.dimensions)
    const high = new Float64Array(this.dimensions).fill(1)
    if (options.limits) {
      for (let f = 0; f < this.dimensions; f++) {
        const range = options.limits[f]!
        if (!(Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[0] < range[1]))
          throw invalid(`limits[${f}]`, range, 'a finite [low, high] with low < high')
        low[f] = range[0]
        high[f] = range[1]
      }
    }
    // One generator for the whole forest, drawn in River's order (node, left subtree, right subtree).
    const random = new Random(options.seed ?? 0)
    for (let t = 0; t < this.trees; t++) this.#build(random, t * this.#internalPerTree, 0, 0, low, high)
  }

  #build(random: Random, base: number, node: number, depth: number, low: Float64Array, high: Float64Array): void {
    if (depth === this.height) return
    let total = 0
    for (let f = 0; f < this.dimensions; f++) total += high[f]! - low[f]!
    // Feature weighted by its current range width, as River's rng.choices(weights=gaps).
    let target = random.next() * total
    let feature = this.dimensions - 1
    for (let f = 0; f < this.dimensions; f++) {
      target -= high[f]! - low[f]!
      if (target < 0) {
        feature = f
        break
      }
    }
    const a = low[feature]!
    const b = high[feature]!
    const threshold = random.uniform(a + PADDING * (b - a), b - PADDING * (b - a))
    this.#splitFeature[base + node] = feature
    this.#splitThreshold[base + node] = threshold

    high[feature] = threshold
    this.#build(random, base, 2 * node + 1, depth + 1, low, high)
    high[feature] = b
    low[feature] = threshold
    this.#build(random, base, 2 * node + 2, depth + 1, low, high)
    low[feature] = a
  }

  /** The child of internal `node` (heap index within a tree) on x's path; learn and score inline it. */
  #child(x: Float64Array, internalBase: number, nodeBase: number, node: number): number {
    const value = x[this.#splitFeature[internalBase + node]!]!
    const left = 2 * node + 1
    if (value < this.#splitThreshold[internalBase + node]!) return left
    // NaN = missing feature: follow the busier child, as River does for an absent key.
    if (Number.isNaN(value) && this.#latest[nodeBase + left]! >= this.#latest[nodeBase + left + 1]!) return left
    return left + 1
  }

  #check(x: Float64Array): void {
    if (x.length !== this.dimensions)
      throw new LookoutError(
        ErrorCodes.INPUT_INVALID,
        `half-space-trees: got a vector of ${x.length} features, the model has ${this.dimensions}`,
      )
  }

  learn(x: Float64Array): void {
    this.#check(x)
    // Fields hoisted into locals and the child step inlined: this loop runs trees·height times per event.
    const latest = this.#latest
    const splitFeature = this.#splitFeature
    const splitThreshold = this.#splitThreshold
    const nodesPerTree = this.#nodesPerTree
    const internalPerTree = this.#internalPerTree
    const height = this.height
    for (let t = 0, nodeBase = 0, internalBase = 0; t < this.trees; t++) {
      let node = 0
      for (let depth = 0; depth < height; depth++) {
        latest[nodeBase + node]!++
        const value = x[splitFeature[internalBase + node]!]!
        const left = 2 * node + 1
        if (value < splitThreshold[internalBase + node]!) node = left
        // NaN = missing feature: follow the busier child, as River does for an absent key.
        else if (Number.isNaN(value) && latest[nodeBase + left]! >= latest[nodeBase + left + 1]!) node = left
        else node = left + 1
      }
      latest[nodeBase + node]!++
      nodeBase += nodesPerTree
      internalBase += internalPerTree
    }
    this.#endOfLearn()
  }

  /** Counts a learned event; at the end of a window the latest masses become the reference. */
  #endOfLearn(): void {
    if (++this.#counter === this.windowSize) {
      // Pivot: swap the buffers rather than copy, then clear the new latest.
      const reference = this.#reference
      this.#reference = this.#latest
      this.#latest = reference
      reference.fill(0)
      this.#firstWindow = false
      this.#counter = 0
    }
  }

  score(x: Float64Array): number {
    this.#check(x)
    if (this.#firstWindow) return 0
    const reference = this.#reference
    const latest = this.#latest
    const splitFeature = this.#splitFeature
    const splitThreshold = this.#splitThreshold
    const nodesPerTree = this.#nodesPerTree
    const internalPerTree = this.#internalPerTree
    const sizeLimit = this.#sizeLimit
    const height = this.height
    let sum = 0
    for (let t = 0, nodeBase = 0, internalBase = 0; t < this.trees; t++) {
      let node = 0
      let weight = 1
      let depth = 0
      for (; depth < height; depth++) {
        const mass = reference[nodeBase + node]!
        sum += mass * weight
        if (mass < sizeLimit) break
        const value = x[splitFeature[internalBase + node]!]!
        const left = 2 * node + 1
        if (value < splitThreshold[internalBase + node]!) node = left
        else if (Number.isNaN(value) && latest[nodeBase + left]! >= latest[nodeBase + left + 1]!) node = left
        else node = left + 1
        weight *= 2
      }
      if (depth === height) sum += reference[nodeBase + node]! * weight
      nodeBase += nodesPerTree
      internalBase += internalPerTree
    }
    return 1 - sum / this.#maxScore
  }

  /**
   * `score(x)` then `learn(x)` in one walk of each tree (the path is the same): the score is
   * that of the trees before x is learned, exactly as the two calls give it.
   */
  scoreThenLearn(x: Float64Array): number {
    this.#check(x)
    const reference = this.#reference
    const latest = this.#latest
    const splitFeature = this.#splitFeature
    const splitThreshold = this.#splitThreshold
    const nodesPerTree = this.#nodesPerTree
    const internalPerTree = this.#internalPerTree
    const sizeLimit = this.#sizeLimit
    const height = this.height
    const firstWindow = this.#firstWindow
    let sum = 0
    for (let t = 0, nodeBase = 0, internalBase = 0; t < this.trees; t++) {
      let node = 0
      let weight = 1
      // scoring stops after the first node under the size limit; learning goes on to the leaf
      let scoring = !firstWindow
      for (let depth = 0; depth < height; depth++) {
        if (scoring) {
          const mass = reference[nodeBase + node]!
          sum += mass * weight
          if (mass < sizeLimit) scoring = false
          else weight *= 2
        }
        latest[nodeBase + node]!++
        const value = x[splitFeature[internalBase + node]!]!
        const left = 2 * node + 1
        if (value < splitThreshold[internalBase + node]!) node = left
        else if (Number.isNaN(value) && latest[nodeBase + left]! >= latest[nodeBase + left + 1]!) node = left
        else node = left + 1
      }
      if (scoring) sum += reference[nodeBase + node]! * weight
      latest[nodeBase + node]!++
      nodeBase += nodesPerTree
      internalBase += internalPerTree
    }
    this.#endOfLearn()
    return firstWindow ? 0 : 1 - sum / this.#maxScore
  }

  /**
   * Splits each tree's share of the score among the split features on x's path. The score's
   * deficit at depth d is (windowSize − mass_d)·2^d; mass falls from windowSize at the root to
   * mass_d through the splits above d, so the split at depth k is charged its mass drop times
   * the weights of all deeper levels. Levels cut off by the size limit count as mass 0; that
   * remainder is shared in proportion to the drops. Weights sum to `score(x)`, largest first.
   */
  explain(x: Float64Array, limit = this.dimensions): Contribution[] {
    this.#check(x)
    // scratch arrays are reused: explain runs once per scored event
    if (this.#explainWeights === undefined) {
      this.#explainWeights = new Float64Array(this.dimensions)
      this.#explainDrops = new Float64Array(this.height)
      this.#explainFeatures = new Int32Array(this.height)
    }
    const weights = this.#explainWeights
    weights.fill(0)
    if (!this.#firstWindow) {
      const reference = this.#reference
      const height = this.height
      const full = 2 ** (height + 1)
      const drops = this.#explainDrops!
      const features = this.#explainFeatures!
      for (let t = 0; t < this.trees; t++) {
        const nodeBase = t * this.#nodesPerTree
        const internalBase = t * this.#internalPerTree
        let node = 0
        let depth = 0
        let mass = reference[nodeBase]!
        // The root's mass is windowSize after any pivot; anything short of it is unattributable.
        let rootDeficit = (this.windowSize - mass) * (full - 1)
        for (; depth < height && mass >= this.#sizeLimit; depth++) {
          features[depth] = this.#splitFeature[internalBase + node]!
          node = this.#child(x, internalBase, nodeBase, node)
          const next = reference[nodeBase + node]!
          drops[depth] = mass - next
          weights[features[depth]!]! += (mass - next) * (full - 2 ** (depth + 1))
          mass = next
        }
        // Levels below an early stop contribute nothing to the sum: charge their missing mass.
        const cut = depth < height ? mass * (full - 2 ** (depth + 1)) : 0
        if (cut > 0) {
          let totalDrop = 0
          for (let k = 0; k < depth; k++) totalDrop += drops[k]!
          if (totalDrop > 0) for (let k = 0; k < depth; k++) weights[features[k]!]! += (cut * drops[k]!) / totalDrop
          else rootDeficit += cut
        }
        // A root short of a full window (never after a pivot) has no split to blame: spread evenly.
        if (rootDeficit > 0) for (let f = 0; f < this.dimensions; f++) weights[f]! += rootDeficit / this.dimensions
      }
      for (let f = 0; f < this.dimensions; f++) weights[f]! /= this.#maxScore
    }
    return topContributions(weights, this.featureNames, limit)
  }

  toJSON(): HalfSpaceTreesState {
    return {
      type: HALF_SPACE_TREES_TYPE,
      trees: this.trees,
      height: this.height,
      windowSize: this.windowSize,
      dimensions: this.dimensions,
      featureNames: [...this.featureNames],
      splitFeatures: Array.from(this.#splitFeature),
      splitThresholds: Array.from(this.#splitThreshold),
      latestMass: Array.from(this.#latest),
      referenceMass: Array.from(this.#reference),
      counter: this.#counter,
      firstWindow: this.#firstWindow,
    }
  }

  /** Rebuilds a detector from `toJSON()` output (also from a forest exported from River). */
  static fromJSON(state: DetectorState): HalfSpaceTrees {
    if (state.type !== HALF_SPACE_TREES_TYPE) throw badState(`type is ${JSON.stringify(state.type)}`)
    const s = state as HalfSpaceTreesState
    const detector = new HalfSpaceTrees({
      dimensions: s.dimensions,
      trees: s.trees,
      height: s.height,
      windowSize: s.windowSize,
      featureNames: s.featureNames,
    })
    const internal = detector.trees * detector.#internalPerTree
    const nodes = detector.trees * detector.#nodesPerTree
    const splitFeatures = numberArray(state, 'splitFeatures', internal, true)
    for (const feature of splitFeatures)
      if (feature < 0 || feature >= detector.dimensions) throw badState(`split feature ${feature} out of range`)
    detector.#splitFeature.set(splitFeatures)
    detector.#splitThreshold.set(numberArray(state, 'splitThresholds', internal, false))
    detector.#latest.set(numberArray(state, 'latestMass', nodes, true))
    detector.#reference.set(numberArray(state, 'referenceMass', nodes, true))
    if (!Number.isInteger(s.counter) || s.counter < 0 || s.counter >= detector.windowSize)
      throw badState(`counter must be an integer in 0..${detector.windowSize - 1}`)
    if (typeof s.firstWindow !== 'boolean') throw badState('firstWindow must be a boolean')
    detector.#counter = s.counter
    detector.#firstWindow = s.firstWindow
    return detector
  }
}

function badState(message: string): LookoutError {
  return new LookoutError(ErrorCodes.INPUT_INVALID, `half-space-trees state: ${message}`, {
    hint: 'load a state written by HalfSpaceTrees.toJSON()',
  })
}

function numberArray(state: DetectorState, field: string, length: number, integer: boolean): readonly number[] {
  const value = state[field]
  if (!Array.isArray(value) || value.length !== length) throw badState(`${field} must be an array of ${length} numbers`)
  for (const item of value)
    if (typeof item !== 'number' || !Number.isFinite(item) || (integer && !Number.isInteger(item)))
      throw badState(`${field} holds ${JSON.stringify(item)}, expected ${integer ? 'integers' : 'finite numbers'}`)
  return value as number[]
}

/** Rebuilds a detector from `toJSON()` output; the module-level twin of `HalfSpaceTrees.fromJSON`. */
export function fromJSON(state: DetectorState): HalfSpaceTrees {
  return HalfSpaceTrees.fromJSON(state)
}
