// The phased card-transaction generator: a deterministic stream that
// cycles normal → drift → attack every 250,000 events so detectors and drift detectors have
// ground truth. Pure: the caller passes the wall clock per event; all randomness is seeded.

import { firstTransactionRule, type TransactionLike } from '../anomaly/rules.ts'
import type { Phase, PhasedTransaction, PhaseTransition } from '../events.ts'
import { phaseNumber } from '../events.ts'
import { Random } from '../random.ts'

export const phaseCycleLength = 250_000
/** Event positions (n % 250,000) where each phase begins. */
export const phaseStarts = { normal: 0, drift: 100_000, attack: 200_000 } as const satisfies Record<Phase, number>

export interface MerchantShare {
  readonly category: string
  readonly weight: number
}

export interface PhaseParameters {
  readonly amountMean: number
  readonly amountStd: number
  /** Amounts below this are clipped up to it. */
  readonly amountMinimum: number
  /** transactions_last_hour is a uniform integer in [min, max], both inclusive. */
  readonly transactionsLastHour: { readonly min: number; readonly max: number }
  readonly locationMatchProbability: number
  readonly deviceKnownProbability: number
  /** Relative weight of each hour 0–23; null means uniform. */
  readonly hourWeights: readonly number[] | null
  readonly merchantMix: readonly MerchantShare[]
}

// Hour weights: daytime-peaked, night-shift, uniform. Merchant mixes: the top two of each phase are fixed; the
// rest follows the seed, whose catch-all "other" is split over named ordinary categories:
//
//   | category      | normal | drift | attack |
//   |---------------|--------|-------|--------|
//   | grocery       |  0.35  | 0.10  |  0.04  |
//   | restaurant    |  0.25  | 0.10  |  0.04  |
//   | retail        |  0.20  | 0.10  |  0.04  |
//   | gas           |  0.15  | 0.05  |  0.04  |
//   | online        |  0.03  | 0.05  |  0.04  |
//   | entertainment |  0.02  | 0.02  |   –    |
//   | travel        |   –    | 0.03  |   –    |
//   | crypto        |   –    | 0.30  |  0.30  |
//   | wire_transfer |   –    | 0.25  |  0.50  |
export const phaseParameters = {
  normal: {
    amountMean: 150,
    amountStd: 50,
    amountMinimum: 1.0,
    transactionsLastHour: { min: 1, max: 4 },
    locationMatchProbability: 0.95,
    deviceKnownProbability: 0.9,
    // daytime peak: 07:00–19:00 carry most of the mass
    hourWeights: [
      0.01, 0.01, 0.01, 0.01, 0.01, 0.02, 0.04, 0.07, 0.08, 0.08, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.07, 0.06, 0.06,
      0.05, 0.04, 0.03, 0.02, 0.01,
    ],
    merchantMix: [
      { category: 'grocery', weight: 0.35 },
      { category: 'restaurant', weight: 0.25 },
      { category: 'retail', weight: 0.2 },
      { category: 'gas', weight: 0.15 },
      { category: 'online', weight: 0.03 },
      { category: 'entertainment', weight: 0.02 },
    ],
  },
  drift: {
    amountMean: 400,
    amountStd: 120,
    amountMinimum: 1.0,
    transactionsLastHour: { min: 3, max: 10 },
    locationMatchProbability: 0.7,
    deviceKnownProbability: 0.6,
    // night shift: 20:00–04:00 weigh more than the day
    hourWeights: [
      0.05, 0.05, 0.06, 0.06, 0.05, 0.04, 0.03, 0.03, 0.03, 0.03, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04, 0.04,
      0.04, 0.05, 0.06, 0.07, 0.06,
    ],
    merchantMix: [
      { category: 'crypto', weight: 0.3 },
      { category: 'wire_transfer', weight: 0.25 },
      { category: 'grocery', weight: 0.1 },
      { category: 'restaurant', weight: 0.1 },
      { category: 'retail', weight: 0.1 },
      { category: 'gas', weight: 0.05 },
      { category: 'online', weight: 0.05 },
      { category: 'travel', weight: 0.03 },
      { category: 'entertainment', weight: 0.02 },
    ],
  },
  attack: {
    amountMean: 2000,
    amountStd: 800,
    amountMinimum: 100.0,
    transactionsLastHour: { min: 10, max: 30 },
    locationMatchProbability: 0.2,
    deviceKnownProbability: 0.15,
    hourWeights: null,
    merchantMix: [
      { category: 'wire_transfer', weight: 0.5 },
      { category: 'crypto', weight: 0.3 },
      { category: 'grocery', weight: 0.04 },
      { category: 'restaurant', weight: 0.04 },
      { category: 'gas', weight: 0.04 },
      { category: 'retail', weight: 0.04 },
      { category: 'online', weight: 0.04 },
    ],
  },
} as const satisfies Record<Phase, PhaseParameters>

export function phaseOf(eventNumber: number): Phase {
  const position = eventNumber % phaseCycleLength
  if (position < phaseStarts.drift) return 'normal'
  if (position < phaseStarts.attack) return 'drift'
  return 'attack'
}

/**
 * The phase-transitions message when event `eventNumber` is the first of a phase
 * (n % 250,000 is 0, 100,000 or 200,000), else undefined. Event 0 counts: it starts the
 * first normal phase. `timestampSeconds` is the caller's wall clock (Unix seconds).
 */
export function phaseTransitionAt(eventNumber: number, timestampSeconds: number): PhaseTransition | undefined {
  const position = eventNumber % phaseCycleLength
  if (position !== phaseStarts.normal && position !== phaseStarts.drift && position !== phaseStarts.attack) {
    return undefined
  }
  return { phase: phaseOf(eventNumber), event_number: eventNumber, timestamp: timestampSeconds }
}

// ── Label rules ─────────────────────────────────────────────────────────────
//
// Rules 1–5 are the transaction rules of src/core/anomaly/rules.ts (one definition, which the
// scorer reports too); rule 6 is the generator's noise: attack phase and a 15 % coin flip.

/** Rule 6: an attack-phase event that no other rule labels is an anomaly with this probability. */
export const attackCoinProbability = 0.15

/** 0 when no rule fired, else the number (1–6) of the first rule that matched. */
export type LabelRule = 0 | 1 | 2 | 3 | 4 | 5 | 6

export type LabelFields = Pick<
  PhasedTransaction,
  | 'amount'
  | 'user_avg_amount'
  | 'transactions_last_hour'
  | 'location_match'
  | 'device_known'
  | 'merchant_category'
  | 'hour_of_day'
  | 'phase'
>

/**
 * The phased source's label rules, first match wins. `attackCoin` is a uniform draw in [0, 1) for rule 6
 * (attack phase and coin < 0.15); the generator draws it only when rules 1–5 did not match.
 */
export function labelTransaction(fields: LabelFields, attackCoin = 1): LabelRule {
  const rule = firstTransactionRule(fields)
  if (rule !== 0) return rule
  return fields.phase === 'attack' && attackCoin < attackCoinProbability ? 6 : 0
}

// ── Generator ───────────────────────────────────────────────────────────────

export interface PhasedGeneratorOptions {
  seed: number
  /** Number of distinct users; user ids are 1–1000 by default. */
  users?: number
  /** Simulated time of event 0, ms since the Unix epoch. Keep it fixed across restarts. */
  startTimeMs?: number
  /**
   * Mean of the exponential gap between simulated event times. 10 ms matches the default
   * rate of 100 events/s, so at default speed simulated time keeps pace with the wall clock.
   */
  meanGapMs?: number
}

export const phasedDefaults = {
  users: 1000,
  startTimeMs: Date.UTC(2025, 0, 1),
  meanGapMs: 10,
  initialUserAverage: 150.0,
} as const

/** Per-phase parameters flattened for the hot loop. */
interface CompiledPhase {
  readonly phase: Phase
  readonly phaseNumber: 0 | 1 | 2
  readonly parameters: PhaseParameters
  /** Cumulative hour weights normalised to end at 1, or null for uniform. */
  readonly hourCumulative: Float64Array | null
  readonly merchantCumulative: Float64Array
  readonly merchantCategories: readonly string[]
}

function cumulative(weights: readonly number[]): Float64Array {
  const result = new Float64Array(weights.length)
  let total = 0
  for (const weight of weights) total += weight
  let running = 0
  for (let i = 0; i < weights.length; i++) {
    running += weights[i]!
    result[i] = running / total
  }
  result[weights.length - 1] = 1
  return result
}

function indexIn(cumulativeWeights: Float64Array, u: number): number {
  const last = cumulativeWeights.length - 1
  for (let i = 0; i < last; i++) if (u < cumulativeWeights[i]!) return i
  return last
}

function compilePhase(phase: Phase): CompiledPhase {
  const parameters: PhaseParameters = phaseParameters[phase]
  return {
    phase,
    phaseNumber: phaseNumber[phase],
    parameters,
    hourCumulative: parameters.hourWeights === null ? null : cumulative(parameters.hourWeights),
    merchantCumulative: cumulative(parameters.merchantMix.map((share) => share.weight)),
    merchantCategories: parameters.merchantMix.map((share) => share.category),
  }
}

const compiledPhases = { normal: compilePhase('normal'), drift: compilePhase('drift'), attack: compilePhase('attack') }

/**
 * Generates PhasedTransaction events; event numbers start at 0. Every random draw happens in
 * one private step shared by `next` and `fastForward`, so a generator fast-forwarded to n
 * continues exactly like one that produced events 0…n-1 (restart continuity).
 */
export class PhasedGenerator {
  readonly #random: Random
  readonly #userCount: number
  readonly #meanGapMs: number
  readonly #userIds: readonly string[]
  readonly #transactionIdPrefix: string
  /** Running average amount and event count per user, indexed by user number - 1. */
  readonly #userAverage: Float64Array
  readonly #userEventCount: Float64Array
  #eventNumber = 0
  #clockMs: number

  // Fields of the last step, read by `next` to build the event.
  #stepUser = 0
  #stepTimeMs = 0
  #stepAmount = 0
  #stepUserAverage = 0
  #stepHour = 0
  #stepMerchant = ''
  #stepLocationMatch = false
  #stepDeviceKnown = false
  #stepTransactionsLastHour = 0
  #stepRule: LabelRule = 0
  #stepPhase: CompiledPhase = compiledPhases.normal
  /** The step's fields the label rules read, reused so that labelling allocates nothing. */
  readonly #labelled: TransactionLike = {
    amount: 0,
    user_avg_amount: 0,
    transactions_last_hour: 0,
    location_match: false,
    device_known: false,
    merchant_category: '',
    hour_of_day: 0,
  }

  // ISO-8601 of the current simulated second, reused while events share it.
  #isoSecond = Number.NaN
  #isoPrefix = ''

  constructor(options: PhasedGeneratorOptions) {
    const users = options.users ?? phasedDefaults.users
    if (!Number.isInteger(users) || users < 1) throw new RangeError(`users must be a positive integer, got ${users}`)
    const meanGapMs = options.meanGapMs ?? phasedDefaults.meanGapMs
    if (!(meanGapMs >= 0)) throw new RangeError(`meanGapMs must be >= 0, got ${meanGapMs}`)
    this.#random = new Random(options.seed)
    this.#userCount = users
    this.#meanGapMs = meanGapMs
    this.#clockMs = options.startTimeMs ?? phasedDefaults.startTimeMs
    this.#userIds = Array.from({ length: users }, (_, i) => `user_${i + 1}`)
    this.#transactionIdPrefix = `txn-${(options.seed >>> 0).toString(16).padStart(8, '0')}-`
    this.#userAverage = new Float64Array(users).fill(phasedDefaults.initialUserAverage)
    this.#userEventCount = new Float64Array(users)
  }

  /** Number of the next event to be generated (= events generated or skipped so far). */
  get eventNumber(): number {
    return this.#eventNumber
  }

  /** Simulated time (ms) the next event will carry. */
  get simulatedTimeMs(): number {
    return Math.floor(this.#clockMs)
  }

  /** Advances the stream without building events until `eventNumber === toEventNumber`. */
  fastForward(toEventNumber: number): void {
    if (!Number.isInteger(toEventNumber) || toEventNumber < this.#eventNumber) {
      throw new RangeError(`cannot fast-forward from event ${this.#eventNumber} to ${toEventNumber}`)
    }
    while (this.#eventNumber < toEventNumber) this.#step()
  }

  /** The next transaction; `wallClockSeconds` becomes its ingestion_timestamp. */
  next(wallClockSeconds: number): PhasedTransaction {
    const eventNumber = this.#eventNumber
    this.#step()
    const compiled = this.#stepPhase
    const amount = this.#stepAmount
    const userAverage = this.#stepUserAverage
    const rule = this.#stepRule
    return {
      kind: 'transaction',
      transaction_id: this.#transactionIdPrefix + eventNumber,
      user_id: this.#userIds[this.#stepUser]!,
      event_number: eventNumber,
      timestamp: this.#iso(this.#stepTimeMs),
      ingestion_timestamp: wallClockSeconds,
      amount,
      merchant_category: this.#stepMerchant,
      hour_of_day: this.#stepHour,
      location_match: this.#stepLocationMatch,
      device_known: this.#stepDeviceKnown,
      transactions_last_hour: this.#stepTransactionsLastHour,
      // the exact pre-event average, so rule 1 can be re-checked from the event itself
      user_avg_amount: userAverage,
      amount_vs_user_avg: Math.round((amount / userAverage) * 10_000) / 10_000,
      phase: compiled.phase,
      phase_number: compiled.phaseNumber,
      drift_injected: compiled.phaseNumber !== 0,
      anomaly_label: rule === 0 ? 0 : 1,
      label_rule: rule,
    }
  }

  /** One event's worth of random draws and state updates, in a fixed order. */
  #step(): void {
    const random = this.#random
    const compiled = compiledPhases[phaseOf(this.#eventNumber)]
    const parameters = compiled.parameters

    const user = Math.floor(random.next() * this.#userCount)
    let amount = random.normal(parameters.amountMean, parameters.amountStd)
    if (amount < parameters.amountMinimum) amount = parameters.amountMinimum
    amount = Math.round(amount * 100) / 100
    const hour =
      compiled.hourCumulative === null
        ? Math.floor(random.next() * 24)
        : indexIn(compiled.hourCumulative, random.next())
    const merchantIndex = indexIn(compiled.merchantCumulative, random.next())
    const locationMatch = random.next() < parameters.locationMatchProbability
    const deviceKnown = random.next() < parameters.deviceKnownProbability
    const range = parameters.transactionsLastHour
    const transactionsLastHour = range.min + Math.floor(random.next() * (range.max - range.min + 1))

    const userAverage = this.#userAverage[user]!
    const labelled = this.#labelled
    labelled.amount = amount
    labelled.user_avg_amount = userAverage
    labelled.transactions_last_hour = transactionsLastHour
    labelled.location_match = locationMatch
    labelled.device_known = deviceKnown
    labelled.merchant_category = compiled.merchantCategories[merchantIndex]!
    labelled.hour_of_day = hour
    let rule: LabelRule = firstTransactionRule(labelled)
    if (rule === 0 && compiled.phase === 'attack' && random.next() < attackCoinProbability) {
      rule = 6
    }

    const count = this.#userEventCount[user]! + 1
    this.#userEventCount[user] = count
    this.#userAverage[user] = userAverage + (amount - userAverage) / count

    this.#stepTimeMs = Math.floor(this.#clockMs)
    if (this.#meanGapMs > 0) this.#clockMs += random.exponential(1 / this.#meanGapMs)

    this.#stepUser = user
    this.#stepAmount = amount
    this.#stepUserAverage = userAverage
    this.#stepHour = hour
    this.#stepMerchant = compiled.merchantCategories[merchantIndex]!
    this.#stepLocationMatch = locationMatch
    this.#stepDeviceKnown = deviceKnown
    this.#stepTransactionsLastHour = transactionsLastHour
    this.#stepRule = rule
    this.#stepPhase = compiled
    this.#eventNumber++
  }

  #iso(timeMs: number): string {
    const second = Math.floor(timeMs / 1000)
    if (second !== this.#isoSecond) {
      this.#isoSecond = second
      // "YYYY-MM-DDTHH:mm:ss."
      this.#isoPrefix = new Date(second * 1000).toISOString().slice(0, 20)
    }
    const millisecond = timeMs - second * 1000
    return this.#isoPrefix + (millisecond < 10 ? '00' : millisecond < 100 ? '0' : '') + millisecond + 'Z'
  }
}
