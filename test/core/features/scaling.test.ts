import assert from 'node:assert/strict'
import { test } from 'node:test'
import { merchantRisk, unknownMerchantRisk } from '../../../src/core/features/merchant-risk.ts'
import { flag, ratioLimit, ratioToAverage, signedLog1p } from '../../../src/core/features/scaling.ts'
import { defineSchema } from '../../../src/core/features/schema.ts'

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

test('merchant risk: transfers and crypto high, groceries low, unknown in the middle', () => {
  assert.ok(merchantRisk('crypto') > 0.8 && merchantRisk('wire_transfer') > 0.8)
  assert.ok(merchantRisk('grocery') < 0.1)
  assert.equal(merchantRisk('spaceships'), unknownMerchantRisk)
  assert.equal(merchantRisk('toString'), unknownMerchantRisk)
})

test('schema positions follow the names; duplicate names are refused', () => {
  const schema = defineSchema(['a', 'b', 'c'] as const)
  assert.deepEqual(schema.at, { a: 0, b: 1, c: 2 })
  assert.throws(() => defineSchema(['a', 'a']))
})
