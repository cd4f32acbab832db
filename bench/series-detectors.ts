// Labelled synthetic benchmark for univariate streaming detectors.
//
//   node bench/series-detectors.ts [--seeds 3] [--threshold 0.9] [--no-python] [--kind NAME]
//
// Generates series of many kinds (seasonal, weekly with a missing day, level shifts, drift,
// flat stretches, heavy noise, random walks, sawtooth, amplitude change, CPU-like, counts,
// irregular sampling, index timestamps), at scales from 0.001 to 1e6, with labelled
// anomalies. Scores each with SeriesDetector and with baselines computed in the same run,
// then prints per kind and overall ROC-AUC, average precision and a NAB-like window score at
// one threshold. The Python reference (bench/reference/series.py, numpy only) runs when
// bench/.venv exists.

import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { SeriesDetector, zToScore } from '../src/core/anomaly/series.ts'
import { Random } from '../src/core/random.ts'

interface Series {
  readonly kind: string
  readonly seed: number
  readonly times: Float64Array
  readonly values: Float64Array
  readonly labels: Uint8Array
}

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
const START = Date.UTC(2024, 0, 1)

// ---------------------------------------------------------------- generators

class Builder {
  readonly times: number[] = []
  readonly values: number[] = []
  readonly labels: number[] = []
  push(time: number, value: number, label = 0): void {
    this.times.push(time)
    this.values.push(value)
    this.labels.push(label)
  }
  label(index: number, length = 1): void {
    for (let i = index; i < Math.min(this.labels.length, index + length); i++) this.labels[i] = 1
  }
  build(kind: string, seed: number, scale = 1, offset = 0): Series {
    return {
      kind,
      seed,
      times: Float64Array.from(this.times),
      values: Float64Array.from(this.values, (v) => offset + scale * v),
      labels: Uint8Array.from(this.labels),
    }
  }
}

function studentT(random: Random, dof: number): number {
  let chi = 0
  for (let i = 0; i < dof; i++) chi += random.normal() ** 2
  return random.normal() / Math.sqrt(chi / dof)
}

function poisson(random: Random, rate: number): number {
  if (rate > 50) return Math.max(0, Math.round(random.normal(rate, Math.sqrt(rate))))
  const limit = Math.exp(-rate)
  let k = 0
  let p = random.next()
  while (p > limit) {
    k++
    p *= random.next()
  }
  return k
}

/** Positions for `count` anomalies after the first 20 %, at least `gap` apart. */
function positions(random: Random, n: number, count: number, gap: number): number[] {
  const chosen: number[] = []
  for (let attempt = 0; chosen.length < count && attempt < 1000; attempt++) {
    const p = random.integer(Math.floor(0.2 * n), n - 20)
    if (chosen.every((q) => Math.abs(q - p) > gap)) chosen.push(p)
  }
  return chosen.sort((a, b) => a - b)
}

export const generators: Record<string, (random: Random, seed: number) => Series> = {
  'daily-spikes'(random, seed) {
    const n = 4032
    const amp = 10
    const spikes = new Map(positions(random, n, 4, 200).map((p) => [p, random.uniform(0.5, 0.9) * amp]))
    const b = new Builder()
    for (let i = 0; i < n; i++) {
      const t = START + i * 5 * MINUTE
      const phase = (2 * Math.PI * (t % DAY)) / DAY
      let v = 50 + amp * Math.sin(phase) + 0.3 * amp * Math.sin(2 * phase) + random.normal(0, 0.08 * amp)
      const spike = spikes.get(i)
      if (spike !== undefined) v += random.bernoulli(0.5) ? spike : -spike
      b.push(t, v, spike === undefined ? 0 : 1)
    }
    return b.build('daily-spikes', seed, 10 ** random.integer(-2, 3))
  },
  'weekly-missing-day'(random, seed) {
    const n = 24 * 7 * 10
    const missingDay = random.integer(14, 30)
    let anomalyDay = random.integer(35, 65)
    while ((anomalyDay % 7) + 1 > 5 || anomalyDay === missingDay) anomalyDay++
    const b = new Builder()
    for (let i = 0; i < n; i++) {
      const day = Math.floor(i / 24)
      if (day === missingDay) continue
      const hour = i % 24
      const weekday = day % 7 < 5
      const business = hour >= 8 && hour < 18
      let v = 100 + random.normal(0, 4)
      if (weekday && business && day !== anomalyDay) v += 60 + 20 * Math.sin((Math.PI * (hour - 8)) / 10)
      if (!weekday) v -= 20
      b.push(START + i * HOUR, v, day === anomalyDay && hour >= 8 && hour < 11 ? 1 : 0)
    }
    return b.build('weekly-missing-day', seed, 10 ** random.integer(0, 4))
  },
  'level-shift'(random, seed) {
    const n = 3000
    const shifts = new Set(positions(random, n, 3, 400))
    const b = new Builder()
    let level = 0
    let noise = 0
    for (let i = 0; i < n; i++) {
      noise = 0.5 * noise + random.normal(0, 0.87)
      if (shifts.has(i)) level += (random.bernoulli(0.5) ? 1 : -1) * random.uniform(4, 8)
      b.push(START + i * MINUTE, level + noise, shifts.has(i) ? 1 : 0)
    }
    return b.build('level-shift', seed, 0.001, 5)
  },
  'drift-jump'(random, seed) {
    const n = 2500
    const jump = random.integer(1200, 2300)
    const b = new Builder()
    for (let i = 0; i < n; i++) {
      const v = 0.02 * i + random.normal(0, 1) + (i >= jump ? 8 : 0)
      b.push(START + i * 10 * MINUTE, v, i === jump ? 1 : 0)
    }
    return b.build('drift-jump', seed, 1e5, 1e6)
  },
  'flat-then-change'(random, seed) {
    const n = 2000
    const change = random.integer(800, 1600)
    const b = new Builder()
    const base = random.integer(20, 80)
    for (let i = 0; i < n; i++) {
      let v = base
      if (i % 97 === 13) v += random.bernoulli(0.5) ? 1 : -1
      if (i >= change) v = random.bernoulli(0.5) ? base + 3 + poisson(random, 2) : base + 3
      b.push(START + i * 5 * MINUTE, v, i === change ? 1 : 0)
    }
    return b.build('flat-then-change', seed)
  },
  'stuck-sensor'(random, seed) {
    const n = 2000
    const stuck = random.integer(700, 1300)
    const resume = stuck + random.integer(100, 300)
    const b = new Builder()
    let v = 0
    for (let i = 0; i < n; i++) {
      if (i < stuck || i >= resume) v = 20 + 5 * Math.sin(i / 40) + random.normal(0, 1)
      else if (i === stuck) v = Math.round(v)
      b.push(START + i * MINUTE, v, (i >= stuck && i < stuck + 30) || i === resume ? 1 : 0)
    }
    return b.build('stuck-sensor', seed, 0.01)
  },
  'heavy-noise-outlier'(random, seed) {
    const n = 2000
    const [big, medium] = positions(random, n, 2, 300)
    const b = new Builder()
    for (let i = 0; i < n; i++) {
      let v = 10 * studentT(random, 3)
      if (i === big) v += 250
      if (i === medium) v -= 120
      b.push(START + i * 5 * MINUTE, v, i === big || i === medium ? 1 : 0)
    }
    return b.build('heavy-noise-outlier', seed, 10 ** random.integer(-3, 5), 1000)
  },
  'random-walk'(random, seed) {
    const n = 3000
    const jumps = new Set(positions(random, n, 2, 500))
    const b = new Builder()
    let v = 0
    for (let i = 0; i < n; i++) {
      v += random.normal(0, 1)
      if (jumps.has(i)) v += (random.bernoulli(0.5) ? 1 : -1) * 10
      b.push(START + i * MINUTE, v, jumps.has(i) ? 1 : 0)
    }
    return b.build('random-walk', seed, 10 ** random.integer(-2, 4))
  },
  sawtooth(random, seed) {
    const n = 2000
    const tooth = 50
    const broken = tooth * random.integer(12, 36)
    const b = new Builder()
    for (let i = 0; i < n; i++) {
      let phase = i % tooth
      // one tooth resets early: a drop 20 samples too soon
      if (i >= broken + 30 && i < broken + tooth) phase = i - broken - 30
      const v = phase / tooth + random.normal(0, 0.02)
      b.push(START + i * HOUR, v, i === broken + 30 ? 1 : 0)
    }
    return b.build('sawtooth', seed, 1e3)
  },
  'amplitude-change'(random, seed) {
    const n = 2400
    const start = random.integer(1000, 2000)
    const b = new Builder()
    for (let i = 0; i < n; i++) {
      const amp = i >= start && i < start + 48 ? 2.5 : 1
      const v = amp * 10 * Math.sin((2 * Math.PI * i) / 24) + random.normal(0, 1)
      const label = i >= start && i < start + 48 && Math.abs(Math.sin((2 * Math.PI * i) / 24)) > 0.7 ? 1 : 0
      b.push(START + i * HOUR, v, label)
    }
    return b.build('amplitude-change', seed, 10 ** random.integer(-1, 3), 100)
  },
  cpu(random, seed) {
    const n = 4032
    const spikes = new Set(positions(random, n, 3, 300))
    const shift = random.integer(2500, 3800)
    const b = new Builder()
    let wander = 0
    for (let i = 0; i < n; i++) {
      if (spikes.has(i - 1) || spikes.has(i - 2)) {
        b.push(START + i * 5 * MINUTE, b.values.at(-1)!, 1)
        continue
      }
      const t = START + i * 5 * MINUTE
      wander = 0.98 * wander + random.normal(0, 0.6)
      let v = 25 + wander + 5 * Math.sin((2 * Math.PI * (t % DAY)) / DAY) + Math.abs(random.normal(0, 1.5))
      if (i >= shift) v += 20
      if (spikes.has(i)) v = random.uniform(85, 100)
      b.push(t, Math.min(100, Math.max(0, v)), spikes.has(i) || i === shift ? 1 : 0)
    }
    return b.build('cpu', seed)
  },
  counts(random, seed) {
    const n = 4032
    const burst = random.integer(1500, 3800)
    const b = new Builder()
    for (let i = 0; i < n; i++) {
      const t = START + i * 5 * MINUTE
      let rate = 12 + 8 * Math.sin((2 * Math.PI * (t % DAY)) / DAY)
      if (i >= burst && i < burst + 12) rate *= 4
      b.push(t, poisson(random, rate), i >= burst && i < burst + 3 ? 1 : 0)
    }
    return b.build('counts', seed)
  },
  irregular(random, seed) {
    const n = 2500
    const spikes = new Set(positions(random, n, 3, 300))
    const b = new Builder()
    let t = START
    let noise = 0
    for (let i = 0; i < n; i++) {
      t += Math.round(random.exponential(1 / 30_000)) + 1000
      noise = 0.7 * noise + random.normal(0, 1)
      const v = 3 + noise + (spikes.has(i) ? 9 : 0)
      b.push(t, v, spikes.has(i) ? 1 : 0)
    }
    return b.build('irregular', seed, 10 ** random.integer(-3, 6))
  },
  'index-seasonal'(random, seed) {
    // Yahoo-S5-like: integer timestamps, a seasonal period unrelated to days, trend, spikes
    const n = random.integer(700, 1680)
    const period = random.integer(12, 100)
    const spikes = new Set(positions(random, n, 4, 60))
    const b = new Builder()
    for (let i = 0; i < n; i++) {
      let v = 0.01 * i + 5 * Math.sin((2 * Math.PI * i) / period) + random.normal(0, 0.7)
      if (spikes.has(i)) v += (random.bernoulli(0.5) ? 1 : -1) * random.uniform(4, 7)
      b.push(i + 1, v, spikes.has(i) ? 1 : 0)
    }
    return b.build('index-seasonal', seed, 10 ** random.integer(-1, 4))
  },
}

// ---------------------------------------------------------------- detectors

type Scorer = (series: Series) => Float64Array

function lookout(series: Series): Float64Array {
  const detector = new SeriesDetector()
  const scores = new Float64Array(series.values.length)
  for (let i = 0; i < scores.length; i++) scores[i] = detector.update(series.times[i]!, series.values[i]!)
  return scores
}

/** |x − mean| / std over the previous 100 values, mapped by the same z → score function. */
function rollingZ(series: Series): Float64Array {
  const window = 100
  const { values } = series
  const scores = new Float64Array(values.length)
  let sum = 0
  let squares = 0
  for (let i = 0; i < values.length; i++) {
    const count = Math.min(i, window)
    if (count >= 10) {
      const mean = sum / count
      const std = Math.sqrt(Math.max(0, squares / count - mean * mean))
      const deviation = Math.abs(values[i]! - mean)
      scores[i] = zToScore(std > 0 ? deviation / std : deviation > 0 ? Number.POSITIVE_INFINITY : 0)
    }
    sum += values[i]!
    squares += values[i]! ** 2
    if (i >= window) {
      sum -= values[i - window]!
      squares -= values[i - window]! ** 2
    }
  }
  return scores
}

/** |x − previous| over the std of the previous 100 differences, same z → score function. */
function previousDifference(series: Series): Float64Array {
  const window = 100
  const { values } = series
  const scores = new Float64Array(values.length)
  const diffs: number[] = []
  let squares = 0
  for (let i = 1; i < values.length; i++) {
    const diff = values[i]! - values[i - 1]!
    if (diffs.length >= 10) {
      const std = Math.sqrt(squares / diffs.length)
      scores[i] = zToScore(std > 0 ? Math.abs(diff) / std : diff !== 0 ? Number.POSITIVE_INFINITY : 0)
    }
    diffs.push(diff)
    squares += diff * diff
    if (diffs.length > window) squares -= diffs.shift()! ** 2
  }
  return scores
}

// ---------------------------------------------------------------- metrics

function rocAuc(scores: Float64Array, labels: Uint8Array): number {
  const order = Array.from(scores.keys()).sort((a, b) => scores[a]! - scores[b]!)
  let positives = 0
  let rankSum = 0
  for (let i = 0; i < order.length; ) {
    let j = i
    while (j < order.length && scores[order[j]!] === scores[order[i]!]) j++
    const rank = (i + j + 1) / 2
    for (let k = i; k < j; k++) {
      if (labels[order[k]!]) {
        positives++
        rankSum += rank
      }
    }
    i = j
  }
  const negatives = order.length - positives
  if (positives === 0 || negatives === 0) return Number.NaN
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives)
}

function averagePrecision(scores: Float64Array, labels: Uint8Array): number {
  const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]!)
  const positives = labels.reduce((a, b) => a + b, 0)
  if (positives === 0) return Number.NaN
  let hits = 0
  let seen = 0
  let ap = 0
  for (let i = 0; i < order.length; ) {
    let j = i
    let groupHits = 0
    while (j < order.length && scores[order[j]!] === scores[order[i]!]) {
      groupHits += labels[order[j]!]!
      j++
    }
    seen += j - i
    hits += groupHits
    ap += (groupHits / positives) * (hits / seen)
    i = j
  }
  return ap
}

interface Window {
  start: number
  end: number
}

/** NAB windows: 10 % of the length shared among the labelled runs, centred on each run's start. */
export function windows(labels: Uint8Array): Window[] {
  const starts: number[] = []
  for (let i = 0; i < labels.length; i++) if (labels[i] && !labels[i - 1]) starts.push(i)
  const length = Math.max(3, Math.floor((0.1 * labels.length) / Math.max(1, starts.length)))
  return starts.map((s) => ({
    start: Math.max(0, s - Math.floor(length / 2)),
    end: Math.min(labels.length - 1, s + Math.ceil(length / 2)),
  }))
}

interface WindowResult {
  detected: number
  windows: number
  falsePositives: number
  nab: number
}

/** NAB standard profile: TP weighted by a sigmoid of how early, FP −0.11 each, FN −1; normalised 0 (none) … 100. */
function windowScore(scores: Float64Array, labels: Uint8Array, threshold: number): WindowResult {
  const list = windows(labels)
  const inside = new Uint8Array(labels.length)
  let raw = 0
  let detected = 0
  for (const w of list) {
    for (let i = w.start; i <= w.end; i++) inside[i] = 1
    let first = -1
    for (let i = w.start; i <= w.end; i++) {
      if (scores[i]! >= threshold) {
        first = i
        break
      }
    }
    if (first < 0) raw -= 1
    else {
      detected++
      const y = (first - w.end) / Math.max(1, w.end - w.start)
      raw += 2 / (1 + Math.exp(5 * y)) - 1
    }
  }
  let falsePositives = 0
  // The first 15 % is NAB's probationary period: not counted.
  for (let i = Math.floor(0.15 * labels.length); i < labels.length; i++) {
    if (!inside[i] && scores[i]! >= threshold) falsePositives++
  }
  raw -= 0.11 * falsePositives
  const nullRaw = -list.length
  const perfect = list.length * (2 / (1 + Math.exp(-5)) - 1)
  return { detected, windows: list.length, falsePositives, nab: (100 * (raw - nullRaw)) / (perfect - nullRaw) }
}

// ---------------------------------------------------------------- run

function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  if (finite.length === 0) return Number.NaN
  const mid = finite.length >> 1
  return finite.length % 2 ? finite[mid]! : (finite[mid - 1]! + finite[mid]!) / 2
}

function pythonReference(all: Series[]): Float64Array[] | undefined {
  const python = join(import.meta.dirname, '.venv', 'bin', 'python')
  const script = join(import.meta.dirname, 'reference', 'series.py')
  if (!existsSync(python) || !existsSync(script)) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'lookout-series-'))
  try {
    const input = join(dir, 'in.json')
    const output = join(dir, 'out.json')
    writeFileSync(input, JSON.stringify(all.map((s) => ({ t: Array.from(s.times), v: Array.from(s.values) }))))
    const run = spawnSync(python, [script, input, output], { stdio: ['ignore', 'inherit', 'inherit'] })
    if (run.status !== 0) return undefined
    const parsed = JSON.parse(readFileSync(output, 'utf8')) as number[][]
    return parsed.map((scores) => Float64Array.from(scores))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function main(): void {
  const { values: args } = parseArgs({
    options: {
      seeds: { type: 'string', default: '3' },
      threshold: { type: 'string', default: '0.9' },
      'no-python': { type: 'boolean', default: false },
      kind: { type: 'string' },
    },
  })
  const seeds = Number(args.seeds)
  const threshold = Number(args.threshold)
  const kinds = Object.keys(generators).filter((k) => args.kind === undefined || k === args.kind)
  const all: Series[] = []
  for (const kind of kinds) {
    for (let seed = 1; seed <= seeds; seed++) all.push(generators[kind]!(new Random(seed * 7919 + kind.length), seed))
  }

  const methods: { name: string; scores: Float64Array[] }[] = []
  const timeStart = performance.now()
  const lookoutScores = all.map(lookout)
  const elapsed = performance.now() - timeStart
  const points = all.reduce((a, s) => a + s.values.length, 0)
  methods.push({ name: 'lookout', scores: lookoutScores })
  methods.push({ name: 'rolling-z', scores: all.map(rollingZ as Scorer) })
  methods.push({ name: 'prev-diff', scores: all.map(previousDifference as Scorer) })
  if (!args['no-python']) {
    const reference = pythonReference(all)
    if (reference) methods.push({ name: 'py-rollmed', scores: reference })
  }

  console.log(`${all.length} series (${kinds.length} kinds × ${seeds} seeds), ${points} points, threshold ${threshold}`)
  console.log(`lookout: ${((points / elapsed) * 1000).toFixed(0)} updates/s (incl. period detection)\n`)
  const header = ['kind', ...methods.flatMap((m) => [`${m.name} AUC`, 'AP', 'NAB', 'det', 'FP'])]
  const rows: string[][] = []
  const pad = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(20) : c.padStart(i % 5 === 1 ? 14 : 6)))
  const perMethod = methods.map(() => ({ auc: [] as number[], ap: [] as number[], nab: [] as number[] }))
  const totals = methods.map(() => ({ detected: 0, windows: 0, falsePositives: 0 }))
  for (const kind of kinds) {
    const row = [kind]
    methods.forEach((method, m) => {
      const auc: number[] = []
      const ap: number[] = []
      const nab: number[] = []
      let detected = 0
      let windowCount = 0
      let falsePositives = 0
      all.forEach((series, s) => {
        if (series.kind !== kind) return
        const scores = method.scores[s]!
        auc.push(rocAuc(scores, series.labels))
        ap.push(averagePrecision(scores, series.labels))
        const w = windowScore(scores, series.labels, threshold)
        nab.push(w.nab)
        detected += w.detected
        windowCount += w.windows
        falsePositives += w.falsePositives
      })
      perMethod[m]!.auc.push(...auc)
      perMethod[m]!.ap.push(...ap)
      perMethod[m]!.nab.push(...nab)
      totals[m]!.detected += detected
      totals[m]!.windows += windowCount
      totals[m]!.falsePositives += falsePositives
      row.push(
        median(auc).toFixed(3),
        median(ap).toFixed(3),
        median(nab).toFixed(1),
        `${detected}/${windowCount}`,
        String(falsePositives),
      )
    })
    rows.push(row)
  }
  console.log(pad(header).join(' '))
  for (const row of rows) console.log(pad(row).join(' '))
  const summary = (label: string, f: (v: number[]) => number) => {
    const row = [label]
    methods.forEach((_, m) => {
      const p = perMethod[m]!
      const t = totals[m]!
      row.push(f(p.auc).toFixed(3), f(p.ap).toFixed(3), f(p.nab).toFixed(1), `${t.detected}/${t.windows}`)
      row.push(String(t.falsePositives))
    })
    console.log(pad(row).join(' '))
  }
  summary('MEDIAN (all series)', median)
  summary('MEAN (all series)', (v) => v.filter(Number.isFinite).reduce((a, b) => a + b, 0) / v.length)
  console.log('\nthreshold sweep: mean NAB over all series (windows detected, FP points)')
  const sweep = [0.5, 0.7, 0.8, 0.9, 0.95, 0.99]
  for (const method of methods) {
    const cells = sweep.map((t) => {
      let nab = 0
      let detected = 0
      let falsePositives = 0
      all.forEach((series, s) => {
        const w = windowScore(method.scores[s]!, series.labels, t)
        nab += w.nab
        detected += w.detected
        falsePositives += w.falsePositives
      })
      return `${t}: ${(nab / all.length).toFixed(1)} (${detected}, ${falsePositives})`
    })
    console.log(`  ${method.name.padEnd(12)} ${cells.join('  ')}`)
  }
  console.log('\nAUC = ROC-AUC, AP = average precision (point labels), NAB = normalised window score (0 = no')
  console.log('detections, 100 = every window detected at its start, no false positives), det = windows detected,')
  console.log('FP = points ≥ threshold outside windows after the 15 % probation, summed over series.')
}

if (process.argv[1] === import.meta.filename) main()
