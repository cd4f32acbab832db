// Alerting decisions, pure: de-duplication and per-entity rate limiting on event time, and
// the severity and explanation of an alert.
import type { Contribution } from './anomaly/detector.ts'
import type { ScoredEvent } from './pipeline/events.ts'

export const alertSeverities = ['medium', 'high', 'critical'] as const
export type AlertSeverity = (typeof alertSeverities)[number]

export interface Alert {
  /** The scored event's id: one alert per event at most. */
  id: string
  kind: string
  entity: string
  severity: AlertSeverity
  score: number
  eventTime: number
  producedAt: number | undefined
  amount?: number
  rules: string[]
  /** Human-readable top reasons: rules first, then the strongest features. */
  reasons: string[]
  contributions: Contribution[]
  modelVersion: string | null
  /** Alerts for this entity held back by the rate limit since its previous alert. */
  suppressedBefore: number
}

export interface AlertPolicy {
  dedupWindowMs: number
  maxPerEntityPerHour: number
}

export interface EntityAlertState {
  /** Event times of this entity's recent alerts (within the last hour). */
  alertTimes: number[]
  suppressed: number
}

/** The strongest detector's calibrated score (rule entries `rule:<name>` excluded). */
function strongestDetector(scored: ScoredEvent): number {
  let strongest = 0
  for (const [name, value] of Object.entries(scored.scores)) {
    if (!name.startsWith('rule:') && value > strongest) strongest = value
  }
  return strongest
}

/**
 * critical: two or more rules, or a rule that a detector backs (its calibrated score ≥ 0.99);
 * high: one rule, or detectors alone in the top 0.05 %; medium: the rest over the threshold.
 */
export function severityOf(scored: ScoredEvent): AlertSeverity {
  const rules = scored.rules.length
  if (rules >= 2 || (rules === 1 && strongestDetector(scored) >= 0.99)) return 'critical'
  if (rules === 1 || scored.score >= 0.9995) return 'high'
  return 'medium'
}

export function reasonsOf(scored: ScoredEvent): string[] {
  const reasons = scored.rules.map((rule) => `rule ${rule}`)
  // features that carry at least 1% of the explanation (none while detectors warm up)
  for (const contribution of scored.contributions.filter((c) => c.weight >= 0.01).slice(0, 3)) {
    reasons.push(`${contribution.feature} (${Math.round(contribution.weight * 100)}%)`)
  }
  return reasons
}

const hourMs = 3_600_000

/**
 * Decides whether a scored anomaly becomes an alert. An entity's next alert is held back while
 * it is within `dedupWindowMs` of its last one (same incident), or when it already had
 * `maxPerEntityPerHour` alerts in the past hour; held-back anomalies are counted and reported
 * on the entity's next alert.
 */
export function decideAlert(
  scored: ScoredEvent,
  state: EntityAlertState | undefined,
  policy: AlertPolicy,
): { alert: Alert | undefined; nextState: EntityAlertState } {
  const t = scored.eventTime
  const recent = (state?.alertTimes ?? []).filter((time) => t - time < hourMs)
  const last = recent.length ? Math.max(...recent) : undefined
  const duplicate = last !== undefined && t - last < policy.dedupWindowMs
  const limited = recent.length >= policy.maxPerEntityPerHour
  if (duplicate || limited) {
    return { alert: undefined, nextState: { alertTimes: recent, suppressed: (state?.suppressed ?? 0) + 1 } }
  }
  const alert: Alert = {
    id: scored.id,
    kind: scored.kind,
    entity: scored.entity,
    severity: severityOf(scored),
    score: scored.score,
    eventTime: scored.eventTime,
    producedAt: scored.producedAt,
    ...(scored.amount === undefined ? {} : { amount: scored.amount }),
    rules: scored.rules,
    reasons: reasonsOf(scored),
    contributions: scored.contributions,
    modelVersion: scored.modelVersion,
    suppressedBefore: state?.suppressed ?? 0,
  }
  return { alert, nextState: { alertTimes: [...recent, t], suppressed: 0 } }
}
