// Retraining on a window of recent enriched events: a candidate Isolation Forest trained on
// the older part, evaluated beside the live model on the newest held-out part. Shared by the
// train service, `lookout train` and `lookout eval --drift`, so all three decide alike.
import type { IsolationForest } from './anomaly/isolation-forest.ts'
import type { EventKind } from './features/index.ts'
import type { EnrichedEvent } from './pipeline/events.ts'
import { type Evaluation, evaluateForest, type TrainOptions, trainForest } from './training.ts'

export interface Candidate {
  forest: IsolationForest
  trainRows: number
  /** The candidate on the held-out newest events. */
  evaluation: Evaluation
  /** The live model on the same held-out events (undefined when there is none). */
  liveEvaluation: Evaluation | undefined
  /** Metrics in the shape of a model version's `metrics`. */
  metrics: Record<string, number | null>
}

export function trainCandidate(
  kind: EventKind,
  events: readonly EnrichedEvent[],
  live: IsolationForest | undefined,
  options: TrainOptions = {},
): Candidate {
  const ofKind = events.filter((event) => event.kind === kind)
  const { forest, evaluation, trainRows } = trainForest(kind, ofKind, options)
  const holdout = Math.floor(ofKind.length * (options.holdout ?? 0.2))
  const test = ofKind.slice(ofKind.length - holdout)
  const liveEvaluation = live && test.length ? evaluateForest(live, test) : undefined
  return {
    forest,
    trainRows,
    evaluation,
    liveEvaluation,
    metrics: {
      rocAuc: evaluation.rocAuc,
      averagePrecision: evaluation.averagePrecision,
      heldOutRows: evaluation.rows,
      heldOutLabelled: evaluation.labelled,
      parentRocAuc: liveEvaluation?.rocAuc ?? null,
      parentAveragePrecision: liveEvaluation?.averagePrecision ?? null,
    },
  }
}
