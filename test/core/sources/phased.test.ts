import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { Phase, PhasedTransaction } from '../../../src/core/events.ts'
import {
  type LabelFields,
  labelTransaction,
  PhasedGenerator,
  phaseOf,
  phaseParameters,
  phaseTransitionAt,
} from '../../../src/core/sources/phased.ts'

const wallClock = 1_750_000_000.5

interface PhaseStats {
  count: number
  amountSum: number
  amountSquareSum: number
  amountMin: number
  locationMatches: number
  devicesKnown: number
  transactionsMin: number
  transactionsMax: number
  transactionsSum: number
  merchants: Map<string, number>
  hours: number[]
  labels: number
  rules: number[]
  /** Attack-phase events where rules 1–5 did not match (candidates for the rule-6 coin). */
  coinCandidates: number
}

function emptyStats(): PhaseStats {
  return {
    count: 0,
    amountSum: 0,
    amountSquareSum: 0,
    amountMin: Number.POSITIVE_INFINITY,
    locationMatches: 0,
    devicesKnown: 0,
    transactionsMin: Number.POSITIVE_INFINITY,
    transactionsMax: Number.NEGATIVE_INFINITY,
    transactionsSum: 0,
    merchants: new Map(),
    hours: new Array(24).fill(0),
    labels: 0,
    rules: new Array(7).fill(0),
    coinCandidates: 0,
  }
}

/** One full 250,000-event cycle, aggregated per phase; computed once and shared by the tests. */
const cycle = (() => {
  const generator = new PhasedGenerator({ seed: 20240601 })
  const stats: Record<Phase, PhaseStats> = { normal: emptyStats(), drift: emptyStats(), attack: emptyStats() }
  const phaseByNumber: Phase[] = []
  const inconsistent: string[] = []
  // independent re-computation of the per-user running average
  const averages = new Map<string, { average: number; count: number }>()
  let previousTimeMs = Number.NEGATIVE_INFINITY
  let firstTimeMs = 0
  let lastTimeMs = 0
  for (let n = 0; n < 250_000; n++) {
    const event = generator.next(wallClock)
    const s = stats[event.phase]
    s.count++
    s.amountSum += event.amount
    s.amountSquareSum += event.amount * event.amount
    s.amountMin = Math.min(s.amountMin, event.amount)
    if (event.location_match) s.locationMatches++
    if (event.device_known) s.devicesKnown++
    s.transactionsMin = Math.min(s.transactionsMin, event.transactions_last_hour)
    s.transactionsMax = Math.max(s.transactionsMax, event.transactions_last_hour)
    s.transactionsSum += event.transactions_last_hour
    s.merchants.set(event.merchant_category, (s.merchants.get(event.merchant_category) ?? 0) + 1)
    s.hours[event.hour_of_day]!++
    s.labels += event.anomaly_label
    s.rules[event.label_rule]!++
    if (n % 10_000 === 0) phaseByNumber.push(event.phase)

    const deterministicRule = labelTransaction(event)
    if (event.phase === 'attack' && deterministicRule === 0) s.coinCandidates++
    const expectedRule = event.label_rule === 6 ? 0 : event.label_rule
    if (deterministicRule !== expectedRule && inconsistent.length < 5) inconsistent.push(event.transaction_id)

    const user = averages.get(event.user_id) ?? { average: 150, count: 0 }
    if (event.user_avg_amount !== user.average && inconsistent.length < 5) inconsistent.push(`avg ${n}`)
    if (event.amount_vs_user_avg !== Math.round((event.amount / user.average) * 10_000) / 10_000) {
      inconsistent.push(`ratio ${n}`)
    }
    user.count++
    user.average += (event.amount - user.average) / user.count
    averages.set(event.user_id, user)

    const timeMs = Date.parse(event.timestamp)
    if (timeMs < previousTimeMs && inconsistent.length < 5) inconsistent.push(`time ${n}`)
    previousTimeMs = timeMs
    if (n === 0) firstTimeMs = timeMs
    lastTimeMs = timeMs
  }
  return { stats, inconsistent, users: averages.size, firstTimeMs, lastTimeMs }
})()

function mean(s: PhaseStats): number {
  return s.amountSum / s.count
}
function std(s: PhaseStats): number {
  const m = mean(s)
  return Math.sqrt(s.amountSquareSum / s.count - m * m)
}
/** |observed share − p| within 4 binomial standard errors. */
function assertProportion(successes: number, total: number, p: number, what: string): void {
  const share = successes / total
  const tolerance = 4 * Math.sqrt((p * (1 - p)) / total)
  assert.ok(Math.abs(share - p) <= tolerance, `${what}: ${share.toFixed(4)} vs ${p} ± ${tolerance.toFixed(4)}`)
}

describe('phaseOf and phase transitions', () => {
  it('switches phase exactly at 100,000, 200,000 and 250,000 (cyclic)', () => {
    const expectations: [number, Phase][] = [
      [0, 'normal'],
      [99_999, 'normal'],
      [100_000, 'drift'],
      [199_999, 'drift'],
      [200_000, 'attack'],
      [249_999, 'attack'],
      [250_000, 'normal'],
      [349_999, 'normal'],
      [350_000, 'drift'],
      [450_000, 'attack'],
      [500_000, 'normal'],
    ]
    for (const [n, phase] of expectations) assert.equal(phaseOf(n), phase, `event ${n}`)
  })

  it('reports a transition only on the first event of each phase', () => {
    const transitions: number[] = []
    for (let n = 0; n < 600_000; n++) if (phaseTransitionAt(n, 1) !== undefined) transitions.push(n)
    assert.deepEqual(transitions, [0, 100_000, 200_000, 250_000, 350_000, 450_000, 500_000])
    assert.deepEqual(phaseTransitionAt(200_000, 1234.5), { phase: 'attack', event_number: 200_000, timestamp: 1234.5 })
    assert.deepEqual(phaseTransitionAt(350_000, 9), { phase: 'drift', event_number: 350_000, timestamp: 9 })
  })

  it('the generated stream changes phase at exactly those events', () => {
    const generator = new PhasedGenerator({ seed: 3 })
    generator.fastForward(99_999)
    const around = [generator.next(0), generator.next(0)]
    assert.deepEqual(
      around.map((e) => [e.event_number, e.phase, e.phase_number, e.drift_injected]),
      [
        [99_999, 'normal', 0, false],
        [100_000, 'drift', 1, true],
      ],
    )
    generator.fastForward(199_999)
    assert.deepEqual([generator.next(0).phase, generator.next(0).phase], ['drift', 'attack'])
    generator.fastForward(249_999)
    const wrap = [generator.next(0), generator.next(0)]
    assert.deepEqual(
      wrap.map((e) => [e.event_number, e.phase, e.phase_number, e.drift_injected]),
      [
        [249_999, 'attack', 2, true],
        [250_000, 'normal', 0, false],
      ],
    )
  })
})

describe('labelTransaction', () => {
  // an event that matches no rule; each case below changes only what its rule needs
  const quiet: LabelFields = {
    amount: 100,
    user_avg_amount: 150,
    transactions_last_hour: 2,
    location_match: true,
    device_known: false,
    merchant_category: 'grocery',
    hour_of_day: 12,
    phase: 'normal',
  }
  const cases: { name: string; fields: Partial<LabelFields>; coin?: number; rule: number }[] = [
    { name: 'nothing unusual', fields: {}, rule: 0 },
    { name: '1: amount > 5 × user average', fields: { amount: 751, user_avg_amount: 150 }, rule: 1 },
    { name: '1 boundary: exactly 5 × is not above', fields: { amount: 750, user_avg_amount: 150 }, rule: 0 },
    { name: '2: more than 10 transactions in the last hour', fields: { transactions_last_hour: 11 }, rule: 2 },
    { name: '2 boundary: 10 is not above', fields: { transactions_last_hour: 10 }, rule: 0 },
    { name: '3: unknown location and unknown device', fields: { location_match: false }, rule: 3 },
    {
      name: '4: crypto over 1000',
      fields: { merchant_category: 'crypto', amount: 1000.01, user_avg_amount: 400 },
      rule: 4,
    },
    {
      name: '4: wire_transfer over 1000',
      fields: { merchant_category: 'wire_transfer', amount: 1500, user_avg_amount: 400 },
      rule: 4,
    },
    {
      name: '4 needs a risky merchant',
      fields: { merchant_category: 'retail', amount: 1500, user_avg_amount: 400 },
      rule: 0,
    },
    {
      name: '5: 01:00–04:59 and amount over 500',
      fields: { hour_of_day: 3, amount: 501, user_avg_amount: 400 },
      rule: 5,
    },
    { name: '5 boundary: hour 5 is not night', fields: { hour_of_day: 5, amount: 501, user_avg_amount: 400 }, rule: 0 },
    { name: '5 boundary: hour 0 is not night', fields: { hour_of_day: 0, amount: 501, user_avg_amount: 400 }, rule: 0 },
    { name: '6: attack phase and coin < 0.15', fields: { phase: 'attack' }, coin: 0.1, rule: 6 },
    { name: '6 needs the coin', fields: { phase: 'attack' }, coin: 0.15, rule: 0 },
    { name: '6 needs the attack phase', fields: { phase: 'drift' }, coin: 0.0, rule: 0 },
    // overlaps: the first matching rule wins
    {
      name: 'rules 1, 2 and 3 all match → 1',
      fields: { amount: 5000, user_avg_amount: 150, transactions_last_hour: 20, location_match: false },
      rule: 1,
    },
    {
      name: 'rules 1 and 4 both match → 1',
      fields: { merchant_category: 'crypto', amount: 5000, user_avg_amount: 150 },
      rule: 1,
    },
    {
      name: 'rules 2, 3, 5 and 6 all match → 2',
      fields: { transactions_last_hour: 20, location_match: false, hour_of_day: 2, amount: 600, user_avg_amount: 400 },
      coin: 0,
      rule: 2,
    },
    { name: 'rules 3 and 6 match → 3', fields: { location_match: false, phase: 'attack' }, coin: 0, rule: 3 },
    {
      name: 'rules 4 and 5 match → 4',
      fields: { merchant_category: 'wire_transfer', hour_of_day: 1, amount: 1200, user_avg_amount: 400 },
      rule: 4,
    },
  ]
  for (const { name, fields, coin, rule } of cases) {
    it(name, () => {
      assert.equal(labelTransaction({ ...quiet, ...fields }, coin), rule)
    })
  }
})

describe('PhasedGenerator statistics over one full cycle (seed 20240601)', () => {
  it('has 100,000 / 100,000 / 50,000 events per phase', () => {
    assert.deepEqual(
      [cycle.stats.normal.count, cycle.stats.drift.count, cycle.stats.attack.count],
      [100_000, 100_000, 50_000],
    )
  })

  it('matches each phase amount mean and std; clips at the minimum', () => {
    for (const phase of ['normal', 'drift', 'attack'] as const) {
      const s = cycle.stats[phase]
      const p = phaseParameters[phase]
      // attack clips N(2000, 800) at 100, which lifts the mean by about 2.5 and trims the std
      const meanTolerance = 5 * (p.amountStd / Math.sqrt(s.count)) + (phase === 'attack' ? 3 : 0)
      assert.ok(Math.abs(mean(s) - p.amountMean) < meanTolerance, `${phase} mean ${mean(s)}`)
      assert.ok(Math.abs(std(s) - p.amountStd) < p.amountStd * 0.03, `${phase} std ${std(s)}`)
      assert.ok(s.amountMin >= p.amountMinimum, `${phase} min ${s.amountMin}`)
    }
    // N(2000, 800) falls below 100 about 0.9% of the time: the clip value must actually occur
    assert.equal(cycle.stats.attack.amountMin, 100)
  })

  it('matches P(location_match) and P(device_known) per phase', () => {
    for (const phase of ['normal', 'drift', 'attack'] as const) {
      const s = cycle.stats[phase]
      assertProportion(s.locationMatches, s.count, phaseParameters[phase].locationMatchProbability, `${phase} location`)
      assertProportion(s.devicesKnown, s.count, phaseParameters[phase].deviceKnownProbability, `${phase} device`)
    }
  })

  it('draws transactions_last_hour over the whole inclusive range', () => {
    for (const phase of ['normal', 'drift', 'attack'] as const) {
      const s = cycle.stats[phase]
      const { min, max } = phaseParameters[phase].transactionsLastHour
      assert.deepEqual([s.transactionsMin, s.transactionsMax], [min, max], phase)
      assert.ok(Math.abs(s.transactionsSum / s.count - (min + max) / 2) < 0.05, `${phase} mean`)
    }
  })

  it('matches the merchant mixes, top categories included', () => {
    const tops: [Phase, string, number][] = [
      ['normal', 'grocery', 0.35],
      ['normal', 'restaurant', 0.25],
      ['drift', 'crypto', 0.3],
      ['drift', 'wire_transfer', 0.25],
      ['attack', 'wire_transfer', 0.5],
      ['attack', 'crypto', 0.3],
    ]
    for (const [phase, category, share] of tops) {
      const s = cycle.stats[phase]
      assertProportion(s.merchants.get(category) ?? 0, s.count, share, `${phase} ${category}`)
    }
    for (const phase of ['normal', 'drift', 'attack'] as const) {
      const mix = phaseParameters[phase].merchantMix
      assert.deepEqual(
        [...cycle.stats[phase].merchants.keys()].sort(),
        mix.map((share) => share.category).sort(),
        `${phase} categories`,
      )
      for (const share of mix) {
        const s = cycle.stats[phase]
        assertProportion(s.merchants.get(share.category) ?? 0, s.count, share.weight, `${phase} ${share.category}`)
      }
    }
  })

  it('follows the hour weights: daytime peak, night shift, uniform', () => {
    const share = (phase: Phase, hours: number[]) =>
      hours.reduce((sum, h) => sum + cycle.stats[phase].hours[h]!, 0) / cycle.stats[phase].count
    const night = [22, 23, 0, 1, 2, 3, 4]
    const day = [8, 9, 10, 11, 12, 13, 14, 15, 16]
    const weightShare = (weights: readonly number[], hours: number[]) =>
      hours.reduce((sum, h) => sum + weights[h]!, 0) / weights.reduce((sum, w) => sum + w, 0)
    const normalNight = weightShare(phaseParameters.normal.hourWeights, night)
    const driftNight = weightShare(phaseParameters.drift.hourWeights, night)
    // the phase weights put 7% of normal and 37% of drift activity at night; uniform gives 7/24
    assert.ok(normalNight < 0.08 && driftNight > 0.37)
    assertProportion(share('normal', night) * cycle.stats.normal.count, cycle.stats.normal.count, normalNight, 'normal')
    assertProportion(share('drift', night) * cycle.stats.drift.count, cycle.stats.drift.count, driftNight, 'drift')
    assertProportion(share('attack', night) * cycle.stats.attack.count, cycle.stats.attack.count, 7 / 24, 'attack')
    assert.ok(share('normal', day) > 0.55 && share('drift', day) < 0.35)
    for (let h = 0; h < 24; h++) {
      const weight = phaseParameters.normal.hourWeights[h]! / 1.1
      assertProportion(cycle.stats.normal.hours[h]!, cycle.stats.normal.count, weight, `normal h${h}`)
    }
    for (let h = 0; h < 24; h++)
      assertProportion(cycle.stats.attack.hours[h]!, cycle.stats.attack.count, 1 / 24, `h${h}`)
  })

  it('labels each event by the rules, with plausible label rates per phase', () => {
    assert.deepEqual(cycle.inconsistent, [])
    const rate = (phase: Phase) => cycle.stats[phase].labels / cycle.stats[phase].count
    console.log(
      'label rate per phase:',
      Object.fromEntries((['normal', 'drift', 'attack'] as const).map((p) => [p, Number(rate(p).toFixed(4))])),
      'rules fired (index = rule):',
      Object.fromEntries((['normal', 'drift', 'attack'] as const).map((p) => [p, cycle.stats[p].rules])),
    )
    // normal: almost only rule 3, P = 0.05 × 0.10 = 0.005
    assert.ok(rate('normal') > 0.003 && rate('normal') < 0.01, `normal ${rate('normal')}`)
    // drift: rule 3 (0.3 × 0.4 = 0.12) plus night-time amounts over 500
    assert.ok(rate('drift') > 0.12 && rate('drift') < 0.3, `drift ${rate('drift')}`)
    // attack: rule 2 alone fires for 20 of the 21 transaction counts
    assert.ok(rate('attack') > 20 / 21, `attack ${rate('attack')}`)
    // rule 1 comes first and takes about 40% (averages still near drift amounts); of the rest,
    // rule 2 fires whenever transactions_last_hour is 11–30
    const attack = cycle.stats.attack
    assertProportion(attack.rules[2]!, attack.count - attack.rules[1]!, 20 / 21, 'attack rule 2 after rule 1')
    // rule 6 is a 15% coin among attack events no other rule caught
    assertProportion(cycle.stats.attack.rules[6]!, cycle.stats.attack.coinCandidates, 0.15, 'rule 6 coin')
    assert.equal(cycle.stats.normal.rules[6], 0)
    assert.equal(cycle.stats.drift.rules[6], 0)
    // drift starts with user averages near 150, so some drift amounts exceed 5× the average
    assert.ok(cycle.stats.drift.rules[1]! > 0)
  })

  it('keeps per-user running averages (default 1000 users) and monotonic simulated time', () => {
    assert.equal(cycle.users, 1000)
    assert.equal(cycle.firstTimeMs, Date.UTC(2025, 0, 1))
    // mean gap 10 ms: 250,000 events span about 2,500 s
    const meanGap = (cycle.lastTimeMs - cycle.firstTimeMs) / 249_999
    assert.ok(Math.abs(meanGap - 10) < 0.1, `mean gap ${meanGap}`)
  })
})

describe('PhasedGenerator determinism and restart', () => {
  const take = (generator: PhasedGenerator, count: number): PhasedTransaction[] =>
    Array.from({ length: count }, () => generator.next(wallClock))

  it('the same seed gives the same stream; a different seed a different one', () => {
    const a = take(new PhasedGenerator({ seed: 42 }), 2000)
    const b = take(new PhasedGenerator({ seed: 42 }), 2000)
    const c = take(new PhasedGenerator({ seed: 43 }), 2000)
    assert.deepEqual(a, b)
    assert.notDeepEqual(
      a.map((e) => e.amount),
      c.map((e) => e.amount),
    )
    assert.notEqual(a[0]!.transaction_id, c[0]!.transaction_id)
  })

  for (const restartAt of [1, 12_345, 199_990]) {
    it(`fastForward(${restartAt}) continues exactly like an uninterrupted generator`, () => {
      const options = { seed: 99, users: 50, startTimeMs: Date.UTC(2030, 5, 1), meanGapMs: 250 }
      const uninterrupted = new PhasedGenerator(options)
      uninterrupted.fastForward(restartAt - 1)
      uninterrupted.next(wallClock)
      const restarted = new PhasedGenerator(options)
      restarted.fastForward(restartAt)
      assert.equal(restarted.eventNumber, restartAt)
      assert.equal(restarted.simulatedTimeMs, uninterrupted.simulatedTimeMs)
      assert.deepEqual(take(restarted, 500), take(uninterrupted, 500))
    })
  }

  it('fastForward refuses to go backwards', () => {
    const generator = new PhasedGenerator({ seed: 1 })
    generator.fastForward(10)
    assert.throws(() => generator.fastForward(9), RangeError)
    generator.fastForward(10)
    assert.equal(generator.eventNumber, 10)
  })

  it('stamps the caller wall clock and a valid ISO-8601 event time', () => {
    const generator = new PhasedGenerator({
      seed: 5,
      startTimeMs: Date.UTC(2024, 1, 29, 23, 59, 59, 995),
      meanGapMs: 3,
    })
    let previous = ''
    for (let i = 0; i < 2000; i++) {
      const event = generator.next(100 + i)
      if (i === 0) assert.equal(event.timestamp, '2024-02-29T23:59:59.995Z')
      // crosses into March 1st within the first few events
      if (i === 1999) assert.ok(event.timestamp.startsWith('2024-03-01T00:00:0'), event.timestamp)
      assert.ok(event.timestamp >= previous)
      previous = event.timestamp
      assert.equal(event.ingestion_timestamp, 100 + i)
      assert.equal(new Date(Date.parse(event.timestamp)).toISOString(), event.timestamp)
    }
    assert.throws(() => new PhasedGenerator({ seed: 1, users: 0 }), RangeError)
  })
})
