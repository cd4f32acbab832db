import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ShadowJudge } from '../../../src/core/pipeline/shadow.ts'

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
