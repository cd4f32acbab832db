import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ADWIN } from '../../../src/core/drift/adwin.ts'
import { Random } from '../../../src/core/random.ts'
import { ErrorCodes, LookoutError } from '../../../src/errors.ts'
import { driftContract, driftIndices, trace } from './contract.ts'

/** Normal values with mean `before` for `change` steps, then `after`. */
function shiftStream(seed: number, change: number, length: number, before: number, after: number, std = 1): number[] {
  const random = new Random(seed)
  return Array.from({ length }, (_, i) => random.normal(i < change ? before : after, std))
}

const meanUp = shiftStream(1, 1000, 2000, 0, 3)
const meanDown = shiftStream(101, 1000, 2000, 0, -1)

driftContract('ADWIN', { create: () => new ADWIN(), fromJSON: (state) => ADWIN.fromJSON(state), stream: meanUp })
driftContract('ADWIN(clock=1)', {
  create: () => new ADWIN({ clock: 1 }),
  fromJSON: (state) => ADWIN.fromJSON(state),
  stream: meanDown,
})

test('ADWIN: N(0,1) → N(3,1) at 1000 is detected at 1023, the first check after the change', () => {
  // with clock 32 the window is tested only at indices 31, 63, …, 1023
  assert.deepEqual(driftIndices(new ADWIN(), meanUp), [1023])
})

test('ADWIN: checking every update (clock 1) finds the same shift sooner', () => {
  const drifts = driftIndices(new ADWIN({ clock: 1 }), meanUp)
  assert.deepEqual(drifts, [1009])
})

test('ADWIN: N(0,1) → N(-1,1) at 1000 is detected at 1055 (clock 32) and 1030 (clock 1)', () => {
  assert.deepEqual(driftIndices(new ADWIN(), meanDown), [1055])
  assert.deepEqual(driftIndices(new ADWIN({ clock: 1 }), meanDown), [1030])
})

test('ADWIN: at a drift the old concept is cut off the window, then the next update starts afresh', () => {
  const detector = new ADWIN()
  trace(detector, meanUp.slice(0, 1024))
  assert.equal(detector.drift, true)
  const statistic = detector.statistic
  assert.equal(statistic['width']! + statistic['droppedWidth']!, 1024)
  assert.ok(statistic['width']! < 100, `kept ${statistic['width']} values`)
  assert.ok(Math.abs(statistic['droppedMean']!) < 0.2, `old mean ${statistic['droppedMean']}`)
  assert.ok(statistic['mean']! > 1, `new mean ${statistic['mean']}`)
  assert.equal(statistic['detections'], 1)
  detector.update(3)
  assert.equal(detector.drift, false)
  assert.equal(detector.width, 1)
  assert.equal(detector.mean, 3)
})

test('ADWIN: window statistics match the values seen', () => {
  const detector = new ADWIN()
  for (const value of [1, 2, 3, 4, 5]) detector.update(value)
  assert.deepEqual(detector.statistic, {
    width: 5,
    mean: 3,
    variance: 2,
    droppedWidth: 0,
    droppedMean: 0,
    detections: 0,
  })
})

test('ADWIN: the window keeps growing while nothing changes, in O(log n) buckets', () => {
  const detector = new ADWIN()
  const stationary = shiftStream(7, 10_000, 10_000, 0, 0)
  assert.deepEqual(driftIndices(detector, stationary), [])
  assert.equal(detector.width, 10_000)
  const buckets = (detector.toJSON().totals as number[][]).flat().length
  assert.ok(buckets <= 5 * Math.ceil(Math.log2(10_000)), `${buckets} buckets`)
})

test('ADWIN: a constant stream never drifts', () => {
  assert.deepEqual(driftIndices(new ADWIN({ clock: 1 }), Array(3000).fill(1)), [])
})

test('ADWIN: a change in variance alone is not a drift (ADWIN compares means)', () => {
  assert.deepEqual(
    driftIndices(
      new ADWIN(),
      shiftStream(104, 1000, 3000, 0, 0).map((x, i) => (i < 1000 ? x : 3 * x)),
    ),
    [],
  )
})

test('ADWIN: non-finite values are rejected, not folded into the window', () => {
  const detector = new ADWIN()
  detector.update(1)
  assert.throws(
    () => detector.update(Number.NaN),
    (error: unknown) => error instanceof LookoutError && error.code === ErrorCodes.INPUT_INVALID,
  )
  assert.equal(detector.width, 1)
})

test('ADWIN: options are validated with a coded error that names the option', () => {
  for (const options of [{ delta: 0 }, { delta: 1 }, { clock: 0 }, { maxBuckets: 0 }, { minWindowLength: 2.5 }]) {
    assert.throws(
      () => new ADWIN(options),
      (error: unknown) => error instanceof LookoutError && error.code === ErrorCodes.CONFIG_INVALID,
    )
  }
  assert.throws(() => new ADWIN({ clock: 0 }), /clock/)
})

test('ADWIN: fromJSON rejects buckets that do not add up to the width', () => {
  const detector = new ADWIN()
  for (let i = 0; i < 100; i++) detector.update(i)
  const state = { ...detector.toJSON(), width: 99 }
  assert.throws(() => ADWIN.fromJSON(state), /width/)
})
