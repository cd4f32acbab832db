import assert from 'node:assert/strict'
import { test } from 'node:test'
import { PageHinkley } from '../../../src/core/drift/page-hinkley.ts'
import { Random } from '../../../src/core/random.ts'
import { ErrorCodes, LookoutError } from '../../../src/errors.ts'
import { driftContract, driftIndices, trace } from './contract.ts'

/** Normal values with mean `before` for `change` steps, then `after`. */
function shiftStream(seed: number, change: number, length: number, before: number, after: number): number[] {
  const random = new Random(seed)
  return Array.from({ length }, (_, i) => random.normal(i < change ? before : after, 1))
}

const meanUp = shiftStream(1, 1000, 2000, 0, 3)
const meanDown = shiftStream(101, 1000, 2000, 0, -1)

driftContract('PageHinkley', {
  create: () => new PageHinkley(),
  fromJSON: (state) => PageHinkley.fromJSON(state),
  stream: meanUp,
})
driftContract('PageHinkley(down)', {
  create: () => new PageHinkley({ mode: 'down' }),
  fromJSON: (state) => PageHinkley.fromJSON(state),
  stream: meanDown,
})

test('PageHinkley: N(0,1) → N(3,1) at 1000 is detected at 1012, about threshold / shift later', () => {
  assert.deepEqual(driftIndices(new PageHinkley(), meanUp), [1012])
})

test('PageHinkley: N(0,1) → N(-1,1) at 1000 is detected at 1037', () => {
  assert.deepEqual(driftIndices(new PageHinkley(), meanDown), [1037])
})

test('PageHinkley: mode up ignores a decrease, mode down sees it', () => {
  assert.deepEqual(driftIndices(new PageHinkley({ mode: 'up' }), meanDown), [])
  assert.deepEqual(driftIndices(new PageHinkley({ mode: 'down' }), meanDown), [1037])
  assert.deepEqual(driftIndices(new PageHinkley({ mode: 'down' }), meanUp), [])
})

test('PageHinkley: at the drift the increase statistic passes the threshold, then it starts afresh', () => {
  const detector = new PageHinkley()
  trace(detector, meanUp.slice(0, 1013))
  assert.equal(detector.drift, true)
  const statistic = detector.statistic
  assert.ok(statistic['increase']! > 50)
  assert.ok(statistic['decrease']! <= 50)
  assert.equal(statistic['n'], 1013)
  detector.update(3)
  assert.equal(detector.drift, false)
  assert.equal(detector.statistic['n'], 1)
  assert.equal(detector.statistic['mean'], 3)
})

test('PageHinkley: nothing is signalled before minInstances values', () => {
  const steps = trace(new PageHinkley({ minInstances: 30, threshold: 1 }), [
    ...Array(10).fill(0),
    ...Array(19).fill(100),
  ])
  assert.ok(steps.every((step) => !step.drift))
  const detector = new PageHinkley({ minInstances: 30, threshold: 1 })
  trace(detector, [...Array(10).fill(0), ...Array(20).fill(100)])
  assert.equal(detector.drift, true)
})

test('PageHinkley: no warning zone', () => {
  assert.ok(trace(new PageHinkley(), meanUp).every((step) => !step.warning))
})

test('PageHinkley: options are validated with a coded error that names the option', () => {
  for (const options of [
    { minInstances: 0 },
    { threshold: 0 },
    { alpha: 1.5 },
    { delta: -1 },
    { mode: 'sideways' as 'up' },
  ]) {
    assert.throws(
      () => new PageHinkley(options),
      (error: unknown) => error instanceof LookoutError && error.code === ErrorCodes.CONFIG_INVALID,
    )
  }
  assert.throws(() => new PageHinkley({ mode: 'sideways' as 'up' }), /mode/)
  assert.throws(() => new PageHinkley().update(Number.POSITIVE_INFINITY), LookoutError)
})
