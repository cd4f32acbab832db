// Payment events for a payment processor: Poisson arrivals on simulated
// time with a daytime peak, injected fraud episodes that the payment fraud rules can find, and a
// historical backfill. Pure: times and the wall clock are passed in; randomness is seeded.

import type { Payment } from '../events.ts'
import { Random } from '../random.ts'

type MerchantCategory = Payment['merchant_category']
type PaymentMethod = Payment['payment_method']
type CommissionType = Payment['commission_type']
type CustomerType = Payment['customer_type']
type RiskLevel = Payment['risk_level']

const minuteMs = 60_000
const hourMs = 3_600_000
const dayMs = 86_400_000

export const paymentDefaults = {
  baseRatePerMinute: 100,
  peakFactor: 2.5,
  /** Peak hours are [start, end) in UTC hours of simulated time. */
  peakStartHour: 9,
  peakEndHour: 18,
  fraudRate: 0.02,
  declinedRate: 0.05,
  merchants: 50,
  customers: 1000,
  backfillCount: 20_000,
  backfillDays: 7,
} as const

export const paymentAmounts = {
  minimum: 50_000,
  maximum: 2_000_000,
  /** "High value" as the fraud rule counts it (three or more among the last ten). */
  highValueAbove: 1_000_000,
  vatRate: 0.09,
} as const

/**
 * How injected fraud looks. Each episode hits one customer:
 * - velocity_burst: 5–8 payments 2–10 s apart (so 5 fall within 60 s), modest amounts, online
 *   or mobile, from another city and an unfamiliar device;
 * - high_value_spree: 3–5 payments over 1,100,000 a few minutes apart (so 3+ sit among the
 *   customer's last ten);
 * - card_not_present: one large online payment from another city and device.
 */
export const fraudPatterns = {
  velocity_burst: { weight: 0.5, minPayments: 5, maxPayments: 8 },
  high_value_spree: { weight: 0.35, minPayments: 3, maxPayments: 5 },
  card_not_present: { weight: 0.15, minPayments: 1, maxPayments: 1 },
} as const
export type FraudPattern = keyof typeof fraudPatterns
const fraudPatternNames = Object.keys(fraudPatterns) as FraudPattern[]
const fraudPatternWeights = fraudPatternNames.map((name) => fraudPatterns[name].weight)
const burstGapMs = { min: 2_000, max: 10_000 } as const
const spreeMeanGapMs = 4 * minuteMs
/** Declines among fraud payments are likelier than among legitimate ones (capped by the overall rate). */
const fraudDeclineProbability = 0.25

/** Mean number of payments per fraud episode, weighted by pattern. */
const meanEpisodeLength = (() => {
  let total = 0
  let weights = 0
  for (const pattern of Object.values(fraudPatterns)) {
    total += pattern.weight * ((pattern.minPayments + pattern.maxPayments) / 2)
    weights += pattern.weight
  }
  return total / weights
})()

const merchantCategories: readonly MerchantCategory[] = [
  'retail',
  'food_service',
  'entertainment',
  'transportation',
  'government',
]
const merchantCategoryWeights = [0.35, 0.3, 0.12, 0.15, 0.08]
const paymentMethods: readonly PaymentMethod[] = ['online', 'pos', 'mobile', 'nfc']
const paymentMethodWeights = [0.35, 0.3, 0.25, 0.1]
const commissionTypes: readonly CommissionType[] = ['flat', 'progressive', 'tiered']
const commissionTypeWeights = [0.5, 0.3, 0.2]

/**
 * Legitimate amounts are log-normal per customer type, clipped to [50,000, 2,000,000] and
 * rounded to 1,000, so that high-value payments (> 1,000,000) are rare for honest customers
 * (about 0.4% / 2.3% / 1.4% for individual / CIP / business) and three among ten stand out.
 */
const customerProfiles = {
  individual: { share: 0.8, medianAmount: 150_000, sigma: 0.7, riskWeights: [0.35, 0.3, 0.2, 0.1, 0.05] },
  CIP: { share: 0.05, medianAmount: 300_000, sigma: 0.6, riskWeights: [0.6, 0.3, 0.1, 0, 0] },
  business: { share: 0.15, medianAmount: 300_000, sigma: 0.55, riskWeights: [0.3, 0.35, 0.2, 0.1, 0.05] },
} as const satisfies Record<CustomerType, unknown>
const customerTypes = Object.keys(customerProfiles) as CustomerType[]
const customerTypeWeights = customerTypes.map((type) => customerProfiles[type].share)

/** Cities customers live in (Tehran and other cities); weights are population-like. */
const cities = [
  { name: 'Tehran', lat: 35.6892, lng: 51.389, weight: 0.5 },
  { name: 'Mashhad', lat: 36.2605, lng: 59.6168, weight: 0.15 },
  { name: 'Isfahan', lat: 32.6546, lng: 51.668, weight: 0.12 },
  { name: 'Shiraz', lat: 29.5918, lng: 52.5837, weight: 0.12 },
  { name: 'Tabriz', lat: 38.08, lng: 46.2919, weight: 0.11 },
] as const
const cityWeights = cities.map((city) => city.weight)
const operatingSystems = ['Android', 'iOS'] as const
const operatingSystemWeights = [0.65, 0.35]
const appVersions = ['2.4.1', '2.5.0', '2.5.3', '3.0.0', '3.1.2'] as const

const legitimateFailureReasons = ['insufficient_funds', 'incorrect_pin', 'card_expired', 'system_error'] as const
const legitimateFailureWeights = [0.45, 0.2, 0.15, 0.2]
const fraudFailureReasons = ['suspected_fraud', 'insufficient_funds', 'limit_exceeded'] as const
const fraudFailureWeights = [0.6, 0.2, 0.2]

/** Commission in whole currency units. */
export function commissionFor(type: CommissionType, amount: number): number {
  switch (type) {
    case 'flat':
      // a fixed percentage
      return Math.round(amount * 0.02)
    case 'progressive': {
      // the rate itself grows with the amount, from 1% to 3% at 2,000,000
      const rate = 0.01 + (0.02 * Math.min(amount, paymentAmounts.maximum)) / paymentAmounts.maximum
      return Math.round(amount * rate)
    }
    case 'tiered':
      // marginal brackets: 2.5% of the first 200,000, 2% up to 1,000,000, 1.5% above
      return Math.round(
        Math.min(amount, 200_000) * 0.025 +
          Math.max(0, Math.min(amount, 1_000_000) - 200_000) * 0.02 +
          Math.max(0, amount - 1_000_000) * 0.015,
      )
  }
}

export function vatFor(amount: number): number {
  return Math.round(amount * paymentAmounts.vatRate)
}

export interface PaymentGeneratorOptions {
  seed: number
  /** Simulated time where the live stream starts, ms since the Unix epoch. */
  startTimeMs: number
  baseRatePerMinute?: number
  peakFactor?: number
  peakStartHour?: number
  peakEndHour?: number
  /** Share of payments that are fraud (is_fraud = true). */
  fraudRate?: number
  /** Share of payments declined. */
  declinedRate?: number
  merchants?: number
  customers?: number
}

export interface BackfillOptions {
  /** End of the backfill window (exclusive), ms since the Unix epoch; usually "now". */
  nowMs: number
  /** Becomes every backfilled event's ingestion_timestamp. */
  wallClockSeconds: number
  count?: number
  days?: number
}

interface Customer {
  readonly id: string
  readonly type: CustomerType
  readonly riskLevel: RiskLevel
  readonly city: number
  readonly lat: number
  readonly lng: number
  readonly os: string
  readonly appVersion: string
}

interface Merchant {
  readonly id: string
  readonly category: MerchantCategory
  readonly commissionType: CommissionType
}

interface PendingFraud {
  readonly timeMs: number
  readonly customer: number
  readonly pattern: FraudPattern
}

function requireRange(name: string, value: number, min: number, max: number): number {
  if (!(value >= min && value <= max)) throw new RangeError(`${name} must be in [${min}, ${max}], got ${value}`)
  return value
}

/**
 * Generates Payment events. Arrival slots come from a Poisson process whose rate is
 * base × peak factor inside peak hours; each slot is a legitimate payment or, with a small
 * probability, the first payment of a fraud episode whose later payments are scheduled ahead.
 * A scheduled fraud payment takes the place of the next arrival slot, so the event count still
 * follows the Poisson process and fraud makes up `fraudRate` of all events.
 */
export class PaymentGenerator {
  readonly #random: Random
  readonly #customers: readonly Customer[]
  readonly #merchants: readonly Merchant[]
  readonly #merchantPopularity: readonly number[]
  readonly #baseRatePerMs: number
  readonly #peakFactor: number
  readonly #peakStartMs: number
  readonly #peakEndMs: number
  /** Probability that a fresh arrival slot starts a fraud episode. */
  readonly #episodeProbability: number
  readonly #legitimateDeclineProbability: number
  readonly #fraudDeclineProbability: number
  readonly #pending: PendingFraud[] = []
  #nextSlotMs: number

  constructor(options: PaymentGeneratorOptions) {
    const baseRatePerMinute = options.baseRatePerMinute ?? paymentDefaults.baseRatePerMinute
    if (!(baseRatePerMinute > 0)) throw new RangeError(`baseRatePerMinute must be > 0, got ${baseRatePerMinute}`)
    this.#peakFactor = requireRange('peakFactor', options.peakFactor ?? paymentDefaults.peakFactor, 0.000001, 1e6)
    const peakStartHour = requireRange('peakStartHour', options.peakStartHour ?? paymentDefaults.peakStartHour, 0, 24)
    const peakEndHour = requireRange('peakEndHour', options.peakEndHour ?? paymentDefaults.peakEndHour, 0, 24)
    if (peakEndHour < peakStartHour) throw new RangeError('peakEndHour must not be before peakStartHour')
    const fraudRate = requireRange('fraudRate', options.fraudRate ?? paymentDefaults.fraudRate, 0, 0.5)
    const declinedRate = requireRange('declinedRate', options.declinedRate ?? paymentDefaults.declinedRate, 0, 1)
    const merchantCount = options.merchants ?? paymentDefaults.merchants
    const customerCount = options.customers ?? paymentDefaults.customers
    if (!Number.isInteger(merchantCount) || merchantCount < 1)
      throw new RangeError('merchants must be a positive integer')
    if (!Number.isInteger(customerCount) || customerCount < 1)
      throw new RangeError('customers must be a positive integer')

    this.#random = new Random(options.seed)
    this.#baseRatePerMs = baseRatePerMinute / minuteMs
    this.#peakStartMs = peakStartHour * hourMs
    this.#peakEndMs = peakEndHour * hourMs
    // share f = pL / (1 + p(L − 1)) solved for p, with L the mean episode length
    this.#episodeProbability = fraudRate / (meanEpisodeLength - fraudRate * (meanEpisodeLength - 1))
    this.#fraudDeclineProbability = Math.min(fraudDeclineProbability, declinedRate)
    this.#legitimateDeclineProbability = (declinedRate - fraudRate * this.#fraudDeclineProbability) / (1 - fraudRate)

    const entities = this.#random.fork()
    this.#customers = Array.from({ length: customerCount }, (_, i) => makeCustomer(entities, i))
    this.#merchants = Array.from({ length: merchantCount }, (_, i) => ({
      id: `merch_${i + 1}`,
      category: merchantCategories[entities.weightedIndex(merchantCategoryWeights)]!,
      commissionType: commissionTypes[entities.weightedIndex(commissionTypeWeights)]!,
    }))
    // a few merchants see most of the traffic (Zipf-like)
    this.#merchantPopularity = this.#merchants.map((_, i) => 1 / (i + 1) ** 0.8)
    this.#nextSlotMs = this.#arrivalAfter(options.startTimeMs)
  }

  /** Simulated time (ms) of the next event from `next()`; the runner waits for it when pacing. */
  get nextEventTimeMs(): number {
    const pending = this.#pending[0]
    return pending !== undefined && pending.timeMs <= this.#nextSlotMs ? pending.timeMs : this.#nextSlotMs
  }

  /** Arrival rate (events per ms) at simulated time `timeMs`. */
  rateAt(timeMs: number): number {
    const msOfDay = timeMs - Math.floor(timeMs / dayMs) * dayMs
    const peak = msOfDay >= this.#peakStartMs && msOfDay < this.#peakEndMs
    return peak ? this.#baseRatePerMs * this.#peakFactor : this.#baseRatePerMs
  }

  /** The next payment of the live stream; `wallClockSeconds` becomes its ingestion_timestamp. */
  next(wallClockSeconds: number): Payment {
    const slotMs = this.#nextSlotMs
    const payment = this.#fillSlot(slotMs, this.#pending, Number.POSITIVE_INFINITY, wallClockSeconds)
    this.#nextSlotMs = this.#arrivalAfter(slotMs)
    return payment
  }

  /**
   * `count` historical payments spread over the `days` before `nowMs`, in time order. Slot
   * density follows the same daily peak as the live stream; fraud episodes are cut at `nowMs`.
   * Does not disturb the live stream's pending fraud.
   */
  backfill(options: BackfillOptions): Payment[] {
    const count = options.count ?? paymentDefaults.backfillCount
    const days = options.days ?? paymentDefaults.backfillDays
    if (!Number.isInteger(count) || count < 0)
      throw new RangeError(`count must be a non-negative integer, got ${count}`)
    if (!(days > 0)) throw new RangeError(`days must be > 0, got ${days}`)
    const endMs = options.nowMs
    const startMs = endMs - days * dayMs
    const random = this.#random
    const maxRate = this.#baseRatePerMs * Math.max(1, this.#peakFactor)
    const slots = new Float64Array(count)
    for (let i = 0; i < count; i++) {
      // rejection sampling: uniform times thinned by the relative rate at that time
      let timeMs: number
      do timeMs = startMs + random.next() * (endMs - startMs)
      while (random.next() * maxRate >= this.rateAt(timeMs))
      slots[i] = Math.floor(timeMs)
    }
    slots.sort()
    const pending: PendingFraud[] = []
    const payments: Payment[] = new Array(count)
    for (let i = 0; i < count; i++) payments[i] = this.#fillSlot(slots[i]!, pending, endMs, options.wallClockSeconds)
    return payments
  }

  /** Next arrival of the non-homogeneous Poisson process after `fromMs` (exact across rate changes). */
  #arrivalAfter(fromMs: number): number {
    let work = this.#random.exponential(1)
    let timeMs = fromMs
    for (;;) {
      const dayStartMs = Math.floor(timeMs / dayMs) * dayMs
      const msOfDay = timeMs - dayStartMs
      const segmentEndMs =
        dayStartMs +
        (msOfDay < this.#peakStartMs ? this.#peakStartMs : msOfDay < this.#peakEndMs ? this.#peakEndMs : dayMs)
      const rate = this.rateAt(timeMs)
      const capacity = rate * (segmentEndMs - timeMs)
      if (work < capacity) return timeMs + work / rate
      work -= capacity
      timeMs = segmentEndMs
    }
  }

  /** The payment that takes arrival slot `slotMs`: a due fraud follow-up, or a fresh payment. */
  #fillSlot(slotMs: number, pending: PendingFraud[], horizonMs: number, wallClockSeconds: number): Payment {
    const due = pending[0]
    if (due !== undefined && due.timeMs <= slotMs) {
      pending.shift()
      return this.#payment(due.timeMs, due.customer, due.pattern, wallClockSeconds)
    }
    const random = this.#random
    const customer = Math.floor(random.next() * this.#customers.length)
    if (!random.bernoulli(this.#episodeProbability)) return this.#payment(slotMs, customer, null, wallClockSeconds)

    const pattern = fraudPatternNames[random.weightedIndex(fraudPatternWeights)]!
    const shape = fraudPatterns[pattern]
    const length = random.integer(shape.minPayments, shape.maxPayments)
    let timeMs = slotMs
    for (let k = 1; k < length; k++) {
      timeMs +=
        pattern === 'velocity_burst'
          ? random.uniform(burstGapMs.min, burstGapMs.max)
          : random.exponential(1 / spreeMeanGapMs)
      const scheduledMs = Math.floor(timeMs)
      if (scheduledMs >= horizonMs) break
      insertByTime(pending, { timeMs: scheduledMs, customer, pattern })
    }
    return this.#payment(slotMs, customer, pattern, wallClockSeconds)
  }

  #payment(timeMs: number, customerIndex: number, fraud: FraudPattern | null, wallClockSeconds: number): Payment {
    const random = this.#random
    const customer = this.#customers[customerIndex]!
    const merchant =
      fraud === null ? this.#merchants[random.weightedIndex(this.#merchantPopularity)]! : random.pick(this.#merchants)
    let method: PaymentMethod
    let amount: number
    let lat: number
    let lng: number
    let os = customer.os
    let appVersion = customer.appVersion
    if (fraud === null) {
      method = paymentMethods[random.weightedIndex(paymentMethodWeights)]!
      const profile = customerProfiles[customer.type]
      amount = Math.exp(Math.log(profile.medianAmount) + profile.sigma * random.normal())
      lat = customer.lat + random.normal(0, 0.03)
      lng = customer.lng + random.normal(0, 0.03)
      if (random.bernoulli(0.03)) {
        // a new phone now and then: honest customers are not perfectly consistent either
        os = operatingSystems[random.weightedIndex(operatingSystemWeights)]!
        appVersion = random.pick(appVersions)
      }
    } else {
      method = fraud === 'card_not_present' || random.bernoulli(0.7) ? 'online' : 'mobile'
      amount =
        fraud === 'velocity_burst'
          ? random.uniform(50_000, 400_000)
          : fraud === 'high_value_spree'
            ? random.uniform(1_100_000, paymentAmounts.maximum)
            : random.uniform(800_000, paymentAmounts.maximum)
      // another city than the customer's
      const city = cities[(customer.city + 1 + Math.floor(random.next() * (cities.length - 1))) % cities.length]!
      lat = city.lat + random.normal(0, 0.05)
      lng = city.lng + random.normal(0, 0.05)
      os = operatingSystems[random.weightedIndex(operatingSystemWeights)]!
      appVersion = random.pick(appVersions)
    }
    amount = Math.min(paymentAmounts.maximum, Math.max(paymentAmounts.minimum, Math.round(amount / 1000) * 1000))

    const declined = random.bernoulli(
      fraud === null ? this.#legitimateDeclineProbability : this.#fraudDeclineProbability,
    )
    const failureReason = !declined
      ? null
      : fraud === null
        ? legitimateFailureReasons[random.weightedIndex(legitimateFailureWeights)]!
        : fraudFailureReasons[random.weightedIndex(fraudFailureWeights)]!
    const commission = commissionFor(merchant.commissionType, amount)
    const vat = vatFor(amount)
    return {
      kind: 'payment',
      transaction_id: uuidFrom(random),
      timestamp: new Date(timeMs).toISOString(),
      ingestion_timestamp: wallClockSeconds,
      customer_id: customer.id,
      merchant_id: merchant.id,
      merchant_category: merchant.category,
      payment_method: method,
      amount,
      location: { lat: Math.round(lat * 10_000) / 10_000, lng: Math.round(lng * 10_000) / 10_000 },
      device_info: { os, app_version: appVersion },
      status: declined ? 'declined' : 'approved',
      failure_reason: failureReason,
      commission_type: merchant.commissionType,
      commission_amount: commission,
      vat_amount: vat,
      total_amount: amount + commission + vat,
      customer_type: customer.type,
      risk_level: customer.riskLevel,
      is_fraud: fraud !== null,
    }
  }
}

function makeCustomer(random: Random, index: number): Customer {
  const type = customerTypes[random.weightedIndex(customerTypeWeights)]!
  const city = random.weightedIndex(cityWeights)
  const home = cities[city]!
  return {
    id: `cust_${index + 1}`,
    type,
    riskLevel: (random.weightedIndex(customerProfiles[type].riskWeights) + 1) as RiskLevel,
    city,
    lat: home.lat + random.normal(0, 0.08),
    lng: home.lng + random.normal(0, 0.08),
    os: operatingSystems[random.weightedIndex(operatingSystemWeights)]!,
    appVersion: random.pick(appVersions),
  }
}

function insertByTime(pending: PendingFraud[], item: PendingFraud): void {
  let i = pending.length
  while (i > 0 && pending[i - 1]!.timeMs > item.timeMs) i--
  pending.splice(i, 0, item)
}

/** A version-4 UUID from the seeded stream, so transaction ids repeat with the seed. */
function uuidFrom(random: Random): string {
  const hex = (word: number) => (word >>> 0).toString(16).padStart(8, '0')
  const a = hex(random.uint32())
  const b = hex((random.uint32() & 0xffff0fff) | 0x00004000)
  const c = hex((random.uint32() & 0x3fffffff) | 0x80000000)
  const d = hex(random.uint32())
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${d}`
}
