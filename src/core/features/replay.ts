// Features of a replayed dataset record, per merchant: the merchant is the
// record's stable counterparty, while the description is free text that rarely repeats.
//
// The replay samples the dataset at random, so record timestamps arrive far out of order;
// the windows then count what has been replayed so far around the record's time (see
// event-time-window.ts for late events), which is only meaningful for time-ordered replays.

import type { ReplayedRecord } from '../events.ts'
import { observeAmount } from './amount-history.ts'
import type { EventTimeWindowState } from './event-time-window.ts'
import type { FeatureExtractor } from './extractor.ts'
import { allocateFeatures } from './feature-vector.ts'
import type { RecentValuesState } from './recent-values.ts'
import { flag, signedLog1p } from './scaling.ts'
import { defineSchema } from './schema.ts'
import type { WelfordState } from './welford.ts'

export const recordSchema = defineSchema([
  'amount',
  'log_amount',
  'is_debit',
  'is_outgoing',
  'amount_vs_merchant_avg',
  'amount_zscore',
  'amount_robust_zscore',
  'count_last_minute',
  'count_last_hour',
  'seconds_since_last',
  'merchant_event_count',
] as const)

export interface RecordState {
  readonly v: 1
  readonly amount: WelfordState
  readonly recent: RecentValuesState
  readonly window: EventTimeWindowState
}

export const recordEntityKey = (event: ReplayedRecord): string => event.merchant

export const extractRecord: FeatureExtractor<ReplayedRecord, RecordState> = (event, state, t) => {
  const before = state?.v === 1 ? state : undefined
  const amount = event.amount
  const history = observeAmount(before, amount, t)

  const at = recordSchema.at
  const f = allocateFeatures(recordSchema.names.length)
  f[at.amount] = amount
  f[at.log_amount] = signedLog1p(amount)
  f[at.is_debit] = flag(event.operation_type === 'debit')
  f[at.is_outgoing] = flag(event.side === 'outgoing')
  f[at.amount_vs_merchant_avg] = history.vsAverage
  f[at.amount_zscore] = history.zscore
  f[at.amount_robust_zscore] = history.robustZscore
  f[at.count_last_minute] = history.countLastMinute
  f[at.count_last_hour] = history.countLastHour
  f[at.seconds_since_last] = history.secondsSinceLast
  f[at.merchant_event_count] = history.earlier + 1

  return { features: f, nextState: { v: 1, ...history.next } }
}
