// Rule sets a schema can declare (`"rules": "<name>"`): each names the fields it reads (checked
// against the schema's fields when the schema is validated) and steps over an entity's events,
// with a plain-JSON state per entity when it needs one. The scorer runs the declared set; it
// never asks which stream an event came from.

import {
  evaluateTransactionRules,
  type PaymentPatternState,
  type PaymentRuleOptions,
  paymentPatternStep,
  paymentRuleNames,
  type RuleHit,
  type TransactionLike,
  transactionRuleNames,
} from './rules.ts'

/** Settings of the rules (score.* in the settings schema). */
export interface RuleOptions {
  payment?: PaymentRuleOptions
}

export interface RuleSet {
  readonly names: readonly string[]
  /** Fields the rules read, with their types. */
  readonly fields: readonly (readonly [string, 'number' | 'string' | 'boolean' | 'timestamp'])[]
  /**
   * The hits for `record` (event time `eventTimeMs`) given its entity's rule state before it
   * (undefined for the entity's first event) and the state after it (plain JSON; undefined
   * when the rules read the event alone).
   */
  step(
    record: Record<string, unknown>,
    eventTimeMs: number,
    state: unknown,
    options: RuleOptions,
  ): { hits: RuleHit[]; next?: unknown }
}

export const ruleSets: Readonly<Record<string, RuleSet>> = Object.freeze({
  /** The phased card stream's label rules 1–5 (see rules.ts), read off the event alone. */
  transaction_labels: {
    names: transactionRuleNames,
    fields: [
      ['amount', 'number'],
      ['user_avg_amount', 'number'],
      ['transactions_last_hour', 'number'],
      ['location_match', 'boolean'],
      ['device_known', 'boolean'],
      ['merchant_category', 'string'],
      ['hour_of_day', 'number'],
    ],
    step: (record) => ({ hits: evaluateTransactionRules(record as unknown as TransactionLike) }),
  },
  /** Payment fraud patterns over a customer's last payments: high_value_burst and rapid_fire. */
  payment_patterns: {
    names: paymentRuleNames,
    fields: [['amount', 'number']],
    step: (record, eventTimeMs, state, options) => {
      const { hits, nextState } = paymentPatternStep(
        state as PaymentPatternState | undefined,
        { amount: record.amount as number, timestamp: eventTimeMs },
        options.payment,
      )
      return { hits, next: nextState }
    },
  },
} satisfies Record<string, RuleSet>)
