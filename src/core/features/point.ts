// Features of a two-feature point. The points form one stream (one entity,
// `pointStreamKey`); each value is also expressed as a z-score against the stream's running
// mean and standard deviation before this point.

import type { Point } from '../events.ts'
import type { FeatureExtractor } from './extractor.ts'
import { allocateFeatures } from './feature-vector.ts'
import { defineSchema } from './schema.ts'
import { type WelfordState, welfordUpdate, welfordZScore } from './welford.ts'

export const pointStreamKey = 'points'

export const pointSchema = defineSchema(['x0', 'x1', 'x0_zscore', 'x1_zscore'] as const)

export interface PointState {
  readonly v: 1
  readonly x0: WelfordState
  readonly x1: WelfordState
}

export const pointEntityKey = (_event: Point): string => pointStreamKey

export const extractPoint: FeatureExtractor<Point, PointState> = (event, state, _t) => {
  const before = state?.v === 1 ? state : undefined
  const [x0, x1] = event.data
  const at = pointSchema.at
  const f = allocateFeatures(pointSchema.names.length)
  f[at.x0] = x0
  f[at.x1] = x1
  f[at.x0_zscore] = welfordZScore(before?.x0, x0)
  f[at.x1_zscore] = welfordZScore(before?.x1, x1)
  return { features: f, nextState: { v: 1, x0: welfordUpdate(before?.x0, x0), x1: welfordUpdate(before?.x1, x1) } }
}
