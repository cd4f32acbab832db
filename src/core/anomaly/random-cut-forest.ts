// Streaming Random Cut Forest (Guha, Mishra, Roy & Schrijvers, ICML 2016) with shingling.
//
// - Shingling: the point the forest sees is the last `shingleSize` input vectors concatenated,
//   oldest first, so a series' shape (a spike, a changed rhythm) is part of the point.
// - Every tree holds the same sliding window, the last `sampleSize` shingled points (as rrcf's
//   streaming example does): learning deletes the oldest point and inserts the new one. Cuts are
//   random per tree: a dimension with probability proportional to the span of the node's
//   bounding box (extended by the new point), a value uniform in that span.
// - Scoring (as AWS's RCF AnomalyScoreVisitor, before its log2(mass + 1) scaling, so the range
//   is [0, 1]): walk x's path to a leaf at depth D; start at 1/(D + 1) (or, when x equals the
//   leaf's point, a damped 1/(D + log2(leafMass + 1))); then, up the path, at each node at depth
//   d with probability p that a random cut of its box extended by x separates x,
//   s ← p/(d + 1) + (1 − p)·s. Average over trees. Far from the data: near 1; deep inside: small.
//   `score` never inserts, so it cannot change the forest.
//
// Node data lives in typed arrays sized at construction (a tree of n points has at most n − 1
// internal nodes and n leaves); learn and score allocate nothing.

import { ErrorCodes, LookoutError } from '../../errors.ts'
import { Random, type RandomState } from '../random.ts'
import type { Contribution, Detector, DetectorState } from './detector.ts'
import { optionError, positiveIntegerOption } from './options.ts'

export const RANDOM_CUT_FOREST_TYPE = 'random-cut-forest'

export interface RandomCutForestOptions {
  /** Features per input vector. */
  dimensions: number
  /** Input vectors concatenated into one point. Default 1 (no shingling). */
  shingleSize?: number
  /** Default 30. */
  trees?: number
  /** Points in the sliding window every tree holds. Default 256. */
  sampleSize?: number
  /** Default 0. */
  seed?: number
  /** Names used by `explain`, one per input feature; default `x0`, `x1`, … */
  featureNames?: readonly string[]
}

interface TreeState {
  readonly root: number
  readonly free: readonly number[]
  readonly leaf: readonly number[]
  readonly left: readonly number[]
  readonly right: readonly number[]
  readonly parent: readonly number[]
  readonly cutDimension: readonly number[]
  readonly cutValue: readonly number[]
  readonly mass: readonly number[]
  readonly leafSlot: readonly number[]
  readonly leafOf: readonly number[]
  readonly random: RandomState
}

export interface RandomCutForestState extends DetectorState {
  readonly type: typeof RANDOM_CUT_FOREST_TYPE
  readonly dimensions: number
  readonly shingleSize: number
  readonly trees: number
  readonly sampleSize: number
  readonly featureNames: readonly string[]
  /** The last `shingleSize` input vectors (ring), the next write position and how many were learned. */
  readonly shingle: readonly number[]
  readonly shingleHead: number
  readonly learned: number
  /** The window of shingled points (ring), its next write position and fill. */
  readonly points: readonly number[]
  readonly pointsHead: number
  readonly pointsCount: number
  readonly forest: readonly TreeState[]
}

const invalid = (setting: string, value: unknown, allowed: string) =>
  optionError('random-cut-forest', setting, value, allowed)
const positiveInteger = (setting: string, value: number, max: number) =>
  positiveIntegerOption('random-cut-forest', setting, value, max)

/** One tree over the shared window of points; nodes 0..2n−1, leaves flagged. */
class CutTree {
  readonly random: Random
  readonly #points: Float64Array
  readonly #dims: number
  readonly #capacity: number
  root = -1
  readonly isLeaf: Uint8Array
  readonly left: Int32Array
  readonly right: Int32Array
  readonly parent: Int32Array
  readonly cutDimension: Int32Array
  readonly cutValue: Float64Array
  readonly mass: Int32Array
  /** A window slot holding the leaf's point. */
  readonly leafSlot: Int32Array
  /** The leaf holding each window slot's point. */
  readonly leafOf: Int32Array
  readonly boxMin: Float64Array
  readonly boxMax: Float64Array
  readonly free: Int32Array
  freeCount: number
  readonly #spans: Float64Array

  constructor(random: Random, points: Float64Array, dims: number, capacity: number) {
    this.random = random
    this.#points = points
    this.#dims = dims
    this.#capacity = capacity
    const nodes = 2 * capacity
    this.isLeaf = new Uint8Array(nodes)
    this.left = new Int32Array(nodes).fill(-1)
    this.right = new Int32Array(nodes).fill(-1)
    this.parent = new Int32Array(nodes).fill(-1)
    this.cutDimension = new Int32Array(nodes)
    this.cutValue = new Float64Array(nodes)
    this.mass = new Int32Array(nodes)
    this.leafSlot = new Int32Array(nodes).fill(-1)
    this.leafOf = new Int32Array(capacity).fill(-1)
    this.boxMin = new Float64Array(nodes * dims)
    this.boxMax = new Float64Array(nodes * dims)
    this.#spans = new Float64Array(dims)
    this.free = new Int32Array(nodes)
    // Pop order 0, 1, 2, …: the stack holds ids in reverse.
    for (let i = 0; i < nodes; i++) this.free[i] = nodes - 1 - i
    this.freeCount = nodes
  }

  #allocate(): number {
    return this.free[--this.freeCount]!
  }

  #release(node: number): void {
    this.isLeaf[node] = 0
    this.left[node] = -1
    this.right[node] = -1
    this.parent[node] = -1
    this.leafSlot[node] = -1
    this.mass[node] = 0
    this.free[this.freeCount++] = node
  }

  /** Whether the leaf's point equals `point` (at `offset` in `source`). */
  equalsLeaf(node: number, source: Float64Array, offset: number): boolean {
    const base = node * this.#dims
    for (let k = 0; k < this.#dims; k++) if (this.boxMin[base + k] !== source[offset + k]) return false
    return true
  }

  /** A leaf's box is its point: copied in so that every box read is one array access. */
  #makeLeaf(slot: number): number {
    const leaf = this.#allocate()
    this.isLeaf[leaf] = 1
    this.leafSlot[leaf] = slot
    this.mass[leaf] = 1
    this.leafOf[slot] = leaf
    const dims = this.#dims
    for (let k = 0; k < dims; k++) {
      const value = this.#points[slot * dims + k]!
      this.boxMin[leaf * dims + k] = value
      this.boxMax[leaf * dims + k] = value
    }
    return leaf
  }

  #replaceChild(parent: number, from: number, to: number): void {
    if (parent === -1) this.root = to
    else if (this.left[parent] === from) this.left[parent] = to
    else this.right[parent] = to
    this.parent[to] = parent
  }

  /** Sets a node's box to the union of its children's; returns whether it changed. */
  #setBoxFromChildren(node: number): boolean {
    const dims = this.#dims
    const boxMin = this.boxMin
    const boxMax = this.boxMax
    const a = this.left[node]! * dims
    const b = this.right[node]! * dims
    const n = node * dims
    let changed = false
    for (let k = 0; k < dims; k++) {
      const low = Math.min(boxMin[a + k]!, boxMin[b + k]!)
      const high = Math.max(boxMax[a + k]!, boxMax[b + k]!)
      if (low !== boxMin[n + k] || high !== boxMax[n + k]) changed = true
      boxMin[n + k] = low
      boxMax[n + k] = high
    }
    return changed
  }

  insert(slot: number): void {
    const dims = this.#dims
    const points = this.#points
    const offset = slot * dims
    if (this.root === -1) {
      this.root = this.#makeLeaf(slot)
      this.parent[this.root] = -1
      return
    }
    const boxMin = this.boxMin
    const boxMax = this.boxMax
    const spans = this.#spans
    let node = this.root
    for (;;) {
      if (this.isLeaf[node] && this.equalsLeaf(node, points, offset)) {
        this.mass[node]!++
        this.leafOf[slot] = node
        return
      }
      const n = node * dims
      let total = 0
      for (let k = 0; k < dims; k++) {
        const value = points[offset + k]!
        const span = Math.max(boxMax[n + k]!, value) - Math.min(boxMin[n + k]!, value)
        spans[k] = span
        total += span
      }
      let r = this.random.next() * total
      let cutDimension = -1
      let lastSpanning = 0
      for (let k = 0; k < dims; k++) {
        const span = spans[k]!
        if (span > 0) lastSpanning = k
        if (r < span) {
          cutDimension = k
          break
        }
        r -= span
      }
      if (cutDimension === -1) {
        // Rounding left r past the last span: cut at the bottom of the last spanning dimension.
        cutDimension = lastSpanning
        r = 0
      }
      const value = points[offset + cutDimension]!
      const low = boxMin[n + cutDimension]!
      const high = boxMax[n + cutDimension]!
      const cut = Math.min(low, value) + r
      const leafGoesLeft = value <= cut && cut < low
      if (leafGoesLeft || (high <= cut && cut < value)) {
        const leaf = this.#makeLeaf(slot)
        const branch = this.#allocate()
        this.isLeaf[branch] = 0
        this.cutDimension[branch] = cutDimension
        this.cutValue[branch] = cut
        this.mass[branch] = this.mass[node]! + 1
        this.#replaceChild(this.parent[node]!, node, branch)
        this.left[branch] = leafGoesLeft ? leaf : node
        this.right[branch] = leafGoesLeft ? node : leaf
        this.parent[node] = branch
        this.parent[leaf] = branch
        this.#setBoxFromChildren(branch)
        return
      }
      // The cut falls inside the node's box: the point joins this subtree.
      this.mass[node]!++
      for (let k = 0; k < dims; k++) {
        const v = points[offset + k]!
        if (v < boxMin[n + k]!) boxMin[n + k] = v
        if (v > boxMax[n + k]!) boxMax[n + k] = v
      }
      node = points[offset + this.cutDimension[node]!]! <= this.cutValue[node]! ? this.left[node]! : this.right[node]!
    }
  }

  remove(slot: number): void {
    const leaf = this.leafOf[slot]!
    this.leafOf[slot] = -1
    if (this.mass[leaf]! > 1) {
      for (let node = leaf; node !== -1; node = this.parent[node]!) this.mass[node]!--
      // Duplicates share a leaf (its point is copied in its box); note a slot still in the window.
      if (this.leafSlot[leaf] === slot) this.leafSlot[leaf] = this.leafOf.indexOf(leaf)
      return
    }
    const parent = this.parent[leaf]!
    this.#release(leaf)
    if (parent === -1) {
      this.root = -1
      return
    }
    const sibling = this.left[parent] === leaf ? this.right[parent]! : this.left[parent]!
    const grandparent = this.parent[parent]!
    this.#release(parent)
    this.#replaceChild(grandparent, parent, sibling)
    // Boxes above stop shrinking at the first one that did not change.
    let shrinking = true
    for (let node = grandparent; node !== -1; node = this.parent[node]!) {
      this.mass[node]!--
      if (shrinking) shrinking = this.#setBoxFromChildren(node)
    }
  }

  /** Recomputes every box bottom-up (after loading a state, where boxes are not stored). */
  rebuildBoxes(node = this.root): void {
    if (node === -1) return
    if (this.isLeaf[node]) {
      const dims = this.#dims
      const from = this.#points.subarray(this.leafSlot[node]! * dims, (this.leafSlot[node]! + 1) * dims)
      this.boxMin.set(from, node * dims)
      this.boxMax.set(from, node * dims)
      return
    }
    this.rebuildBoxes(this.left[node]!)
    this.rebuildBoxes(this.right[node]!)
    this.#setBoxFromChildren(node)
  }

  /**
   * This tree's score of `point`; when `attribution` is given, adds each dimension's share of
   * the score to it (the leaf's base spread evenly, each update split by the gap per dimension).
   */
  score(point: Float64Array, path: Int32Array, attribution?: Float64Array): number {
    if (this.root === -1) return 0
    const dims = this.#dims
    let node = this.root
    let depth = 0
    while (!this.isLeaf[node]) {
      path[depth++] = node
      node = point[this.cutDimension[node]!]! <= this.cutValue[node]! ? this.left[node]! : this.right[node]!
    }
    let score: number
    if (this.equalsLeaf(node, point, 0)) {
      const leafMass = this.mass[node]!
      score = (1 - leafMass / (2 * this.mass[this.root]!)) / (depth + Math.log2(leafMass + 1))
    } else score = 1 / (depth + 1)
    if (attribution) for (let k = 0; k < dims; k++) attribution[k]! += score / dims
    for (let d = depth - 1; d >= 0; d--) {
      const at = path[d]!
      let gap = 0
      let range = 0
      for (let k = 0; k < dims; k++) {
        const value = point[k]!
        const low = this.boxMin[at * dims + k]!
        const high = this.boxMax[at * dims + k]!
        if (value < low) gap += low - value
        else if (value > high) gap += value - high
        range += Math.max(high, value) - Math.min(low, value)
      }
      if (gap === 0) continue
      const separation = gap / range
      const change = separation * (1 / (d + 1) - score)
      if (attribution)
        for (let k = 0; k < dims; k++) {
          const value = point[k]!
          const low = this.boxMin[at * dims + k]!
          const high = this.boxMax[at * dims + k]!
          const own = value < low ? low - value : value > high ? value - high : 0
          attribution[k]! += (change * own) / gap
        }
      score += change
    }
    return score
  }

  toJSON(): TreeState {
    return {
      root: this.root,
      free: Array.from(this.free.subarray(0, this.freeCount)),
      leaf: Array.from(this.isLeaf),
      left: Array.from(this.left),
      right: Array.from(this.right),
      parent: Array.from(this.parent),
      cutDimension: Array.from(this.cutDimension),
      cutValue: Array.from(this.cutValue),
      mass: Array.from(this.mass),
      leafSlot: Array.from(this.leafSlot),
      leafOf: Array.from(this.leafOf),
      random: this.random.state(),
    }
  }

  restore(state: TreeState): void {
    const nodes = 2 * this.#capacity
    const check = (field: keyof TreeState, length: number) => {
      const value = state[field]
      if (!Array.isArray(value) || value.length !== length || value.some((v) => typeof v !== 'number'))
        throw badState(`tree ${field} must be an array of ${length} numbers`)
      return value as number[]
    }
    this.isLeaf.set(check('leaf', nodes))
    this.left.set(check('left', nodes))
    this.right.set(check('right', nodes))
    this.parent.set(check('parent', nodes))
    this.cutDimension.set(check('cutDimension', nodes))
    this.cutValue.set(check('cutValue', nodes))
    this.mass.set(check('mass', nodes))
    this.leafSlot.set(check('leafSlot', nodes))
    this.leafOf.set(check('leafOf', this.#capacity))
    const free = state.free
    if (!Array.isArray(free) || free.length > nodes) throw badState('tree free list is malformed')
    this.free.set(free)
    this.freeCount = free.length
    if (!Number.isInteger(state.root) || state.root < -1 || state.root >= nodes)
      throw badState('tree root is malformed')
    this.root = state.root
    this.rebuildBoxes()
  }
}

function badState(message: string): LookoutError {
  return new LookoutError(ErrorCodes.INPUT_INVALID, `random-cut-forest state: ${message}`, {
    hint: 'load a state written by RandomCutForest.toJSON()',
  })
}

export class RandomCutForest implements Detector {
  readonly name = RANDOM_CUT_FOREST_TYPE
  readonly dimensions: number
  readonly shingleSize: number
  readonly trees: number
  readonly sampleSize: number
  readonly featureNames: readonly string[]

  /** Dimensions of a shingled point. */
  readonly #pointDims: number
  readonly #shingle: Float64Array
  #shingleHead = 0
  #learned = 0
  readonly #points: Float64Array
  #pointsHead = 0
  #pointsCount = 0
  readonly #forest: CutTree[]
  // Scratch reused by every call.
  readonly #point: Float64Array
  readonly #path: Int32Array

  constructor(options: RandomCutForestOptions) {
    this.dimensions = positiveInteger('dimensions', options.dimensions, 1 << 16)
    this.shingleSize = positiveInteger('shingleSize', options.shingleSize ?? 1, 1024)
    this.trees = positiveInteger('trees', options.trees ?? 30, 1000)
    this.sampleSize = positiveInteger('sampleSize', options.sampleSize ?? 256, 1 << 16)
    if (options.featureNames !== undefined && options.featureNames.length !== this.dimensions)
      throw invalid('featureNames', `${options.featureNames.length} names`, `${this.dimensions} names`)
    this.featureNames = Object.freeze(
      options.featureNames ? [...options.featureNames] : Array.from({ length: this.dimensions }, (_, i) => `x${i}`),
    )
    this.#pointDims = this.dimensions * this.shingleSize
    this.#shingle = new Float64Array(this.#pointDims)
    this.#points = new Float64Array(this.sampleSize * this.#pointDims)
    this.#point = new Float64Array(this.#pointDims)
    this.#path = new Int32Array(this.sampleSize)
    const random = new Random(options.seed ?? 0)
    this.#forest = Array.from(
      { length: this.trees },
      () => new CutTree(random.fork(), this.#points, this.#pointDims, this.sampleSize),
    )
  }

  #check(x: Float64Array): void {
    if (x.length !== this.dimensions)
      throw new LookoutError(
        ErrorCodes.INPUT_INVALID,
        `random-cut-forest: got a vector of ${x.length} features, the model has ${this.dimensions}`,
      )
    for (let k = 0; k < x.length; k++)
      if (!Number.isFinite(x[k]!))
        throw new LookoutError(ErrorCodes.INPUT_INVALID, `random-cut-forest: feature ${k} is ${x[k]}, not finite`)
  }

  /** Fills the scratch point with the previous shingleSize − 1 inputs followed by x. */
  #shingled(x: Float64Array): void {
    const d = this.dimensions
    const older = this.shingleSize - 1
    // The oldest kept input sits at shingleHead + 1 (the head slot holds the one about to drop).
    for (let i = 0; i < older; i++) {
      const slot = (this.#shingleHead + 1 + i) % this.shingleSize
      for (let k = 0; k < d; k++) this.#point[i * d + k] = this.#shingle[slot * d + k]!
    }
    this.#point.set(x, older * d)
  }

  learn(x: Float64Array): void {
    this.#check(x)
    this.#shingled(x)
    this.#shingle.set(x, this.#shingleHead * this.dimensions)
    this.#shingleHead = (this.#shingleHead + 1) % this.shingleSize
    this.#learned++
    if (this.#learned < this.shingleSize) return
    const slot = this.#pointsHead
    if (this.#pointsCount === this.sampleSize) for (const tree of this.#forest) tree.remove(slot)
    this.#points.set(this.#point, slot * this.#pointDims)
    for (const tree of this.#forest) tree.insert(slot)
    this.#pointsHead = (slot + 1) % this.sampleSize
    if (this.#pointsCount < this.sampleSize) this.#pointsCount++
  }

  /** Range [0, 1]; 0 until a full shingle has been learned. */
  score(x: Float64Array): number {
    this.#check(x)
    if (this.#learned < this.shingleSize) return 0
    this.#shingled(x)
    let sum = 0
    for (const tree of this.#forest) sum += tree.score(this.#point, this.#path)
    return sum / this.trees
  }

  /** Each input feature's share of the score, summed over shingle positions; weights sum to `score(x)`. */
  explain(x: Float64Array): Contribution[] {
    this.#check(x)
    const perDimension = new Float64Array(this.#pointDims)
    if (this.#learned >= this.shingleSize) {
      this.#shingled(x)
      for (const tree of this.#forest) tree.score(this.#point, this.#path, perDimension)
    }
    const contributions: Contribution[] = this.featureNames.map((feature, f) => {
      let weight = 0
      for (let lag = 0; lag < this.shingleSize; lag++) weight += perDimension[lag * this.dimensions + f]!
      return { feature, weight: weight / this.trees }
    })
    return contributions.sort((a, b) => b.weight - a.weight)
  }

  toJSON(): RandomCutForestState {
    return {
      type: RANDOM_CUT_FOREST_TYPE,
      dimensions: this.dimensions,
      shingleSize: this.shingleSize,
      trees: this.trees,
      sampleSize: this.sampleSize,
      featureNames: [...this.featureNames],
      shingle: Array.from(this.#shingle),
      shingleHead: this.#shingleHead,
      learned: this.#learned,
      points: Array.from(this.#points),
      pointsHead: this.#pointsHead,
      pointsCount: this.#pointsCount,
      forest: this.#forest.map((tree) => tree.toJSON()),
    }
  }

  static fromJSON(state: DetectorState): RandomCutForest {
    if (state.type !== RANDOM_CUT_FOREST_TYPE) throw badState(`type is ${JSON.stringify(state.type)}`)
    const s = state as RandomCutForestState
    const detector = new RandomCutForest({
      dimensions: s.dimensions,
      shingleSize: s.shingleSize,
      trees: s.trees,
      sampleSize: s.sampleSize,
      featureNames: s.featureNames,
    })
    const numbers = (value: unknown, length: number, field: string) => {
      if (!Array.isArray(value) || value.length !== length || value.some((v) => typeof v !== 'number'))
        throw badState(`${field} must be an array of ${length} numbers`)
      return value as number[]
    }
    detector.#shingle.set(numbers(s.shingle, detector.#pointDims, 'shingle'))
    detector.#points.set(numbers(s.points, detector.#points.length, 'points'))
    if (!Array.isArray(s.forest) || s.forest.length !== detector.trees)
      throw badState(`forest must hold ${detector.trees} trees`)
    for (const [i, tree] of s.forest.entries()) {
      const restored = new CutTree(new Random(tree.random), detector.#points, detector.#pointDims, detector.sampleSize)
      restored.restore(tree)
      detector.#forest[i] = restored
    }
    detector.#shingleHead = s.shingleHead
    detector.#learned = s.learned
    detector.#pointsHead = s.pointsHead
    detector.#pointsCount = s.pointsCount
    return detector
  }
}

/** Rebuilds a detector from `toJSON()` output; the module-level twin of `RandomCutForest.fromJSON`. */
export function fromJSON(state: DetectorState): RandomCutForest {
  return RandomCutForest.fromJSON(state)
}
