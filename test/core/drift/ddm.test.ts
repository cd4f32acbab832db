import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DDM } from '../../../src/core/drift/ddm.ts'
import { Random } from '../../../src/core/random.ts'
import { ErrorCodes, LookoutError } from '../../../src/errors.ts'
import { driftContract, driftIndices, trace } from './contract.ts'

/** Prediction errors: rate `before` for `change` steps, then `after`. */
function errorStream(seed: number, change: number, length: number, before: number, after: number): boolean[] {
  const random = new Random(seed)
  return Array.from({ length }, (_, i) => random.bernoulli(i < change ? before : after))
}

const errorRateUp = errorStream(4, 1000, 2000, 0.1, 0.5)

driftContract('DDM', { create: () => new DDM(), fromJSON: (state) => DDM.fromJSON(state), stream: errorRateUp })

test('DDM: error rate 0.1 → 0.5 at 1000 is detected at 1030 (seed 4), not before', () => {
  const drifts = driftIndices(new DDM(), errorRateUp)
  assert.deepEqual(drifts, [1030])
  assert.ok(drifts[0]! >= 1000 && drifts[0]! - 1000 <= 60)
})

test('DDM: the warning zone comes before the drift', () => {
  const steps = trace(new DDM(), errorRateUp)
  const warnings = steps.flatMap((step, index) => (step.warning ? [index] : []))
  assert.ok(
    warnings.some((index) => index > 1000 && index < 1030),
    `no warning between 1000 and 1030`,
  )
  assert.equal(steps[1030]!.warning, false, 'a drift is not also a warning')
})

test('DDM: at the drift p + s exceeds p_min + 3 s_min, and the next update starts afresh', () => {
  const detector = new DDM()
  trace(detector, errorRateUp.slice(0, 1031))
  assert.equal(detector.drift, true)
  const statistic = detector.statistic
  assert.ok(statistic['pPlusS']! > statistic['driftLevel']!)
  assert.ok(statistic['level']! > 3)
  assert.ok(statistic['errorRate']! > statistic['pMin']!)
  detector.update(false)
  assert.equal(detector.drift, false)
  assert.equal(detector.count, 1)
  assert.equal(detector.errorRate, 0)
})

test('DDM: nothing is signalled during the warm start', () => {
  const detector = new DDM({ warmStart: 30 })
  // all errors after no errors would be a drift at once without the warm start
  const steps = trace(detector, [...Array(10).fill(false), ...Array(20).fill(true)])
  assert.ok(steps.every((step) => !step.drift && !step.warning))
})

test('DDM: after an error-free run the first error is a drift (s_min is 0, as in River)', () => {
  const detector = new DDM()
  const steps = trace(detector, [...Array(100).fill(false), true])
  assert.deepEqual(
    steps.flatMap((step, index) => (step.drift ? [index] : [])),
    [100],
  )
})

test('DDM with minErrors: rare errors (1 in 1,000) raise no drift; a rise to 1 in 20 does, as fast as without it', () => {
  // the drift monitor's settings; River's DDM (minErrors 0) false-alarms on every one of these streams
  const options = { warmStart: 1000, warningThreshold: 2, driftThreshold: 4 }
  const river: number[] = []
  const guarded: number[] = []
  for (let seed = 1; seed <= 20; seed++) {
    const random = new Random(seed)
    const stream = [
      ...Array.from({ length: 20_000 }, () => random.bernoulli(0.001)),
      ...Array.from({ length: 3_000 }, () => random.bernoulli(0.05)),
    ]
    river.push(...driftIndices(new DDM(options), stream).filter((index) => index < 20_000))
    const drifts = driftIndices(new DDM({ ...options, minErrors: 5 }), stream)
    assert.ok(drifts.length > 0 && drifts[0]! >= 20_000 && drifts[0]! < 21_000, `seed ${seed}: drifts at ${drifts}`)
    guarded.push(drifts[0]! - 20_000)
  }
  assert.ok(river.length >= 10, `River's DDM false-alarmed ${river.length} times`)
  // an error-free start: the first error is no drift
  assert.deepEqual(driftIndices(new DDM({ minErrors: 5 }), [...Array(100).fill(false), true]), [])
  // the option is saved with the state; a state saved before it had none and restores as River's
  assert.equal(DDM.fromJSON(JSON.parse(JSON.stringify(new DDM({ minErrors: 2 })))).minErrors, 2)
  const { minErrors: _, ...before } = new DDM().toJSON().options
  assert.equal(DDM.fromJSON({ ...new DDM().toJSON(), options: before }).minErrors, 0)
})

test('DDM: a stable error rate false-alarms rarely, after a lucky run pulls p_min down', () => {
  // The known weakness of DDM: p_min + s_min from an early lucky stretch stays as the
  // reference. Pinned for seed 4 (River gives the same indices); seed 108 gives none.
  assert.deepEqual(driftIndices(new DDM(), errorStream(4, 10_000, 10_000, 0.1, 0.1)), [1388, 1434])
  assert.deepEqual(driftIndices(new DDM(), errorStream(108, 10_000, 10_000, 0.1, 0.1)), [])
})

test('DDM: options are validated with a coded error that names the option', () => {
  for (const options of [
    { warmStart: -1 },
    { warmStart: 1.5 },
    { driftThreshold: 1 },
    { warningThreshold: Number.NaN },
    { minErrors: -1 },
  ]) {
    assert.throws(
      () => new DDM(options),
      (error: unknown) => error instanceof LookoutError && error.code === ErrorCodes.CONFIG_INVALID,
    )
  }
  assert.throws(() => new DDM({ warmStart: -1 }), /warmStart/)
})
