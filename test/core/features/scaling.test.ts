import assert from 'node:assert/strict'
import { test } from 'node:test'
import { flag, ratioLimit, ratioToAverage, signedLog1p } from '../../../src/core/features/scaling.ts'

test('signed log is 0 at 0, odd, and finite', () => {
  assert.equal(signedLog1p(0), 0)
  assert.equal(signedLog1p(Math.E - 1), 1)
  assert.equal(signedLog1p(-(Math.E - 1)), -1)
})

test('ratio to the average: 1 without history, clipped, finite with a zero average', () => {
  assert.equal(ratioToAverage(500, 0, 0), 1)
  assert.equal(ratioToAverage(300, 150, 4), 2)
  assert.equal(ratioToAverage(0, 0, 3), 1)
  assert.equal(ratioToAverage(5, 0, 3), ratioLimit)
  assert.equal(ratioToAverage(1e12, 1, 3), ratioLimit)
  assert.equal(flag(true) + flag(false), 1)
})
