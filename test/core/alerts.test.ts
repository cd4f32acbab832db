import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decideAlert, type EntityAlertState, reasonsOf, severityOf } from '../../src/core/alerts.ts'
import type { ScoredEvent } from '../../src/core/pipeline/events.ts'

function scored(overrides: Partial<ScoredEvent> = {}): ScoredEvent {
  return {
    kind: 'transaction',
    id: 'tx-1',
    entity: 'user_1',
    eventTime: 0,
    producedAt: undefined,
    score: 0.9996,
    scores: { half_space_trees: 0.5, entity_zscore: 0.9 },
    rules: [],
    contributions: [
      { feature: 'amount_vs_user_avg', weight: 0.6 },
      { feature: 'hour_sin', weight: 0.004 },
    ],
    modelVersion: null,
    ...overrides,
  }
}

const policy = { dedupWindowMs: 60_000, maxPerEntityPerHour: 2 }

test('severity: two rules or a backed rule are critical, one rule high, detectors alone by score', () => {
  assert.equal(severityOf(scored({ rules: ['a', 'b'], score: 1 })), 'critical')
  assert.equal(severityOf(scored({ rules: ['a'], score: 1, scores: { half_space_trees: 0.995 } })), 'critical')
  assert.equal(severityOf(scored({ rules: ['a'], score: 1 })), 'high')
  assert.equal(severityOf(scored({ score: 0.9996 })), 'high')
  assert.equal(severityOf(scored({ score: 0.9991 })), 'medium')
})

test('reasons list the rules, then features carrying at least 1% of the explanation', () => {
  assert.deepEqual(reasonsOf(scored({ rules: ['night_over_500'] })), [
    'rule night_over_500',
    'amount_vs_user_avg (60%)',
  ])
})

test('an entity gets one alert per de-duplication window and at most the hourly limit; the rest are counted', () => {
  let state: EntityAlertState | undefined
  const times = [0, 30_000, 70_000, 140_000, 200_000, 3_700_000]
  const alerted: number[] = []
  let suppressedReported = 0
  for (const [i, eventTime] of times.entries()) {
    const decision = decideAlert(scored({ id: `tx-${i}`, eventTime }), state, policy)
    state = decision.nextState
    if (decision.alert) {
      alerted.push(eventTime)
      suppressedReported += decision.alert.suppressedBefore
    }
  }
  // 30 s: duplicate; 140 s and 200 s: over the hourly limit of 2; 3,700 s: a new hour
  assert.deepEqual(alerted, [0, 70_000, 3_700_000])
  assert.equal(suppressedReported, 3)
})
