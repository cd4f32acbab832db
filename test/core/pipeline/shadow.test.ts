import assert from 'node:assert/strict'
import { test } from 'node:test'
import { IsolationForest } from '../../../src/core/anomaly/isolation-forest.ts'
import type { EnrichedEvent, ScoredEvent } from '../../../src/core/pipeline/events.ts'
import { ShadowJudge, ShadowJudges, shadowScores } from '../../../src/core/pipeline/shadow.ts'

function feed(judge: ShadowJudge, events: number, shadowSeparates: boolean, labelled = true) {
  for (let i = 0; i < events; i++) {
    const label = i % 10 === 0 ? 1 : 0
    // the live model ranks every event the same; the shadow ranks positives higher when asked to
    const shadow = shadowSeparates ? label + (i % 7) / 100 : 1 - label
    const verdict = judge.observe(0.5, shadow, labelled ? label : undefined)
    if (verdict) return { at: i + 1, ...verdict }
  }
  return undefined
}

test('a shadow that ranks the labelled anomalies better is promoted after minLabelled labelled events', () => {
  const verdict = feed(new ShadowJudge('v2', { minLabelled: 500 }), 2_000, true)
  assert.equal(verdict?.decision, 'promote')
  assert.equal(verdict?.at, 500)
  assert.ok(verdict!.shadowAuc! > verdict!.liveAuc!)
})

test('a worse shadow is rejected', () => {
  assert.equal(feed(new ShadowJudge('v2', { minLabelled: 500 }), 2_000, false)?.decision, 'reject')
})

test('without labels it is promoted after promoteAfterEvents, and never when that is 0', () => {
  const verdict = feed(new ShadowJudge('v2', { minLabelled: 500, promoteAfterEvents: 1_000 }), 2_000, true, false)
  assert.equal(verdict?.decision, 'promote')
  assert.equal(verdict?.at, 1_000)
  assert.equal(feed(new ShadowJudge('v2', { minLabelled: 500 }), 5_000, true, false), undefined)
})

test('ShadowJudges: one judge per kind and version, one verdict per version until it is reopened', () => {
  const judges = new ShadowJudges({ minLabelled: 20 })
  const observe = (version: string, i: number) => {
    const label = i % 4 === 0 ? 1 : 0
    return judges.observe('transaction', version, { live: 0.5, shadow: label }, label)
  }
  const verdicts = Array.from({ length: 40 }, (_, i) => observe('v2', i)).filter((v) => v !== undefined)
  assert.equal(verdicts.length, 1)
  assert.equal(verdicts[0]?.decision, 'promote')
  judges.reopen('v2')
  assert.equal(observe('v2', 40)?.decision, 'promote')
  // a new shadow version starts a new judge
  assert.equal(observe('v3', 0), undefined)
})

test('shadowScores: both raw scores on the event, none when the shadow scored it', () => {
  const data = Float64Array.from({ length: 200 }, (_, i) => (i * 7919) % 101)
  const forest = IsolationForest.train(
    { data, rows: 100, columns: 2 },
    { featureNames: ['a', 'b'], nTrees: 10, seed: 1 },
  )
  const live = { version: 'v1', kind: 'transaction' as const, forest }
  const shadow = { version: 'v2', kind: 'transaction' as const, forest }
  const enriched = { features: [3, 4] } as EnrichedEvent
  const expected = forest.score(Float64Array.from([3, 4]))
  assert.deepEqual(shadowScores(enriched, { modelVersion: 'v1' } as ScoredEvent, live, shadow), {
    live: expected,
    shadow: expected,
  })
  assert.deepEqual(shadowScores(enriched, { modelVersion: null } as ScoredEvent, live, shadow), {
    live: undefined,
    shadow: expected,
  })
  assert.equal(shadowScores(enriched, { modelVersion: 'v2' } as ScoredEvent, live, shadow), undefined)
})
