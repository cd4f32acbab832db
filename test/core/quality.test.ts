import assert from 'node:assert/strict'
import { test } from 'node:test'
import { averagePrecision, prAuc, precisionRecallF1, rocAuc } from '../../src/core/quality.ts'

// Reference figures from scikit-learn 1.9 (roc_auc_score, average_precision_score,
// precision_recall_fscore_support) on the same inputs.
const scores = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4]
const labels = [false, false, true, true, true, false, false, true]

test('rocAuc matches scikit-learn, ties counting one half', () => {
  assert.equal(rocAuc(scores, labels), 0.625)
})

test('averagePrecision (PR-AUC) matches scikit-learn, ties as one threshold', () => {
  assert.ok(Math.abs(averagePrecision(scores, labels) - 0.5916666666666667) < 1e-15)
  assert.equal(prAuc, averagePrecision)
})

test('perfect and inverted rankings', () => {
  assert.equal(rocAuc([1, 2, 3, 4], [0, 0, 1, 1]), 1)
  assert.equal(rocAuc([4, 3, 2, 1], [0, 0, 1, 1]), 0)
  assert.equal(averagePrecision([1, 2, 3, 4], [0, 0, 1, 1]), 1)
  assert.equal(rocAuc([5, 5, 5, 5], [0, 1, 0, 1]), 0.5)
})

test('undefined metrics are NaN rather than a misleading number', () => {
  assert.ok(Number.isNaN(rocAuc([1, 2], [true, true])))
  assert.ok(Number.isNaN(averagePrecision([1, 2], [false, false])))
})

test('precisionRecallF1 counts the confusion matrix and matches scikit-learn', () => {
  const result = precisionRecallF1([1, 0, 1, 1, 0, 1, 0, 0], labels)
  assert.deepEqual(result, {
    precision: 0.5,
    recall: 0.5,
    f1: 0.5,
    truePositives: 2,
    falsePositives: 2,
    falseNegatives: 2,
    trueNegatives: 2,
  })
  assert.deepEqual(precisionRecallF1([false, false], [false, true]).precision, 0)
})

test('length mismatch and NaN scores are errors', () => {
  assert.throws(() => rocAuc([1, 2], [true]), /differ in length/)
  assert.throws(() => rocAuc([1, Number.NaN], [true, false]), /NaN/)
})
