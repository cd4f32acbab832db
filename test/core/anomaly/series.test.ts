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

/** Scores above this are alarms (a record beyond the past range); everything else ranks below. */
const ALARM = 0.999

function alarms(scores: readonly number[], from = 0, to = scores.length): number[] {
  const found: number[] = []
  for (let i = from; i < to; i++) if (scores[i]! > ALARM) found.push(i)
  return found
}

test('a constant series never alarms', () => {
  for (const level of [0, 42.5, -3e6]) {
    const scores = scoreAll(regularTimes(3000), new Array(3000).fill(level))
    assert.deepEqual(alarms(scores), [], `level ${level}`)
    assert.ok(Math.max(...scores.slice(100)) < 0.05, `level ${level}: max ${Math.max(...scores.slice(100))}`)
  }
})

test('a change after a flat stretch alarms at once', () => {
  const values = new Array(1000).fill(7)
  values[800] = 7.5
  const scores = scoreAll(regularTimes(1000), values)
  assert.equal(argmax(scores), 800)
  assert.deepEqual(alarms(scores), [800])
})

test('spikes and dips: the one point alarms, the next is ordinary, and a bigger excess scores higher', () => {
  for (const [at, size] of [
    [900, 10],
    [900, -10],
    [1100, 25],
  ] as const) {
    const values = whiteNoise(1500, 1)
    values[at] = values[at]! + size
    const scores = scoreAll(regularTimes(1500), values)
    assert.equal(argmax(scores), at)
    assert.ok(scores[at]! > ALARM, `spike ${size} at ${at} scored ${scores[at]}`)
    assert.ok(scores[at + 1]! < 0.9, `after spike ${scores[at + 1]}`)
    // white noise sets new records of its level now and then; past the warm-up, rarely by the margin
    assert.ok(alarms(scores, 300).length <= 3, `spike ${size}: alarms ${alarms(scores, 300)}`)
  }
  const small = whiteNoise(1500, 1)
  const big = whiteNoise(1500, 1)
  small[900] = small[900]! + 8
  big[900] = big[900]! + 30
  assert.ok(scoreAll(regularTimes(1500), big)[900]! > scoreAll(regularTimes(1500), small)[900]!, 'scores are ordered')
})

test('scores are not saturated: every alarm is below 1 and distinct excesses give distinct scores', () => {
  const values = whiteNoise(2000, 21)
  const sizes = [8, 12, 20, 40, 80, 160]
  sizes.forEach((size, i) => {
    values[600 + i * 200] = values[600 + i * 200]! + size * 2 ** i
  })
  const scores = scoreAll(regularTimes(2000), values)
  const peaks = sizes.map((_, i) => scores[600 + i * 200]!)
  for (const peak of peaks) assert.ok(peak > ALARM && peak < 1, `peak ${peak}`)
  assert.equal(new Set(peaks).size, peaks.length, `peaks ${peaks}`)
})

test('a level shift that persists alarms at its onset, then adapts', () => {
  for (const seed of [2, 3, 4]) {
    const values = whiteNoise(1500, seed).map((v, i) => (i >= 700 ? v + 12 : v))
    const scores = scoreAll(regularTimes(1500), values)
    const found = alarms(scores, 300)
    assert.ok(
      found.some((i) => i >= 700 && i < 705),
      `seed ${seed}: no alarm at the onset: ${found}`,
    )
    assert.deepEqual(
      found.filter((i) => i >= 760),
      [],
      `seed ${seed}: still alarming after the shift: ${found}`,
    )
  }
})

test('a shift of the level smaller than the noise alarms through the level means', () => {
  const values = whiteNoise(3000, 5).map((v, i) => (i >= 2000 ? v + 3 : v))
  const detector = new SeriesDetector()
  const level: number[] = []
  const scores: number[] = []
  for (let i = 0; i < values.length; i++) {
    scores.push(detector.update(START + i * 5 * MINUTE, values[i]!))
    level.push(detector.components().level)
  }
  const first = alarms(scores, 2000)[0]
  assert.ok(first !== undefined && first < 2020, `first alarm ${first}`)
  assert.ok(Math.max(...level.slice(2000, 2020)) > ALARM, 'the level statistic alarmed')
})

test('daily seasonality: peaks are normal, a peak-sized value at the trough alarms', () => {
  const { times, values } = daily(8, 3)
  const trough = 6 * 288 + 216 // sin minimum on day 6
  values[trough] = 60 // the level of an ordinary peak
  const detector = new SeriesDetector()
  const season: number[] = []
  const scores = times.map((time, i) => {
    const score = detector.update(time, values[i]!)
    season.push(detector.components().season)
    return score
  })
  assert.deepEqual(alarms(scores, 3 * 288), [trough])
  assert.ok(season[trough]! > ALARM, `season component ${season[trough]}`)
})

test('gradual drift and a change of noise do not alarm on every point', () => {
  const random = new Random(17)
  const values = Array.from({ length: 4000 }, (_, i) => 10 + i * 0.002 + random.normal(0, i > 2500 ? 1.5 : 1))
  const scores = scoreAll(regularTimes(4000), values)
  const found = alarms(scores, 500)
  assert.ok(found.length <= 8, `${found.length} alarms: ${found}`)
})

test('gaps and irregular spacing: scores depend on the order of points, and a spike after a gap alarms', () => {
  const random = new Random(18)
  const times: number[] = []
  let time = START
  for (let i = 0; i < 3000; i++) {
    time += i === 1500 ? 3 * 86_400_000 : Math.round(random.exponential(1 / 120_000))
    times.push(time)
  }
  const values = whiteNoise(3000, 19)
  values[1600] = values[1600]! + 12
  const scores = scoreAll(times, values)
  assert.equal(argmax(scores), 1600)
  assert.ok(scores[1600]! > ALARM)
  // white noise sets a new record now and then; past the warm-up, rarely by the alarm margin
  assert.ok(alarms(scores, 300).length <= 2, `alarms ${alarms(scores, 300)}`)
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
  assert.deepEqual(restored.toJSON(), state)
  const rest = scoreAll(times.slice(1100), values.slice(1100), restored)
  assert.deepEqual(rest, whole.slice(1100))
})

test('causal: the scores of the first k rows do not change when the rows after k change', () => {
  for (const k of [1, 300, 1200]) {
    const values = whiteNoise(2000, 6)
    const other = [...values.slice(0, k), ...whiteNoise(2000 - k, 7, 100, 50)]
    const a = scoreAll(regularTimes(2000), values)
    const b = scoreAll(regularTimes(2000), other)
    assert.deepEqual(a.slice(0, k), b.slice(0, k))
    assert.notDeepEqual(a.slice(k), b.slice(k), 'the later rows do matter')
  }
})

test('memory is bounded: the state of a long trending series stays small', () => {
  const detector = new SeriesDetector()
  for (let i = 0; i < 100_000; i++) detector.update(START + i * MINUTE, -i) // every point a new low
  const size = JSON.stringify(detector).length
  assert.ok(size < 40_000, `state is ${size} characters`)
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

test('scores stay in [0, 1) on irregular, trending, noisy data', () => {
  const random = new Random(9)
  const detector = new SeriesDetector()
  let time = START
  let walk = 0
  for (let i = 0; i < 5000; i++) {
    time += Math.round(random.exponential(1 / 30_000))
    walk += random.normal()
    const score = detector.update(time, walk + (i % 997 === 0 ? 50 : 0))
    assert.ok(score >= 0 && score < 1, `score ${score}`)
  }
})

/** White noise that sticks at one value (plus optional tiny jitter) over [from, to). */
function stuckNoise(count: number, seed: number, from: number, to: number, jitter = 0): number[] {
  const random = new Random(seed + 100)
  return whiteNoise(count, seed).map((v, i) => (i >= from && i < to ? 10.3 + jitter * random.normal() : v))
}

test('a noisy series that gets stuck alarms once within the stuck stretch', () => {
  for (const [seed, jitter] of [
    [11, 0],
    [12, 0],
    [13, 0.001],
  ] as const) {
    const detector = new SeriesDetector()
    const values = stuckNoise(2000, seed, 1200, 1400, jitter)
    const stuck: number[] = []
    const scores = values.map((value, i) => {
      const score = detector.update(START + i * 5 * MINUTE, value)
      stuck.push(detector.components().stuck)
      return score
    })
    const found = alarms(stuck)
    assert.equal(found.length, 1, `seed ${seed}: stuck alarms ${found}`)
    assert.ok(found[0]! >= 1205 && found[0]! < 1230, `seed ${seed}: stuck alarm at ${found[0]}`)
    assert.ok(scores[found[0]!]! > ALARM)
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

test('a wrong state is refused with what was expected', () => {
  assert.throws(
    () => SeriesDetector.fromJSON({ type: 'series', version: 1 } as unknown as SeriesDetectorState),
    /expected series v2/,
  )
})
