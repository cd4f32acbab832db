// Named rules: each hit says which rule fired, how bad it is and why.
//
// Transaction rules are the deterministic label rules 1–5 of the phased source, checked on a transaction
// record. Rule 6 (attack phase and a 15 % coin flip) is the generator's noise, not a pattern in
// the event, so no rule can detect it and it is left out on purpose.
//
// Payment rules are the payment fraud patterns, which need a customer's recent payments: a small pure
// state (last ten amounts and event times, plain JSON for the changelog) with an update function.

import { ErrorCodes, LookoutError } from '../../errors.ts'
import { countInWindow, velocityWindow, windowStarts } from '../windows/window.ts'

export const severities = ['low', 'medium', 'high', 'critical'] as const
export type Severity = (typeof severities)[number]

export interface RuleHit {
  rule: string
  severity: Severity
  reason: string
}

// ── Transaction rules (label rules 1–5) ────────────────────────────────

/** Rule names in label order: `transactionRuleNames[k - 1]` is label rule k. */
export const transactionRuleNames = [
  'amount_over_5x_user_avg',
  'over_10_tx_last_hour',
  'location_and_device_unknown',
  'high_risk_merchant_over_1000',
  'night_over_500',
] as const
export type TransactionRuleName = (typeof transactionRuleNames)[number]

export const transactionRuleThresholds = {
  amountOverUserAverageFactor: 5.0,
  transactionsLastHourAbove: 10,
  highRiskMerchants: ['crypto', 'wire_transfer'],
  highRiskMerchantAmountAbove: 1000,
  nightHourFrom: 1,
  nightHourTo: 4,
  nightAmountAbove: 500,
} as const

/** What the transaction rules read; a PhasedTransaction has all of it. */
export interface TransactionLike {
  amount: number
  /** The user's average amount before this transaction. */
  user_avg_amount: number
  transactions_last_hour: number
  location_match: boolean
  device_known: boolean
  merchant_category: string
  hour_of_day: number
}

const money = (amount: number) => amount.toFixed(2)

/** crypto and wire_transfer: the merchants label rule 4 watches. */
export function isHighRiskMerchant(category: string): boolean {
  return (transactionRuleThresholds.highRiskMerchants as readonly string[]).includes(category)
}

interface TransactionRule {
  readonly name: TransactionRuleName
  readonly severity: Severity
  matches(tx: TransactionLike): boolean
  reason(tx: TransactionLike): string
}

const t = transactionRuleThresholds

/**
 * Label rules 1–5 in label order. The one definition of each rule: the phased generator labels
 * its events with `firstTransactionRule`, the scorer reports `evaluateTransactionRules`.
 */
const transactionRules: readonly TransactionRule[] = [
  {
    name: 'amount_over_5x_user_avg',
    severity: 'high',
    matches: (tx) => tx.amount > tx.user_avg_amount * t.amountOverUserAverageFactor,
    reason: (tx) =>
      `amount ${money(tx.amount)} is ${(tx.amount / tx.user_avg_amount).toFixed(1)}× the user's average ` +
      `${money(tx.user_avg_amount)} (limit ${t.amountOverUserAverageFactor}×)`,
  },
  {
    name: 'over_10_tx_last_hour',
    severity: 'medium',
    matches: (tx) => tx.transactions_last_hour > t.transactionsLastHourAbove,
    reason: (tx) => `${tx.transactions_last_hour} transactions in the last hour (limit ${t.transactionsLastHourAbove})`,
  },
  {
    name: 'location_and_device_unknown',
    severity: 'medium',
    matches: (tx) => !tx.location_match && !tx.device_known,
    reason: () => 'unfamiliar location and unknown device together',
  },
  {
    name: 'high_risk_merchant_over_1000',
    severity: 'high',
    matches: (tx) => isHighRiskMerchant(tx.merchant_category) && tx.amount > t.highRiskMerchantAmountAbove,
    reason: (tx) =>
      `${money(tx.amount)} at a ${tx.merchant_category} merchant (limit ${t.highRiskMerchantAmountAbove} for high-risk merchants)`,
  },
  {
    name: 'night_over_500',
    severity: 'low',
    matches: (tx) =>
      tx.hour_of_day >= t.nightHourFrom && tx.hour_of_day <= t.nightHourTo && tx.amount > t.nightAmountAbove,
    reason: (tx) =>
      `${money(tx.amount)} at ${String(tx.hour_of_day).padStart(2, '0')}:00 (limit ${t.nightAmountAbove} between ${t.nightHourFrom}:00 and ${t.nightHourTo}:59)`,
  },
]

/** Every transaction rule that fires, in label order (so the first is the one the label used). */
export function evaluateTransactionRules(tx: TransactionLike): RuleHit[] {
  const hits: RuleHit[] = []
  for (const rule of transactionRules)
    if (rule.matches(tx)) hits.push({ rule: rule.name, severity: rule.severity, reason: rule.reason(tx) })
  return hits
}

export type TransactionLabelRule = 0 | 1 | 2 | 3 | 4 | 5

/** The label rule (1–5) that labels `tx`, first match wins, or 0 (allocation-free: the generator's hot path). */
export function firstTransactionRule(tx: TransactionLike): TransactionLabelRule {
  for (let k = 0; k < transactionRules.length; k++)
    if (transactionRules[k]!.matches(tx)) return (k + 1) as TransactionLabelRule
  return 0
}

// ── Payment patterns ─────────────────────────────────────────────

export const paymentRuleNames = ['high_value_burst', 'rapid_fire'] as const

export interface PaymentRuleOptions {
  /** Payments remembered per customer, the current one included. Default 10. */
  history?: number
  /** A payment is high-value above this amount (1,000,000). */
  highValueAmount?: number
  /** high_value_burst fires at this many high-value payments among the last `history`. Default 3. */
  highValueCount?: number
  /** rapid_fire fires at this many payments spanning less than `rapidFireWindowMs`. Default 5. */
  rapidFireCount?: number
  /** Default 60,000 (one minute). */
  rapidFireWindowMs?: number
  /** A velocity window starts every this many ms (default 10,000); see `velocityWindow`. */
  rapidFireSlideMs?: number
}

export const paymentRuleDefaults = {
  history: 10,
  highValueAmount: 1_000_000,
  highValueCount: 3,
  rapidFireCount: 5,
  rapidFireWindowMs: 60_000,
  rapidFireSlideMs: 10_000,
} as const satisfies Required<PaymentRuleOptions>

/** A customer's last payments, oldest first, at most `history` of them. */
export interface PaymentPatternState {
  readonly amounts: readonly number[]
  /** Event times, ms since the Unix epoch, in arrival order (not necessarily sorted). */
  readonly timestamps: readonly number[]
}

/** What the payment rules read; a Payment has it (timestamp as ISO-8601 or ms since epoch). */
export interface PaymentLike {
  amount: number
  timestamp: string | number
}

function eventTimeMs(payment: PaymentLike): number {
  const ms = typeof payment.timestamp === 'number' ? payment.timestamp : Date.parse(payment.timestamp)
  if (!Number.isFinite(ms))
    throw new LookoutError(
      ErrorCodes.INPUT_INVALID,
      `payment timestamp ${JSON.stringify(payment.timestamp)} is not a time`,
      {
        hint: 'send an ISO-8601 timestamp such as 2024-01-15T10:30:45Z',
      },
    )
  return ms
}

export function emptyPaymentPatternState(): PaymentPatternState {
  return { amounts: [], timestamps: [] }
}

/** The state after `payment`; `state` is left as it was. */
export function updatePaymentPatternState(
  state: PaymentPatternState | undefined,
  payment: PaymentLike,
  options: PaymentRuleOptions = {},
): PaymentPatternState {
  const keep = (options.history ?? paymentRuleDefaults.history) - 1
  const previous = state ?? emptyPaymentPatternState()
  const from = Math.max(0, previous.amounts.length - keep)
  return {
    amounts: [...previous.amounts.slice(from), payment.amount],
    timestamps: [...previous.timestamps.slice(from), eventTimeMs(payment)],
  }
}

/**
 * Payment patterns that fire for `payment`, judged on the customer's last `history` payments
 * including this one; `state` is the customer's state before it.
 *
 * - high_value_burst: at least `highValueCount` of them are over `highValueAmount`, and this one is.
 *   (Only a high-value payment can complete a burst, so one burst alerts once, not ten times.)
 * - rapid_fire: at least `rapidFireCount` of them, this one included, fall in one of the
 *   customer's velocity windows that contain this payment (windows of `rapidFireWindowMs` of
 *   event time starting every `rapidFireSlideMs`, the windows of the customer-velocity
 *   aggregation). Windows are on event time, so a backfilled or late payment cannot look rapid
 *   unless it falls among the burst.
 */
export function evaluatePaymentRules(
  state: PaymentPatternState | undefined,
  payment: PaymentLike,
  options: PaymentRuleOptions = {},
): RuleHit[] {
  const o = { ...paymentRuleDefaults, ...options }
  const previous = state ?? emptyPaymentPatternState()
  const from = Math.max(0, previous.amounts.length - (o.history - 1))
  const hits: RuleHit[] = []

  if (payment.amount > o.highValueAmount) {
    let highValue = 1
    for (let i = from; i < previous.amounts.length; i++) if (previous.amounts[i]! > o.highValueAmount) highValue++
    if (highValue >= o.highValueCount)
      hits.push({
        rule: 'high_value_burst',
        severity: 'high',
        reason: `${highValue} of the customer's last ${previous.amounts.length - from + 1} payments are over ${o.highValueAmount.toLocaleString('en')}`,
      })
  }

  // rapid_fire counts the customer's payments in the velocity windows that contain this one: the
  // windows of the aggregate service's customer-velocity aggregation (the same code assigns them)
  const now = eventTimeMs(payment)
  const times = previous.timestamps.slice(from)
  times.push(now)
  const window = velocityWindow(o)
  let best = 0
  let bestStart = 0
  for (const start of windowStarts(now, window)) {
    const count = countInWindow(times, start, window)
    if (count > best) {
      best = count
      bestStart = start
    }
  }
  if (best >= o.rapidFireCount)
    hits.push({
      rule: 'rapid_fire',
      severity: 'medium',
      reason: `${best} payments in the velocity window ${new Date(bestStart).toISOString()}–${new Date(bestStart + window.sizeMs).toISOString()} (limit ${o.rapidFireCount} within ${o.rapidFireWindowMs / 1000} s)`,
    })
  return hits
}

/** Evaluate then update: the shape a per-entity processor step wants. */
export function paymentPatternStep(
  state: PaymentPatternState | undefined,
  payment: PaymentLike,
  options: PaymentRuleOptions = {},
): { hits: RuleHit[]; nextState: PaymentPatternState } {
  return {
    hits: evaluatePaymentRules(state, payment, options),
    nextState: updatePaymentPatternState(state, payment, options),
  }
}
