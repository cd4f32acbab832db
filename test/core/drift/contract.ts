// The contract every DriftDetector must keep. Call `driftContract` from a detector's test file.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DriftDetector, DriftStatistic } from '../../../src/core/drift/detector.ts'
import { ErrorCodes, LookoutError } from '../../../src/errors.ts'

export interface DriftContractSubject<Input extends number | boolean> {
  create(): DriftDetector<Input>
  fromJSON(state: unknown): DriftDetector<Input>
  /** A stream with at least one drift, long enough to exercise the detector after it. */
  stream: readonly Input[]
}

interface Step {
  drift: boolean
  warning: boolean
  statistic: DriftStatistic
}

/** Feeds values and records what the detector reports after each. */
export function trace<Input extends number | boolean>(
  detector: DriftDetector<Input>,
  values: readonly Input[],
): Step[] {
  return values.map((value) => {
    detector.update(value)
    return { drift: detector.drift, warning: detector.warning, statistic: detector.statistic }
  })
}

/** Indices at which the detector signalled a drift. */
export function driftIndices<Input extends number | boolean>(
  detector: DriftDetector<Input>,
  values: readonly Input[],
): number[] {
  const indices: number[] = []
  values.forEach((value, index) => {
    detector.update(value)
    if (detector.drift) indices.push(index)
  })
  return indices
}

const roundTrip = (state: unknown): unknown => JSON.parse(JSON.stringify(state))

export function driftContract<Input extends number | boolean>(
  name: string,
  subject: DriftContractSubject<Input>,
): void {
  const { stream } = subject
  const drifts = driftIndices(subject.create(), stream)

  test(`${name}: the contract stream has a drift with values after it`, () => {
    assert.ok(drifts.length > 0)
    assert.ok(drifts[0]! < stream.length - 100)
  })

  test(`${name}: same input gives the same drifts, warnings and statistics`, () => {
    assert.deepEqual(trace(subject.create(), stream), trace(subject.create(), stream))
  })

  test(`${name}: serialise → load anywhere in the stream continues identically`, () => {
    const first = drifts[0]!
    // fresh, mid-stream, exactly at a drift (the reset is still pending), just after it
    for (const cut of [0, Math.floor(first / 2), first + 1, first + 2, stream.length - 50]) {
      const original = subject.create()
      trace(original, stream.slice(0, cut))
      const restored = subject.fromJSON(roundTrip(original.toJSON()))
      assert.deepEqual(restored.toJSON(), original.toJSON(), `state differs after restore at ${cut}`)
      assert.equal(restored.drift, original.drift)
      assert.equal(restored.warning, original.warning)
      assert.deepEqual(restored.statistic, original.statistic)
      const rest = stream.slice(cut)
      assert.deepEqual(trace(restored, rest), trace(original, rest), `diverged after restore at ${cut}`)
    }
  })

  test(`${name}: reset() behaves like a new detector`, () => {
    const detector = subject.create()
    trace(detector, stream.slice(0, drifts[0]! + 1))
    assert.equal(detector.drift, true)
    detector.reset()
    assert.equal(detector.drift, false)
    assert.equal(detector.warning, false)
    assert.deepEqual(detector.toJSON(), subject.create().toJSON())
    assert.deepEqual(trace(detector, stream), trace(subject.create(), stream))
  })

  test(`${name}: a drift is reported for one update, then the detector starts afresh`, () => {
    const detector = subject.create()
    const steps = trace(detector, stream)
    for (const index of drifts) assert.equal(steps[index + 1]?.drift ?? false, false, `drift repeated at ${index + 1}`)
    const afterFirst = subject.create()
    trace(afterFirst, stream.slice(0, drifts[0]! + 1))
    const rest = stream.slice(drifts[0]! + 1)
    assert.deepEqual(trace(afterFirst, rest), trace(subject.create(), rest))
  })

  test(`${name}: statistics are plain numbers`, () => {
    for (const step of trace(subject.create(), stream.slice(0, 200))) {
      for (const [key, value] of Object.entries(step.statistic))
        assert.equal(typeof value, 'number', `statistic ${key} is ${typeof value}`)
    }
  })

  test(`${name}: fromJSON rejects another detector's state with a coded error`, () => {
    const state = { ...subject.create().toJSON(), type: 'something-else' }
    assert.throws(
      () => subject.fromJSON(state),
      (error: unknown) => error instanceof LookoutError && error.code === ErrorCodes.INPUT_INVALID,
    )
    assert.throws(() => subject.fromJSON(null), LookoutError)
  })
}
