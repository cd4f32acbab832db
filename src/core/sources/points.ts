// Two-feature points with injected outliers. Distributions follow the
// seed: inliers are 0.3·N(0, I) shifted by +2 or −2 on both axes (two tight clusters at
// (2, 2) and (−2, −2)); outliers are uniform on [−4, 4]². An outlier can land inside a
// cluster: the label says which distribution a point came from, not how it looks.

import type { Point } from '../events.ts'
import { Random } from '../random.ts'

export const pointDefaults = {
  /** Share of points drawn from the outlier distribution. */
  outlierProbability: 0.2,
  clusterOffset: 2,
  clusterStd: 0.3,
  outlierBound: 4,
  /** Values are rounded to 3 decimals, both kinds, so precision cannot leak the label. */
  decimals: 3,
} as const

export interface PointGeneratorOptions {
  seed: number
  outlierProbability?: number
  /** Id of the first point; ids count from 0 by default. */
  firstId?: number
}

export class PointGenerator {
  readonly #random: Random
  readonly #outlierProbability: number
  #nextId: number

  constructor(options: PointGeneratorOptions) {
    const probability = options.outlierProbability ?? pointDefaults.outlierProbability
    if (!(probability >= 0 && probability <= 1)) {
      throw new RangeError(`outlierProbability must be in [0, 1], got ${probability}`)
    }
    this.#random = new Random(options.seed)
    this.#outlierProbability = probability
    this.#nextId = options.firstId ?? 0
  }

  get nextId(): number {
    return this.#nextId
  }

  /** The next point; `nowMs` is the caller's clock and becomes current_time (UTC ISO-8601). */
  next(nowMs: number): Point {
    const random = this.#random
    const outlier = random.bernoulli(this.#outlierProbability)
    let x: number
    let y: number
    if (outlier) {
      const bound = pointDefaults.outlierBound
      x = random.uniform(-bound, bound)
      y = random.uniform(-bound, bound)
    } else {
      const offset = random.bernoulli(0.5) ? pointDefaults.clusterOffset : -pointDefaults.clusterOffset
      x = random.normal(offset, pointDefaults.clusterStd)
      y = random.normal(offset, pointDefaults.clusterStd)
    }
    return {
      kind: 'point',
      id: this.#nextId++,
      data: [round3(x), round3(y)],
      current_time: new Date(nowMs).toISOString(),
      anomaly_label: outlier ? 1 : 0,
    }
  }
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000
}
