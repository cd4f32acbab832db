// The contract every feature extractor keeps. Call `extractorContract` from an extractor's test.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FeatureExtractor, FeatureSchema } from '../../../src/core/features/extractor.ts'

export interface ExtractorSubject<E, S> {
  schema: FeatureSchema
  extract: FeatureExtractor<E, S>
  /** One entity's events with their event times, in arrival order (include edge cases). */
  stream: readonly { event: E; t: number }[]
}

/** Runs the stream through the extractor, threading the state; returns every step's output. */
export function runStream<E, S>(
  extract: FeatureExtractor<E, S>,
  stream: readonly { event: E; t: number }[],
  initial?: S,
): { features: Float64Array; state: S }[] {
  let state = initial
  return stream.map(({ event, t }) => {
    const out = extract(event, state, t)
    state = out.nextState
    return { features: out.features, state: out.nextState }
  })
}

export function extractorContract<E, S>(name: string, subject: ExtractorSubject<E, S>): void {
  const { schema, extract, stream } = subject

  test(`${name}: feature vectors have the schema's length and only finite values`, () => {
    assert.equal(new Set(schema.names).size, schema.names.length)
    for (const [i, { features }] of runStream(extract, stream).entries()) {
      assert.equal(features.length, schema.names.length)
      features.forEach((value, at) => {
        assert.ok(Number.isFinite(value), `event ${i}: ${schema.names[at]} = ${value}`)
      })
    }
  })

  test(`${name}: pure — same inputs give the same outputs and the input state is not changed`, () => {
    let state: S | undefined
    for (const { event, t } of stream) {
      const before = structuredClone(state)
      const eventBefore = structuredClone(event)
      const a = extract(event, state, t)
      const b = extract(event, state, t)
      assert.deepEqual(state, before)
      assert.deepEqual(event, eventBefore)
      assert.deepEqual([...a.features], [...b.features])
      assert.deepEqual(a.nextState, b.nextState)
      state = a.nextState
    }
  })

  test(`${name}: state survives a JSON round trip (the changelog) with identical next features`, () => {
    let live: S | undefined
    let restored: S | undefined
    for (const { event, t } of stream) {
      const a = extract(event, live, t)
      const b = extract(event, restored, t)
      assert.deepEqual([...b.features], [...a.features])
      live = a.nextState
      restored = JSON.parse(JSON.stringify(b.nextState)) as S
      assert.deepEqual(restored, live)
    }
  })

  test(`${name}: a state of an unknown layout version is ignored (treated as a new entity)`, () => {
    const first = stream[0]!
    const fresh = extract(first.event, undefined, first.t)
    const foreign = { v: 999, anything: [1, 2, 3] } as unknown as S
    const ignored = extract(first.event, foreign, first.t)
    assert.deepEqual([...ignored.features], [...fresh.features])
  })
}

/** Value of a named feature. */
export function feature(schema: FeatureSchema, features: Float64Array, name: string): number {
  const at = schema.names.indexOf(name)
  assert.ok(at >= 0, `no feature ${name}`)
  return features[at]!
}
