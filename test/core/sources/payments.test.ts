import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Payment } from '../../../src/core/events.ts'
import { commissionFor, PaymentGenerator, paymentAmounts, vatFor } from '../../../src/core/sources/payments.ts'

const midnight = Date.UTC(2025, 2, 3)
const hourMs = 3_600_000

function take(generator: PaymentGenerator, count: number): Payment[] {
  return Array.from({ length: count }, () => generator.next(1_750_000_000))
}

function gapsOf(payments: readonly Payment[]): number[] {
  const gaps: number[] = []
  for (let i = 1; i < payments.length; i++) {
    gaps.push(Date.parse(payments[i]!.timestamp) - Date.parse(payments[i - 1]!.timestamp))
  }
  return gaps
}

/** Kolmogorov–Smirnov statistic of `sample` against Exp(rate). */
function ksExponential(sample: readonly number[], rate: number): number {
  const sorted = [...sample].sort((a, b) => a - b)
  const n = sorted.length
  let d = 0
  for (let i = 0; i < n; i++) {
    const cdf = 1 - Math.exp(-rate * sorted[i]!)
    d = Math.max(d, cdf - i / n, (i + 1) / n - cdf)
  }
  return d
}

/** One simulated day at the default settings, shared by the tests below. */
const day = (() => {
  const generator = new PaymentGenerator({ seed: 7, startTimeMs: midnight })
  const payments: Payment[] = []
  while (generator.nextEventTimeMs < midnight + 24 * hourMs) payments.push(generator.next(1_750_000_000))
  return payments
})()

describe('PaymentGenerator arrivals', () => {
  it('off-peak gaps are exponential at 100 per minute (KS test)', () => {
    const payments = take(new PaymentGenerator({ seed: 11, startTimeMs: midnight, fraudRate: 0 }), 10_001)
    assert.ok(Date.parse(payments.at(-1)!.timestamp) < midnight + 9 * hourMs, 'stays before the 09:00 peak')
    const gaps = gapsOf(payments)
    const rate = 100 / 60_000
    const d = ksExponential(gaps, rate)
    const critical = 1.63 / Math.sqrt(gaps.length) // α = 0.01
    console.log(`KS off-peak: D = ${d.toFixed(4)}, critical ${critical.toFixed(4)}, n = ${gaps.length}`)
    assert.ok(d < critical, `D = ${d}`)
    // the same test rejects the peak rate, so it has power here
    assert.ok(ksExponential(gaps, rate * 2.5) > critical)
    const meanGap = gaps.reduce((sum, gap) => sum + gap, 0) / gaps.length
    assert.ok(Math.abs(meanGap - 600) < 4 * (600 / Math.sqrt(gaps.length)), `mean gap ${meanGap}`)
  })

  it('peak gaps are exponential at 250 per minute (KS test)', () => {
    const start = midnight + 10 * hourMs
    const payments = take(new PaymentGenerator({ seed: 12, startTimeMs: start, fraudRate: 0 }), 10_001)
    assert.ok(Date.parse(payments.at(-1)!.timestamp) < midnight + 18 * hourMs)
    const gaps = gapsOf(payments)
    assert.ok(ksExponential(gaps, 250 / 60_000) < 1.63 / Math.sqrt(gaps.length))
  })

  it('runs 2.5× faster between 09:00 and 18:00 than the rest of the day', () => {
    let peak = 0
    for (const payment of day) {
      const hour = new Date(payment.timestamp).getUTCHours()
      if (hour >= 9 && hour < 18) peak++
    }
    const offPeak = day.length - peak
    const ratio = peak / 9 / (offPeak / 15)
    console.log(`payments in one day: ${day.length}, peak/off-peak rate ratio ${ratio.toFixed(3)}`)
    // expected 100 × 15 × 60 + 250 × 9 × 60 = 225,000
    assert.ok(Math.abs(day.length - 225_000) < 4 * Math.sqrt(225_000))
    assert.ok(Math.abs(ratio - 2.5) < 0.05, `ratio ${ratio}`)
  })

  it('emits in time order', () => {
    let previous = 0
    for (const payment of day) {
      const timeMs = Date.parse(payment.timestamp)
      assert.ok(timeMs >= previous)
      previous = timeMs
    }
  })
})

describe('Payment contents', () => {
  it('commission and VAT follow the documented schedules (seed example: 150,000 → 166,500)', () => {
    assert.equal(commissionFor('flat', 150_000), 3_000)
    assert.equal(vatFor(150_000), 13_500)
    assert.equal(150_000 + commissionFor('flat', 150_000) + vatFor(150_000), 166_500)
    assert.equal(commissionFor('progressive', 1_000_000), 20_000)
    assert.equal(commissionFor('progressive', 100_000), 1_100)
    assert.equal(commissionFor('tiered', 100_000), 2_500)
    assert.equal(commissionFor('tiered', 1_500_000), 5_000 + 16_000 + 7_500)
  })

  it('every payment is well formed and its total adds up exactly', () => {
    const customerTraits = new Map<string, string>()
    const merchantTraits = new Map<string, string>()
    for (const p of day) {
      assert.ok(Number.isInteger(p.amount) && p.amount >= paymentAmounts.minimum && p.amount <= paymentAmounts.maximum)
      assert.equal(p.commission_amount, commissionFor(p.commission_type, p.amount))
      assert.equal(p.vat_amount, vatFor(p.amount))
      assert.equal(p.total_amount, p.amount + p.commission_amount + p.vat_amount)
      assert.ok(Number.isInteger(p.total_amount))
      assert.equal(p.failure_reason === null, p.status === 'approved')
      assert.match(p.transaction_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.ok(p.risk_level >= 1 && p.risk_level <= 5)
      const customer = `${p.customer_type}/${p.risk_level}`
      assert.equal(customerTraits.get(p.customer_id) ?? customer, customer, 'a customer keeps type and risk')
      customerTraits.set(p.customer_id, customer)
      const merchant = `${p.merchant_category}/${p.commission_type}`
      assert.equal(merchantTraits.get(p.merchant_id) ?? merchant, merchant, 'a merchant keeps category and commission')
      merchantTraits.set(p.merchant_id, merchant)
    }
    assert.equal(customerTraits.size, 1000)
    assert.equal(merchantTraits.size, 50)
    const categories = new Set(day.map((p) => p.merchant_category))
    assert.deepEqual([...categories].sort(), [
      'entertainment',
      'food_service',
      'government',
      'retail',
      'transportation',
    ])
    assert.deepEqual([...new Set(day.map((p) => p.payment_method))].sort(), ['mobile', 'nfc', 'online', 'pos'])
    assert.deepEqual([...new Set(day.map((p) => p.customer_type))].sort(), ['CIP', 'business', 'individual'])
  })

  it('declines about 5% and marks about 2% as fraud', () => {
    const declined = day.filter((p) => p.status === 'declined').length / day.length
    const fraud = day.filter((p) => p.is_fraud).length / day.length
    console.log(`declined ${declined.toFixed(4)}, fraud ${fraud.toFixed(4)}`)
    assert.ok(Math.abs(declined - 0.05) < 0.002, `declined ${declined}`)
    // fraud comes in episodes of several payments, so its share varies more than a coin's
    assert.ok(Math.abs(fraud - 0.02) < 0.003, `fraud ${fraud}`)
  })

  it('fraud episodes are found by the payment fraud rules; honest customers rarely trip them', () => {
    const history = new Map<string, Payment[]>()
    // an episode: a customer's run of fraud payments; found if a rule fires on one of them
    const episodes = new Map<string, { payments: number; found: boolean }>()
    let honestAlerts = 0
    let honestChecks = 0
    for (const p of day) {
      const recent = history.get(p.customer_id) ?? []
      recent.push(p)
      if (recent.length > 10) recent.shift()
      history.set(p.customer_id, recent)
      const highValue = recent.filter((r) => r.amount > paymentAmounts.highValueAbove).length >= 3
      const lastFive = recent.slice(-5)
      const velocity =
        lastFive.length === 5 && Date.parse(lastFive[4]!.timestamp) - Date.parse(lastFive[0]!.timestamp) < 60_000
      const alert = highValue || velocity
      if (p.is_fraud) {
        const key = p.customer_id
        const episode = episodes.get(key) ?? { payments: 0, found: false }
        episode.payments++
        episode.found ||= alert
        episodes.set(key, episode)
      } else if (!recent.some((r) => r.is_fraud)) {
        honestChecks++
        if (alert) honestAlerts++
      }
    }
    const multi = [...episodes.values()].filter((e) => e.payments >= 3)
    const found = multi.filter((e) => e.found).length / multi.length
    const falseAlarms = honestAlerts / honestChecks
    console.log(
      `fraud customers with 3+ payments: ${multi.length}, found ${found.toFixed(3)}; honest alerts ${falseAlarms}`,
    )
    assert.ok(multi.length > 100)
    assert.ok(found > 0.9, `found ${found}`)
    assert.ok(falseAlarms < 0.001, `false alarms ${falseAlarms}`)
  })

  it('the same seed gives the same payments; another seed other payments', () => {
    const a = take(new PaymentGenerator({ seed: 3, startTimeMs: midnight }), 500)
    const b = take(new PaymentGenerator({ seed: 3, startTimeMs: midnight }), 500)
    const c = take(new PaymentGenerator({ seed: 4, startTimeMs: midnight }), 500)
    assert.deepEqual(a, b)
    assert.notDeepEqual(
      a.map((p) => p.transaction_id),
      c.map((p) => p.transaction_id),
    )
  })

  it('rejects settings out of range', () => {
    assert.throws(() => new PaymentGenerator({ seed: 1, startTimeMs: 0, baseRatePerMinute: 0 }), RangeError)
    assert.throws(() => new PaymentGenerator({ seed: 1, startTimeMs: 0, declinedRate: 1.5 }), RangeError)
    assert.throws(
      () => new PaymentGenerator({ seed: 1, startTimeMs: 0, peakStartHour: 18, peakEndHour: 9 }),
      RangeError,
    )
  })
})

describe('PaymentGenerator.backfill', () => {
  const nowMs = Date.UTC(2025, 5, 10, 13, 27, 45)
  const weekMs = 7 * 24 * hourMs
  const backfill = new PaymentGenerator({ seed: 21, startTimeMs: nowMs }).backfill({ nowMs, wallClockSeconds: 42 })

  it('produces 20,000 events over the 7 days before now, in time order', () => {
    assert.equal(backfill.length, 20_000)
    const times = backfill.map((p) => Date.parse(p.timestamp))
    for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, `order at ${i}`)
    assert.ok(times[0]! >= nowMs - weekMs && times[0]! < nowMs - weekMs + hourMs, 'starts a week ago')
    assert.ok(times.at(-1)! < nowMs && times.at(-1)! > nowMs - hourMs, 'ends just before now')
    const perDay = new Array(7).fill(0)
    for (const t of times) perDay[Math.floor((t - (nowMs - weekMs)) / (24 * hourMs))]++
    for (const count of perDay) assert.ok(Math.abs(count - 20_000 / 7) < 250, `per day ${perDay}`)
    assert.ok(backfill.every((p) => p.ingestion_timestamp === 42))
  })

  it('keeps the daily peak, fraud share and decline share', () => {
    const peak = backfill.filter((p) => {
      const hour = new Date(p.timestamp).getUTCHours()
      return hour >= 9 && hour < 18
    }).length
    const ratio = peak / 9 / ((backfill.length - peak) / 15)
    assert.ok(Math.abs(ratio - 2.5) < 0.2, `ratio ${ratio}`)
    const fraud = backfill.filter((p) => p.is_fraud).length / backfill.length
    assert.ok(fraud > 0.012 && fraud < 0.028, `fraud ${fraud}`)
    const declined = backfill.filter((p) => p.status === 'declined').length / backfill.length
    assert.ok(Math.abs(declined - 0.05) < 0.007, `declined ${declined}`)
  })

  it('honours count and days', () => {
    const small = new PaymentGenerator({ seed: 2, startTimeMs: nowMs }).backfill({
      nowMs,
      wallClockSeconds: 0,
      count: 300,
      days: 1,
    })
    assert.equal(small.length, 300)
    assert.ok(small.every((p) => Date.parse(p.timestamp) >= nowMs - 24 * hourMs && Date.parse(p.timestamp) < nowMs))
  })
})
