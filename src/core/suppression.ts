// Alert suppression by analyst feedback, pure: an entity whose alerts were marked false
// positive `afterFalsePositives` times is suppressed for `forMs` from the mark that made the
// count; its anomalies then raise no alert (each is counted). The alert service keeps one
// FeedbackSuppression per entity in its changelogged store.
import type { LabelRecord } from './feedback.ts'

export interface SuppressionPolicy {
  /** False-positive marks that suppress an entity; 0 = never. */
  readonly afterFalsePositives: number
  /** How long a suppression lasts from the mark that started it (ms). */
  readonly forMs: number
}

export interface FeedbackSuppression {
  /** Events marked false positive since the entity's last suppression began (distinct ids). */
  falsePositives: string[]
  /** The current or last suppression: [since, until) in ms since the epoch. */
  since?: number
  until?: number
  /** The false-positive marks that started it. */
  count?: number
  /** The events whose marks started it. */
  eventIds?: string[]
  /** Alerts it held back. */
  suppressedAlerts?: number
}

/**
 * One mark: a false positive counts against the entity (once per event); a true positive of an
 * event marked false positive before takes that mark back. When the count reaches the policy's,
 * a suppression starts at the mark's time (`started`) and the count starts again.
 */
export function applyMark(
  state: FeedbackSuppression | undefined,
  mark: Pick<LabelRecord, 'eventId' | 'label' | 'at'>,
  policy: SuppressionPolicy,
): { state: FeedbackSuppression; started: boolean } {
  const current = state ?? { falsePositives: [] }
  if (mark.label === 1) {
    if (!current.falsePositives.includes(mark.eventId)) return { state: current, started: false }
    return {
      state: { ...current, falsePositives: current.falsePositives.filter((id) => id !== mark.eventId) },
      started: false,
    }
  }
  if (current.falsePositives.includes(mark.eventId)) return { state: current, started: false }
  const falsePositives = [...current.falsePositives, mark.eventId]
  if (policy.afterFalsePositives === 0 || falsePositives.length < policy.afterFalsePositives)
    return { state: { ...current, falsePositives }, started: false }
  const since = Date.parse(mark.at)
  return {
    state: {
      falsePositives: [],
      since,
      until: since + policy.forMs,
      count: falsePositives.length,
      eventIds: falsePositives,
      suppressedAlerts: 0,
    },
    started: true,
  }
}

/** Whether an alert at `timeMs` is held back by the entity's suppression. */
export function isSuppressed(state: FeedbackSuppression | undefined, timeMs: number): boolean {
  return state?.since !== undefined && state.until !== undefined && timeMs >= state.since && timeMs < state.until
}

/** The state after one more alert was held back. */
export function countSuppressed(state: FeedbackSuppression): FeedbackSuppression {
  return { ...state, suppressedAlerts: (state.suppressedAlerts ?? 0) + 1 }
}

/** A suppression as the alert service publishes it (`alert-suppressions`, keyed by entity). */
export interface SuppressionRecord {
  entity: string
  since: string
  until: string
  falsePositives: number
  eventIds: string[]
  suppressedAlerts: number
}

export function suppressionRecord(entity: string, state: FeedbackSuppression): SuppressionRecord {
  return {
    entity,
    since: new Date(state.since ?? 0).toISOString(),
    until: new Date(state.until ?? 0).toISOString(),
    falsePositives: state.count ?? 0,
    eventIds: state.eventIds ?? [],
    suppressedAlerts: state.suppressedAlerts ?? 0,
  }
}
