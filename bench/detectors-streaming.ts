// Streaming detectors against River: Half-Space Trees, one event at a time (score, then learn).
//
//   node bench/detectors-streaming.ts [--events 50000] [--repeats 5] [--seed 42]
//
// Writes a seeded stream (5 features in [0, 1], 1 % labelled outliers) to a temporary CSV, runs
// ours and River's HalfSpaceTrees (bench/reference/half_space_trees.py, in bench/.venv) with the
// same n_trees, height, window_size and seed, and prints events/s (median of the repeats), the
// speed ratio, ROC-AUC of each against the labels and the correlation of the two score series.
// The two forests differ (our seed drives sfc32, River's drives Python's Mersenne Twister), so
// it also loads River's exact forest into ours and checks the scores are identical. Our Random
// Cut Forest runs once on the same stream for context (River has no counterpart).
// bench/detectors.ts imports `measureStreaming`, `makeStream` and `runOurs`.

import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import type { Detector } from '../src/core/anomaly/detector.ts'
import { fromJSON, HalfSpaceTrees } from '../src/core/anomaly/half-space-trees.ts'
import { RandomCutForest } from '../src/core/anomaly/random-cut-forest.ts'
import { rocAuc } from '../src/core/quality.ts'
import { Random } from '../src/core/random.ts'

const dimensions = 5
const settings = { trees: 10, height: 8, windowSize: 250 }

const here = dirname(fileURLToPath(import.meta.url))
const python = join(here, '.venv', 'bin', 'python')

/** Two tight clusters of inliers; outliers uniform over the unit cube. */
export function makeStream(count: number, streamSeed: number): { rows: Float64Array[]; labels: Uint8Array } {
  const random = new Random(streamSeed)
  const rows: Float64Array[] = []
  const labels = new Uint8Array(count)
  const centres = [0.3, 0.7]
  for (let i = 0; i < count; i++) {
    const row = new Float64Array(dimensions)
    if (random.bernoulli(0.01)) {
      labels[i] = 1
      for (let d = 0; d < dimensions; d++) row[d] = random.next()
    } else {
      const centre = random.pick(centres)
      for (let d = 0; d < dimensions; d++) row[d] = Math.min(1, Math.max(0, random.normal(centre, 0.06)))
    }
    rows.push(row)
  }
  return { rows, labels }
}

function averageRanks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!)
  const ranks = new Float64Array(values.length)
  for (let i = 0; i < order.length; ) {
    let j = i
    while (j + 1 < order.length && values[order[j + 1]!] === values[order[i]!]) j++
    for (let k = i; k <= j; k++) ranks[order[k]!] = (i + j) / 2 + 1
    i = j + 1
  }
  return ranks
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let meanA = 0
  let meanB = 0
  for (let i = 0; i < a.length; i++) {
    meanA += a[i]!
    meanB += b[i]!
  }
  meanA /= a.length
  meanB /= b.length
  let cov = 0
  let varA = 0
  let varB = 0
  for (let i = 0; i < a.length; i++) {
    const da = a[i]! - meanA
    const db = b[i]! - meanB
    cov += da * db
    varA += da * da
    varB += db * db
  }
  return cov / Math.sqrt(varA * varB)
}

const spearman = (a: ArrayLike<number>, b: ArrayLike<number>) => pearson(averageRanks(a), averageRanks(b))
export function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const middle = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export interface Run {
  scores: Float64Array
  /** Wall-clock seconds. */
  seconds: number
  /** CPU seconds (user + system) of this process: steadier than wall time on a shared machine. */
  cpuSeconds: number
}

export function runOurs(detector: Detector, rows: Float64Array[]): Run {
  const scores = new Float64Array(rows.length)
  const cpu = process.cpuUsage()
  const start = process.hrtime.bigint()
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    scores[i] = detector.score(row)
    detector.learn(row)
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  const used = process.cpuUsage(cpu)
  return { scores, seconds, cpuSeconds: (used.user + used.system) / 1e6 }
}

/** What the Half-Space Trees comparison measured, for printing here or in bench/detectors.ts. */
export interface StreamingReport {
  events: number
  repeats: number
  seed: number
  outliers: number
  riverVersion: string
  /** Events/s, medians of the repeats (wall and per CPU-second). */
  rates: { ours: number; oursCpu: number; river: number; riverCpu: number }
  oursSeconds: number[]
  riverSeconds: number[]
  rocAuc: { ours: number; river: number; oursOnRiverForest: number; randomCutForest: number }
  /** Ours vs River (different forests), and ours vs ours under another seed, for scale. */
  agreement: { spearman: number; pearson: number; otherSeedSpearman: number; otherSeedPearson: number }
  /** Ours loaded with River's exact forest, against River's scores. */
  sameForest: { identical: number; maxDifference: number }
  randomCutForestRate: number
}

/** Runs ours and River's HalfSpaceTrees on the same seeded stream, in this process's run. */
export function measureStreaming(events = 50_000, repeats = 5, seed = 42): StreamingReport {
  const { rows, labels } = makeStream(events, seed)
  const directory = mkdtempSync(join(tmpdir(), 'lookout-hst-bench-'))
  try {
    const csv = join(directory, 'stream.csv')
    const lines = [`${Array.from({ length: dimensions }, (_, d) => `f${d}`).join(',')},label`]
    for (let i = 0; i < rows.length; i++) lines.push(`${Array.from(rows[i]!).join(',')},${labels[i]}`)
    writeFileSync(csv, `${lines.join('\n')}\n`)

    const scoresFile = join(directory, 'river-scores.f64')
    const structureFile = join(directory, 'river-forest.json')
    const riverOutput = execFileSync(
      python,
      [
        join(here, 'reference', 'half_space_trees.py'),
        ...['--csv', csv, '--trees', String(settings.trees), '--height', String(settings.height)],
        ...['--window', String(settings.windowSize), '--seed', String(seed), '--repeats', String(Math.min(repeats, 3))],
        ...['--scores-out', scoresFile, '--structure-out', structureFile],
      ],
      { encoding: 'utf8' },
    )
    const river = JSON.parse(riverOutput) as { events: number; seconds: number[]; cpuSeconds: number[]; river: string }
    const buffer = readFileSync(scoresFile)
    const riverScores = new Float64Array(buffer.buffer, buffer.byteOffset, buffer.byteLength / 8)

    // One untimed run first so that the timed ones measure JIT-compiled code, the steady state of a
    // long-running scorer (Python has no JIT to warm).
    runOurs(new HalfSpaceTrees({ dimensions, ...settings, seed }), rows)
    const oursRuns = Array.from({ length: repeats }, () =>
      runOurs(new HalfSpaceTrees({ dimensions, ...settings, seed }), rows),
    )
    const ours = oursRuns[0]!.scores
    const sameForest = runOurs(fromJSON(JSON.parse(readFileSync(structureFile, 'utf8'))), rows).scores
    let maxDifference = 0
    let identical = 0
    for (let i = 0; i < events; i++) {
      maxDifference = Math.max(maxDifference, Math.abs(sameForest[i]! - riverScores[i]!))
      if (sameForest[i] === riverScores[i]) identical++
    }

    // How much two forests of the same model disagree by chance: ours under another seed.
    const otherSeed = runOurs(new HalfSpaceTrees({ dimensions, ...settings, seed: seed + 1 }), rows).scores
    // For context: our Random Cut Forest (no River counterpart) on the same stream, one run.
    const forest = runOurs(new RandomCutForest({ dimensions, trees: 30, sampleSize: 256, seed }), rows)

    const outliers = labels.reduce((sum, label) => sum + label, 0)
    return {
      events,
      repeats,
      seed,
      outliers,
      riverVersion: river.river,
      rates: {
        ours: events / median(oursRuns.map((run) => run.seconds)),
        oursCpu: events / median(oursRuns.map((run) => run.cpuSeconds)),
        river: events / median(river.seconds),
        riverCpu: events / median(river.cpuSeconds),
      },
      oursSeconds: oursRuns.map((run) => run.seconds),
      riverSeconds: river.seconds,
      rocAuc: {
        ours: rocAuc(ours, labels),
        river: rocAuc(riverScores, labels),
        oursOnRiverForest: rocAuc(sameForest, labels),
        randomCutForest: rocAuc(forest.scores, labels),
      },
      agreement: {
        spearman: spearman(ours, riverScores),
        pearson: pearson(ours, riverScores),
        otherSeedSpearman: spearman(ours, otherSeed),
        otherSeedPearson: pearson(ours, otherSeed),
      },
      sameForest: { identical, maxDifference },
      randomCutForestRate: events / forest.seconds,
    }
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
}

function print(r: StreamingReport): void {
  const fmt = (x: number, digits = 4) => x.toFixed(digits)
  const rate = (x: number) => Math.round(x).toLocaleString('en')
  const list = (xs: number[]) => xs.map((x) => fmt(x, 3)).join(', ')
  console.log(
    `stream: ${r.events} events, ${dimensions} features in [0, 1], ${r.outliers} labelled outliers, seed ${r.seed}; ` +
      `HST trees=${settings.trees} height=${settings.height} window=${settings.windowSize}; score then learn per event`,
  )
  console.log(
    `ours  (Node ${process.versions.node}): ${rate(r.rates.ours)} events/s wall, ${rate(r.rates.oursCpu)} events/s CPU ` +
      `(median of ${r.repeats} after 1 warm-up; wall ${list(r.oursSeconds)} s)`,
  )
  console.log(
    `River ${r.riverVersion}: ${rate(r.rates.river)} events/s wall, ${rate(r.rates.riverCpu)} events/s CPU ` +
      `(median of ${r.riverSeconds.length}; wall ${list(r.riverSeconds)} s)`,
  )
  console.log(
    `speed ratio ours / River: ${fmt(r.rates.ours / r.rates.river, 1)}× wall, ${fmt(r.rates.oursCpu / r.rates.riverCpu, 1)}× CPU (target ≥ 10×)`,
  )
  console.log(`ROC-AUC ours: ${fmt(r.rocAuc.ours)}   River: ${fmt(r.rocAuc.river)}`)
  console.log(
    `ours vs River, own seeds (different forests): Spearman ${fmt(r.agreement.spearman)}, ` +
      `Pearson ${fmt(r.agreement.pearson)}`,
  )
  console.log(
    `for scale, ours seed ${r.seed} vs ours seed ${r.seed + 1}: Spearman ${fmt(r.agreement.otherSeedSpearman)}, ` +
      `Pearson ${fmt(r.agreement.otherSeedPearson)}`,
  )
  console.log(
    `ours on River's forest vs River: ${r.sameForest.identical}/${r.events} scores identical, max |difference| ${r.sameForest.maxDifference}, ` +
      `ROC-AUC ${fmt(r.rocAuc.oursOnRiverForest)}`,
  )
  console.log(
    `ours RandomCutForest (30 trees, 256 points, no shingle), one run: ` +
      `${rate(r.randomCutForestRate)} events/s wall, ROC-AUC ${fmt(r.rocAuc.randomCutForest)}`,
  )
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      events: { type: 'string', default: '50000' },
      repeats: { type: 'string', default: '5' },
      seed: { type: 'string', default: '42' },
    },
  })
  print(measureStreaming(Number(values.events), Number(values.repeats), Number(values.seed)))
}
