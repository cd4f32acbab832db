// An entity's amount history, shared by every extractor of money events: running mean and
// variance, the last amounts (for a robust z-score) and event-time windows. Comparisons use
// the history before this event; counts include it.
import { secondsSince } from './event-time.ts'
import { type EventTimeWindowState, minuteAndHour, windowObserve } from './event-time-window.ts'
import { centsQuantum, type RecentValuesState, recentPush, robustZScore } from './recent-values.ts'
import { ratioToAverage } from './scaling.ts'
import { type WelfordState, welfordUpdate, welfordZScore } from './welford.ts'

export interface AmountHistoryState {
  readonly amount: WelfordState
  readonly recent: RecentValuesState
  readonly window: EventTimeWindowState
}

export interface AmountObservation {
  /** Earlier events of the entity. */
  readonly earlier: number
  /** Mean amount before this event (0 before the first). */
  readonly mean: number
  readonly vsAverage: number
  readonly zscore: number
  readonly robustZscore: number
  readonly countLastMinute: number
  readonly countLastHour: number
  readonly secondsSinceLast: number
  /** The history with this event (its fields go into the entity's next state). */
  readonly next: AmountHistoryState
}

export function observeAmount(before: AmountHistoryState | undefined, amount: number, t: number): AmountObservation {
  const stats = before?.amount
  const earlier = stats?.n ?? 0
  const seen = windowObserve(before?.window, t, minuteAndHour)
  return {
    earlier,
    mean: stats?.mean ?? 0,
    vsAverage: ratioToAverage(amount, stats?.mean ?? 0, earlier),
    zscore: welfordZScore(stats, amount),
    robustZscore: robustZScore(before?.recent, amount, centsQuantum),
    countLastMinute: seen.shortCount,
    countLastHour: seen.longCount,
    secondsSinceLast: secondsSince(before?.window.latest, t),
    next: {
      amount: welfordUpdate(stats, amount),
      recent: recentPush(before?.recent, amount, centsQuantum),
      window: seen.next,
    },
  }
}
