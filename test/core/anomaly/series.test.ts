import assert from 'node:assert/strict'
import { test } from 'node:test'
import { SeriesDetector, type SeriesDetectorState } from '../../../src/core/anomaly/series.ts'
import { Random } from '../../../src/core/random.ts'

const MINUTE = 60_000
const START = Date.UTC(2024, 0, 1)

function scoreAll(times: ArrayLike<number>, values: ArrayLike<number>, detector = new SeriesDetector()): number[] {
  const scores: number[] = []
  for (let i = 0; i < values.length; i++) scores.push(detector.update(times[i]!, values[i]!))
  return scores
}

function regularTimes(count: number, gapMs = 5 * MINUTE): number[] {
  return Array.from({ length: count }, (_, i) => START + i * gapMs)
}

function whiteNoise(count: number, seed: number, mean = 10, std = 1): number[] {
  const random = new Random(seed)
  return Array.from({ length: count }, () => random.normal(mean, std))
}

function argmax(values: readonly number[]): number {
  let best = 0
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i
  return best
}

/** Daily sinusoid at 5-minute sampling (288 points a day) with light noise. */
function daily(days: number, seed: number): { times: number[]; values: number[] } {
  const random = new Random(seed)
  const times = regularTimes(days * 288)
  const values = times.map((_, i) => 50 + 10 * Math.sin((2 * Math.PI * i) / 288) + random.normal(0, 0.5))
  return { times, values }
}

test('a constant series scores about zero everywhere', () => {
  for (const level of [0, 42.5, -3e6]) {
    const scores = scoreAll(regularTimes(3000), new Array(3000).fill(level))
    assert.ok(Math.max(...scores) < 0.05, `level ${level}: max ${Math.max(...scores)}`)
  }
})

test('a change after a flat stretch scores high', () => {
  const values = new Array(1000).fill(7)
  values[800] = 7.5
  const scores = scoreAll(regularTimes(1000), values)
  assert.equal(argmax(scores), 800)
  assert.ok(scores[800]! >= 0.9)
})

test('a single big spike in white noise gets the highest score', () => {
  const values = whiteNoise(1500, 1)
  values[900] = values[900]! + 10
  const scores = scoreAll(regularTimes(1500), values)
  assert.equal(argmax(scores), 900)
  assert.ok(scores[900]! >= 0.9, `spike scored ${scores[900]}`)
  // the point after the spike is ordinary again
  assert.ok(scores[901]! < 0.5, `after spike ${scores[901]}`)
})

test('a level shift scores high at its onset, then becomes normal', () => {
  const values = whiteNoise(1500, 2).map((v, i) => (i >= 700 ? v + 8 : v))
  const scores = scoreAll(regularTimes(1500), values)
  assert.ok(Math.max(...scores.slice(700, 705)) >= 0.9, `onset ${scores.slice(700, 705)}`)
  const later = scores.slice(760, 1500)
  assert.ok(Math.max(...later) < 0.5, `still alarming: ${Math.max(...later)}`)
})

test('daily peaks are normal but a peak-sized value at the trough is not', () => {
  const { times, values } = daily(8, 3)
  const trough = 6 * 288 + 216 // sin minimum on day 6
  values[trough] = 60 // the level of an ordinary peak
  const detector = new SeriesDetector()
  const scores = scoreAll(times, values, detector)
  assert.equal(detector.period, 288)
  for (let day = 4; day < 8; day++) {
    const peak = day * 288 + 72
    assert.ok(scores[peak]! < 0.5, `peak of day ${day} scored ${scores[peak]}`)
  }
  const afterWarmup = scores.slice(4 * 288).filter((_, i) => 4 * 288 + i !== trough)
  assert.ok(Math.max(...afterWarmup) < 0.5, `false alarm ${Math.max(...afterWarmup)}`)
  assert.ok(scores[trough]! >= 0.9, `trough anomaly scored ${scores[trough]}`)
})

test('scores do not depend on the scale of the values', () => {
  const { times, values } = daily(5, 4)
  values[1300] = values[1300]! + 6
  const base = scoreAll(times, values)
  for (const factor of [1000, 0.001]) {
    const scaled = scoreAll(
      times,
      values.map((v) => v * factor),
    )
    for (let i = 0; i < base.length; i++) assert.ok(Math.abs(base[i]! - scaled[i]!) < 1e-9, `×${factor} at ${i}`)
  }
})

test('serialised mid-stream, a restored detector gives identical scores', () => {
  const { times, values } = daily(6, 5)
  values[1500] = values[1500]! - 8
  const whole = scoreAll(times, values)
  const first = new SeriesDetector()
  scoreAll(times.slice(0, 1100), values.slice(0, 1100), first)
  const state = JSON.parse(JSON.stringify(first)) as SeriesDetectorState
  const restored = SeriesDetector.fromJSON(state)
  const rest = scoreAll(times.slice(1100), values.slice(1100), restored)
  assert.deepEqual(rest, whole.slice(1100))
  assert.equal(restored.period, first.period)
})

test('no look-ahead: early scores ignore later points', () => {
  const values = whiteNoise(2000, 6)
  const other = [...values.slice(0, 1200), ...whiteNoise(800, 7, 100, 50)]
  const a = scoreAll(regularTimes(2000), values)
  const b = scoreAll(regularTimes(2000), other)
  assert.deepEqual(a.slice(0, 1200), b.slice(0, 1200))
})

test('missing values score zero and are skipped', () => {
  const values = whiteNoise(600, 8)
  const withGaps = [...values]
  withGaps.splice(300, 0, Number.NaN)
  const times = regularTimes(601)
  const clean = scoreAll(
    times.filter((_, i) => i !== 300),
    values,
  )
  const gappy = scoreAll(times, withGaps)
  assert.equal(gappy[300], 0)
  assert.deepEqual([...gappy.slice(0, 300), ...gappy.slice(301)], clean)
})

test('scores stay in [0, 1] on irregular, trending, noisy data', () => {
  const random = new Random(9)
  const detector = new SeriesDetector()
  let time = START
  let walk = 0
  for (let i = 0; i < 5000; i++) {
    time += Math.round(random.exponential(1 / 30_000))
    walk += random.normal()
    const score = detector.update(time, walk + (i % 997 === 0 ? 50 : 0))
    assert.ok(score >= 0 && score <= 1, `score ${score}`)
  }
})

/** White noise that sticks at one value (plus optional tiny jitter) over [from, to). */
function stuckNoise(count: number, seed: number, from: number, to: number, jitter = 0): number[] {
  const random = new Random(seed + 100)
  return whiteNoise(count, seed).map((v, i) => (i >= from && i < to ? 10.3 + jitter * random.normal() : v))
}

test('a noisy series that gets stuck alarms within the stuck stretch, then quietens', () => {
  for (const [seed, jitter] of [
    [11, 0],
    [12, 0],
    [13, 0.001],
  ] as const) {
    const detector = new SeriesDetector()
    const values = stuckNoise(2000, seed, 1200, 1400, jitter)
    const scores: number[] = []
    const stuck: number[] = []
    for (let i = 0; i < values.length; i++) {
      scores.push(detector.update(START + i * 5 * MINUTE, values[i]!))
      stuck.push(detector.components().stuck)
    }
    const first = scores.findIndex((s, i) => i >= 1200 && s >= 0.9)
    assert.ok(first >= 1203 && first < 1230, `seed ${seed}: first alarm at ${first}`)
    assert.ok(
      Math.max(...stuck.slice(0, 1200)) < 0.5,
      `seed ${seed}: stuck before ${Math.max(...stuck.slice(0, 1200))}`,
    )
    assert.ok(
      Math.max(...stuck.slice(1260, 1400)) < 0.5,
      `seed ${seed}: still alarming ${Math.max(...stuck.slice(1260, 1400))}`,
    )
  }
})

test('quantized values and integer counts that repeat often do not look stuck', () => {
  const random = new Random(14)
  const poisson = (rate: number): number => {
    const limit = Math.exp(-rate)
    let k = 0
    for (let p = random.next(); p > limit; p *= random.next()) k++
    return k
  }
  const series: Record<string, number[]> = {
    'counts, rate 0.3': Array.from({ length: 5000 }, () => poisson(0.3)),
    'counts, rate 3': Array.from({ length: 5000 }, () => poisson(3)),
    'rounded sine': Array.from({ length: 5000 }, (_, i) =>
      Math.round(20 + 3 * Math.sin(i / 50) + random.normal(0, 0.4)),
    ),
  }
  for (const [name, values] of Object.entries(series)) {
    const detector = new SeriesDetector()
    let worst = 0
    for (let i = 0; i < values.length; i++) {
      detector.update(START + i * MINUTE, values[i]!)
      if (i >= 100) worst = Math.max(worst, detector.components().stuck)
    }
    assert.ok(worst <= 0.5, `${name}: stuck scored ${worst}`)
  }
})

test('serialised in the middle of a stuck run, a restored detector gives identical scores', () => {
  const values = stuckNoise(1600, 15, 1200, 1400)
  const times = regularTimes(1600)
  const whole = scoreAll(times, values)
  const first = new SeriesDetector()
  scoreAll(times.slice(0, 1206), values.slice(0, 1206), first)
  const restored = SeriesDetector.fromJSON(JSON.parse(JSON.stringify(first)) as SeriesDetectorState)
  assert.deepEqual(restored.components(), { residual: 0, step: 0, shift: 0, stuck: 0 })
  const rest = scoreAll(times.slice(1206), values.slice(1206), restored)
  assert.deepEqual(rest, whole.slice(1206))
  assert.ok(Math.max(...rest.slice(0, 30)) >= 0.9)
})
