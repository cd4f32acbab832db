// Features of a phased-generator card transaction, per user_id.
//
// Per-user history (running mean/variance, last 32 amounts, event-time windows) is read as it
// was BEFORE this event for everything that compares the amount with the user's past, and
// includes this event for the counts ("transactions in the last hour, this one included").
// hour_of_day, location_match and device_known come from the event itself: the generator
// models them directly (label rule 5 reads hour_of_day), independent of the timestamp.

import type { PhasedTransaction } from '../events.ts'
import { observeAmount } from './amount-history.ts'
import { hourCos, hourSin, isNight } from './event-time.ts'
import type { EventTimeWindowState } from './event-time-window.ts'
import type { FeatureExtractor } from './extractor.ts'
import { allocateFeatures } from './feature-vector.ts'
import { merchantRisk } from './merchant-risk.ts'
import type { RecentValuesState } from './recent-values.ts'
import { flag, signedLog1p } from './scaling.ts'
import { defineSchema } from './schema.ts'
import type { WelfordState } from './welford.ts'

export const transactionSchema = defineSchema([
  'amount',
  'log_amount',
  /** amount / the user's mean amount before this event; 1 for the first. */
  'amount_vs_user_avg',
  /** (amount − mean) / std over the user's earlier amounts; 0 before two of them. */
  'amount_zscore',
  /** (amount − median) / (1.4826 · MAD) over the user's last 32 amounts; 0 before five. */
  'amount_robust_zscore',
  /** The user's transactions in the last hour of event time, this one included. */
  'tx_count_last_hour',
  /** …in the last 60 s of event time, this one included. */
  'tx_count_last_minute',
  /** Since the user's newest earlier event; 604,800 (a week, the cap) for the first. */
  'seconds_since_last',
  'hour_of_day',
  'hour_sin',
  'hour_cos',
  'is_night',
  'location_match',
  'device_known',
  /** merchantRiskTable prior of the category, 0–1. */
  'merchant_risk',
  /** transactions_last_hour as the generator reported it. */
  'reported_tx_last_hour',
  /** The user's events so far, this one included. */
  'user_event_count',
] as const)

export interface TransactionState {
  /** State layout version; a record with another version is ignored (the user starts afresh). */
  readonly v: 1
  readonly amount: WelfordState
  readonly recent: RecentValuesState
  readonly window: EventTimeWindowState
}

export const transactionEntityKey = (event: PhasedTransaction): string => event.user_id

export const extractTransaction: FeatureExtractor<PhasedTransaction, TransactionState> = (event, state, t) => {
  const before = state?.v === 1 ? state : undefined
  const amount = event.amount
  const history = observeAmount(before, amount, t)
  const hour = event.hour_of_day

  const at = transactionSchema.at
  const f = allocateFeatures(transactionSchema.names.length)
  f[at.amount] = amount
  f[at.log_amount] = signedLog1p(amount)
  f[at.amount_vs_user_avg] = history.vsAverage
  f[at.amount_zscore] = history.zscore
  f[at.amount_robust_zscore] = history.robustZscore
  f[at.tx_count_last_hour] = history.countLastHour
  f[at.tx_count_last_minute] = history.countLastMinute
  f[at.seconds_since_last] = history.secondsSinceLast
  f[at.hour_of_day] = hour
  f[at.hour_sin] = hourSin(hour)
  f[at.hour_cos] = hourCos(hour)
  f[at.is_night] = flag(isNight(hour))
  f[at.location_match] = flag(event.location_match)
  f[at.device_known] = flag(event.device_known)
  f[at.merchant_risk] = merchantRisk(event.merchant_category)
  f[at.reported_tx_last_hour] = event.transactions_last_hour
  f[at.user_event_count] = history.earlier + 1

  return { features: f, nextState: { v: 1, ...history.next } }
}
