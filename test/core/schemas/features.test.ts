// Property tests of the declarative features: for random streams, every feature of every event
// equals a brute-force recomputation over its entity's history up to that event, with the
// state going through JSON between events (as through the changelogged store).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Random } from '../../../src/core/random.ts'
import { compileSchema } from '../../../src/core/schemas/compile.ts'
import { validateSchemaDeclaration } from '../../../src/core/schemas/declaration.ts'

const schema = compileSchema(
  validateSchemaDeclaration({
    name: 'logins',
    entityKey: 'user',
    eventTime: 'at',
    label: 'fraud',
    fields: [
      { name: 'user', type: 'string' },
      { name: 'at', type: 'timestamp' },
      { name: 'geo.latency', type: 'number' },
      { name: 'device', type: 'string' },
      { name: 'country', type: 'string' },
      { name: 'mfa', type: 'boolean' },
      { name: 'fraud', type: 'boolean' },
    ],
    features: [
      { name: 'latency', type: 'number', field: 'geo.latency' },
      { name: 'mfa', type: 'number', field: 'mfa' },
      { name: 'log_latency', type: 'log1p', field: 'geo.latency' },
      { name: 'mean_latency', type: 'mean', field: 'geo.latency' },
      { name: 'latency_z', type: 'zscore', field: 'geo.latency' },
      { name: 'latency_robust_z', type: 'robust_zscore', field: 'geo.latency', recent: 8 },
      { name: 'latency_vs_mean', type: 'ratio_to_mean', field: 'geo.latency' },
      { name: 'logins_1m', type: 'count', window: '1m' },
      { name: 'logins_1h', type: 'count', window: '1h' },
      { name: 'latency_sum_10m', type: 'sum', field: 'geo.latency', window: '10m' },
      { name: 'since_previous', type: 'seconds_since_previous' },
      { name: 'new_device', type: 'first_seen', field: 'device' },
      { name: 'country_share', type: 'frequency', field: 'country' },
      { name: 'hour', type: 'hour_of_day' },
      { name: 'weekday', type: 'day_of_week' },
      { name: 'country', type: 'one_hot', field: 'country', values: ['fr', 'de', 'us'] },
      { name: 'logins', type: 'count' },
      { name: 'latency_phase', type: 'cycle', field: 'geo.latency', period: 100 },
      { name: 'country_risk', type: 'lookup', field: 'country', table: { fr: 0.2, de: 0.3 }, default: 0.9 },
    ],
  }),
)

interface Login {
  user: string
  at: string
  geo: { latency: number }
  device: string
  country: string
  mfa: boolean
  fraud: boolean
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
const clip = (x: number, limit: number) => Math.max(-limit, Math.min(limit, x))
function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}
function z(deviation: number, scale: number, level: number): number {
  if (!(scale > 1e-12 * Math.max(1, Math.abs(level)))) return deviation === 0 ? 0 : deviation > 0 ? 50 : -50
  return clip(deviation / scale, 50)
}

/** Every feature from the entity's history (earlier events, arrival order) and the event. */
function bruteForce(history: { event: Login; t: number }[], event: Login, t: number): number[] {
  const x = event.geo.latency
  const past = history.map((h) => h.event.geo.latency)
  const n = past.length
  const pastMean = n ? mean(past) : 0
  const std = n >= 2 ? Math.sqrt(past.reduce((s, v) => s + (v - pastMean) ** 2, 0) / (n - 1)) : 0
  const recent = past.slice(-8)
  let robust = 0
  if (recent.length >= 5) {
    const center = median(recent)
    const deviations = recent.map((v) => Math.abs(v - center))
    let scale = 1.4826 * median(deviations)
    if (!(scale > 0)) scale = (Math.sqrt(Math.PI / 2) * deviations.reduce((a, b) => a + b, 0)) / deviations.length
    robust = z(x - center, scale, center)
  }
  const within = (ms: number) => [...history.map((h) => h.t), t].filter((time) => time > t - ms && time <= t).length
  const sumWithin = (ms: number) =>
    [...history.map((h) => [h.t, h.event.geo.latency] as const), [t, x] as const]
      .filter(([time]) => time > t - ms && time <= t)
      .reduce((s, [, v]) => s + v, 0)
  const latest = n ? Math.max(...history.map((h) => h.t)) : undefined
  const gap = latest === undefined ? 7 * 24 * 3600 : Math.min(Math.max((t - latest) / 1000, 0), 7 * 24 * 3600)
  const hour = (((t % 86_400_000) + 86_400_000) % 86_400_000) / 3_600_000
  const day = (((t / 86_400_000 + 3) % 7) + 7) % 7
  const ratio = n === 0 ? 1 : pastMean === 0 ? (x === 0 ? 1 : Math.sign(x) * 1000) : clip(x / pastMean, 1000)
  return [
    x,
    event.mfa ? 1 : 0,
    Math.log1p(x),
    n ? pastMean : x,
    n >= 2 ? z(x - pastMean, std, pastMean) : 0,
    robust,
    ratio,
    within(60_000),
    within(3_600_000),
    sumWithin(600_000),
    gap,
    history.some((h) => h.event.device === event.device) ? 0 : 1,
    n ? history.filter((h) => h.event.country === event.country).length / n : 0,
    Math.sin((2 * Math.PI * hour) / 24),
    Math.cos((2 * Math.PI * hour) / 24),
    Math.sin((2 * Math.PI * day) / 7),
    Math.cos((2 * Math.PI * day) / 7),
    event.country === 'fr' ? 1 : 0,
    event.country === 'de' ? 1 : 0,
    event.country === 'us' ? 1 : 0,
    n + 1,
    Math.sin((2 * Math.PI * x) / 100),
    Math.cos((2 * Math.PI * x) / 100),
    event.country === 'fr' ? 0.2 : event.country === 'de' ? 0.3 : 0.9,
  ]
}

test('the feature names follow the declaration (two columns for cyclic time, one per one-hot value)', () => {
  assert.equal(schema.featureNames.length, 24)
  assert.deepEqual(schema.featureNames.slice(13, 20), [
    'hour_sin',
    'hour_cos',
    'weekday_sin',
    'weekday_cos',
    'country=fr',
    'country=de',
    'country=us',
  ])
  assert.deepEqual(schema.featureNames.slice(20), ['logins', 'latency_phase_sin', 'latency_phase_cos', 'country_risk'])
  assert.deepEqual(schema.statisticColumns, [4, 5])
})

test('every declarative feature equals a brute-force recomputation over the entity history', () => {
  for (let stream = 0; stream < 25; stream++) {
    const random = new Random(1000 + stream)
    const users = 1 + random.integer(0, 4)
    const states = new Map<string, unknown>()
    const histories = new Map<string, { event: Login; t: number }[]>()
    let t = Date.UTC(2025, 0, 6) + random.integer(0, 86_400_000)
    for (let i = 0; i < 250; i++) {
      // in order, with equal times, bursts and long gaps
      const step = random.next()
      t +=
        step < 0.1
          ? 0
          : step < 0.6
            ? random.integer(1, 20_000)
            : step < 0.95
              ? random.integer(0, 600_000)
              : random.integer(0, 3 * 86_400_000)
      const latencies = [0, 10, 10, 50 + random.next() * 20, random.next() * 5000]
      const event: Login = {
        user: `u${random.integer(0, users - 1)}`,
        at: random.next() < 0.5 ? new Date(t).toISOString() : (t / 1000).toString(),
        geo: { latency: latencies[random.integer(0, latencies.length - 1)]! },
        device: `d${random.integer(0, 6)}`,
        country: ['fr', 'de', 'us', 'br', 'jp'][random.integer(0, 4)]!,
        mfa: random.next() < 0.5,
        fraud: random.next() < 0.05,
      }
      const decoded = schema.decode(JSON.parse(JSON.stringify(event)))
      assert.equal(decoded.time, t)
      const entity = schema.entityKey(decoded)
      assert.equal(entity, event.user)
      const { features, nextState } = schema.extract(decoded, states.get(entity))
      states.set(entity, JSON.parse(JSON.stringify(nextState)))
      // the 1-minute count reads the 1-hour count's events: only those are kept
      assert.deepEqual(Object.keys(nextState.windows).sort(), ['@3600000', 'geo.latency@600000'])
      const history = histories.get(entity) ?? []
      const expected = bruteForce(history, event, t)
      expected.forEach((value, c) => {
        const got = features[c]!
        assert.ok(
          Math.abs(got - value) <= 1e-9 * Math.max(1, Math.abs(value)),
          `stream ${stream} event ${i} ${schema.featureNames[c]}: ${got} ≠ ${value}`,
        )
      })
      history.push({ event, t })
      histories.set(entity, history)
    }
  }
})

test('window state: times kept as gaps from the latest (or as they are when not whole ms); a state of [time, value] pairs reads the same', () => {
  const windowed = compileSchema(
    validateSchemaDeclaration({
      name: 'w',
      entityKey: 'user',
      eventTime: 'at',
      fields: [
        { name: 'user', type: 'string' },
        { name: 'at', type: 'timestamp' },
        { name: 'x', type: 'number' },
      ],
      features: [
        { name: 'n_1m', type: 'count', window: '1m' },
        { name: 'x_1m', type: 'sum', field: 'x', window: '1m' },
      ],
    }),
  )
  const t0 = Date.UTC(2025, 0, 6)
  const run = (times: number[], first?: unknown) => {
    let state: unknown = first
    const out: number[][] = []
    times.forEach((t, i) => {
      const { features, nextState } = windowed.extractRecord({ user: 'u', at: t, x: i + 1 }, t, state)
      out.push(Array.from(features))
      state = JSON.parse(JSON.stringify(nextState))
    })
    return { out, state: state as { windows: Record<string, unknown> } }
  }
  const whole = run([t0, t0 + 1_000, t0 + 1_000, t0 + 30_000, t0 + 70_000])
  assert.deepEqual(whole.out, [
    [1, 1],
    [2, 3],
    [3, 6],
    [4, 10],
    [2, 9],
  ])
  assert.deepEqual(whole.state.windows['@60000'], { t: [-40_000, 40_000] })
  assert.deepEqual(whole.state.windows['x@60000'], { t: [-40_000, 40_000], v: [4, 5] })
  // times that are not whole milliseconds are kept as they are: gaps would not add up exactly
  const fractional = run([t0 + 0.25, t0 + 60_000.25, t0 + 60_000.5])
  assert.deepEqual(fractional.out, [
    [1, 1],
    [1, 2],
    [2, 5],
  ])
  assert.deepEqual(fractional.state.windows['@60000'], { a: [t0 + 60_000.25, t0 + 60_000.5] })
  // an entity state written as [time, value] pairs carries on as the same state in the new layout
  const pairs = {
    ...(whole.state as object),
    windows: {
      '@60000': [
        [t0 + 30_000, 1],
        [t0 + 70_000, 1],
      ],
      'x@60000': [
        [t0 + 30_000, 4],
        [t0 + 70_000, 5],
      ],
    },
  }
  assert.deepEqual(run([t0 + 80_000], pairs).out, run([t0 + 80_000], whole.state).out)
  assert.deepEqual(run([t0 + 80_000], pairs).out, [[3, 10]])
})

test('a record that does not match its schema names the field and the reason', () => {
  const good = {
    user: 'u',
    at: '2025-01-01T00:00:00Z',
    geo: { latency: 1 },
    device: 'd',
    country: 'fr',
    mfa: true,
    fraud: false,
  }
  const reason = (record: unknown) => {
    try {
      schema.decode(record)
      return 'accepted'
    } catch (error) {
      return (error as Error).message
    }
  }
  assert.equal(reason({ ...good, geo: {} }), 'field geo.latency is missing')
  assert.match(reason({ ...good, geo: { latency: '12' } }), /field geo\.latency must be a finite number, got "12"/)
  assert.match(reason({ ...good, at: 'yesterday' }), /field at must be a time/)
  assert.match(reason({ ...good, mfa: 'yes' }), /field mfa must be a boolean/)
  assert.match(reason('not an object'), /not a JSON object/)
  assert.equal(reason(good), 'accepted')
})

test('a state kept as the object enrich made gives what its JSON gives, also after a later state was thrown away', () => {
  // Enrich's store hands back the state object it was given (its windows share their arrays
  // with the states after it) until it is evicted, and an aborted batch throws its states away.
  for (let stream = 0; stream < 10; stream++) {
    const random = new Random(2000 + stream)
    let t = Date.UTC(2025, 0, 6)
    let kept: unknown
    let readBack: unknown
    const earlier: { state: unknown; json: string }[] = []
    const login = (at: number): Record<string, unknown> => ({
      user: 'u',
      at: new Date(at).toISOString(),
      geo: { latency: random.integer(0, 500) },
      device: `d${random.integer(0, 3)}`,
      country: ['fr', 'de', 'us'][random.integer(0, 2)]!,
      mfa: random.next() < 0.5,
      fraud: false,
    })
    for (let i = 0; i < 600; i++) {
      // mostly in order, a second or so apart (windows fill and empty); some late events
      t += random.integer(0, 3_000)
      const at = random.next() < 0.1 ? t - random.integer(0, 120_000) : t
      const decoded = schema.decode(login(at))
      if (random.next() < 0.2) {
        // a batch that is aborted: its state is thrown away, the entity carries on from `kept`
        schema.extract(schema.decode(login(t + random.integer(0, 5_000))), kept)
      }
      const fromObject = schema.extract(decoded, kept)
      const fromJson = schema.extract(decoded, readBack)
      assert.deepEqual(Array.from(fromObject.features), Array.from(fromJson.features), `stream ${stream} event ${i}`)
      const json = JSON.stringify(fromObject.nextState)
      assert.equal(json, JSON.stringify(fromJson.nextState), `stream ${stream} event ${i}`)
      kept = fromObject.nextState
      readBack = JSON.parse(json)
      earlier.push({ state: kept, json })
    }
    // no state changed after it was made
    for (const { state, json } of earlier) assert.equal(JSON.stringify(state), json)
  }
})
