// Quality metrics for detectors against labels: precision / recall / F1 at a threshold, and
// the threshold-free ROC-AUC and average precision (PR-AUC). Definitions match
// scikit-learn's `precision_recall_fscore_support` (binary, zero_division=0),
// `roc_auc_score` and `average_precision_score`, so figures can be compared directly.

/** A label or prediction: true / nonzero = anomalous (the positive class). */
export type Flag = boolean | number

export interface Confusion {
  readonly truePositives: number
  readonly falsePositives: number
  readonly falseNegatives: number
  readonly trueNegatives: number
}

export interface PrecisionRecallF1 extends Confusion {
  /** TP / (TP + FP); 0 when nothing was predicted positive. */
  readonly precision: number
  /** TP / (TP + FN); 0 when there are no positives. */
  readonly recall: number
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  readonly f1: number
}

export function precisionRecallF1(predictions: ArrayLike<Flag>, labels: ArrayLike<Flag>): PrecisionRecallF1 {
  checkLengths(predictions.length, labels.length)
  let truePositives = 0
  let falsePositives = 0
  let falseNegatives = 0
  let trueNegatives = 0
  for (let i = 0; i < labels.length; i++) {
    const predicted = Boolean(predictions[i])
    const actual = Boolean(labels[i])
    if (predicted && actual) truePositives++
    else if (predicted) falsePositives++
    else if (actual) falseNegatives++
    else trueNegatives++
  }
  const precision = truePositives + falsePositives === 0 ? 0 : truePositives / (truePositives + falsePositives)
  const recall = truePositives + falseNegatives === 0 ? 0 : truePositives / (truePositives + falseNegatives)
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall)
  return { precision, recall, f1, truePositives, falsePositives, falseNegatives, trueNegatives }
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting one half (Mann–Whitney U with average ranks). NaN when either
 * class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<Flag>): number {
  checkLengths(scores.length, labels.length)
  const order = sortedOrder(scores)
  let positives = 0
  let positiveRankSum = 0
  // Walk groups of tied scores; every member of a group gets the group's average rank.
  for (let start = 0; start < order.length; ) {
    let end = start + 1
    while (end < order.length && scores[order[end]!] === scores[order[start]!]) end++
    const averageRank = (start + 1 + end) / 2
    for (let i = start; i < end; i++)
      if (labels[order[i]!]) {
        positives++
        positiveRankSum += averageRank
      }
    start = end
  }
  const negatives = order.length - positives
  if (positives === 0 || negatives === 0) return Number.NaN
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}

/**
 * Average precision, the step-wise area under the precision–recall curve:
 * Σ (R_k − R_{k−1}) · P_k over thresholds at each distinct score, highest first (ties are
 * one threshold). NaN when there are no positives.
 */
export function averagePrecision(scores: ArrayLike<number>, labels: ArrayLike<Flag>): number {
  checkLengths(scores.length, labels.length)
  let positives = 0
  for (let i = 0; i < labels.length; i++) if (labels[i]) positives++
  if (positives === 0) return Number.NaN
  const order = sortedOrder(scores)
  let truePositives = 0
  let seen = 0
  let area = 0
  let previousRecall = 0
  for (let end = order.length; end > 0; ) {
    let start = end - 1
    while (start > 0 && scores[order[start - 1]!] === scores[order[end - 1]!]) start--
    for (let i = start; i < end; i++) if (labels[order[i]!]) truePositives++
    seen += end - start
    const recall = truePositives / positives
    area += (recall - previousRecall) * (truePositives / seen)
    previousRecall = recall
    end = start
  }
  return area
}

/** PR-AUC as average precision (the step-wise estimate, without interpolation). */
export const prAuc = averagePrecision

/** Indices of `scores` in ascending score order. */
function sortedOrder(scores: ArrayLike<number>): Uint32Array {
  const order = new Uint32Array(scores.length)
  for (let i = 0; i < order.length; i++) {
    if (Number.isNaN(scores[i])) throw new RangeError(`score ${i} is NaN`)
    order[i] = i
  }
  return order.sort((a, b) => scores[a]! - scores[b]! || a - b)
}

function checkLengths(a: number, b: number): void {
  if (a !== b) throw new RangeError(`scores/predictions (${a}) and labels (${b}) differ in length`)
}
