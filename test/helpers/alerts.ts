import type { Alert } from '../../src/core/alerts.ts'

/** An alert as the alert service raises it, with `fields` changed. */
export function testAlert(id: string, fields: Partial<Alert> = {}): Alert {
  return {
    id,
    kind: 'transaction',
    entity: 'user_1',
    severity: 'high',
    score: 0.9996,
    eventTime: 1_700_000_000_000,
    producedAt: 1_700_000_000_100,
    amount: 120,
    rules: ['geo_jump'],
    reasons: ['rule geo_jump'],
    contributions: [],
    modelVersion: null,
    suppressedBefore: 0,
    ...fields,
  }
}
