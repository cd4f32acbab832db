// Isolation Forest: ours against scikit-learn on the same seeded data, in one run.
//
//   node bench/detectors-isolation-forest.ts [--seed 42] [--python bench/.venv/bin/python]
//
// Generates 10 features × 20,000 training rows and 20,000 test rows (2% labelled outliers
// of four kinds), writes them to a temporary CSV directory, trains ours and sklearn's
// IsolationForest (100 trees, max_samples 256), and prints ROC-AUC / average precision of
// both, and scoring rates: ours one event at a time and in one `scoreMany` call, sklearn one
// row at a time and sklearn on the whole test set. Rates are medians of several repeats.
// bench/detectors.ts imports `measureIsolationForest` to print these beside the other detectors.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { IsolationForest } from '../src/core/anomaly/isolation-forest.ts'
import { averagePrecision, rocAuc } from '../src/core/quality.ts'
import { Random } from '../src/core/random.ts'

const columns = 10
const featureNames = Array.from({ length: columns }, (_, i) => `feature${i}`)
const outlierKinds = ['one feature far out', 'scattered', 'correlation broken', 'micro-cluster'] as const

/**
 * Inliers: two Gaussian clusters in which features 1–3 follow feature 0, plus independent
 * noise features. Outliers (label 1) are one of four kinds, in turn.
 */
function generate(rows: number, outlierShare: number, random: Random): { data: Float64Array[]; labels: Uint8Array } {
  const data: Float64Array[] = []
  const labels = new Uint8Array(rows)
  const cluster = Float64Array.from({ length: columns }, () => random.uniform(2, 4))
  let kind = 0
  for (let r = 0; r < rows; r++) {
    const x = new Float64Array(columns)
    const centre = random.bernoulli(0.3) ? 1 : 0
    const base = random.normal(0, 1)
    for (let c = 0; c < columns; c++) {
      const shift = centre * cluster[c]!
      x[c] = c < 4 ? shift + base * (1 - 0.2 * c) + random.normal(0, 0.3) : shift + random.normal(0, 1)
    }
    if (random.bernoulli(outlierShare)) {
      labels[r] = 1
      switch (outlierKinds[kind++ % outlierKinds.length]) {
        case 'one feature far out':
          x[random.integer(0, columns - 1)]! += (random.bernoulli(0.5) ? 1 : -1) * random.uniform(5, 8)
          break
        case 'scattered':
          for (let c = 0; c < columns; c++) x[c] = random.uniform(-6, 9)
          break
        case 'correlation broken':
          x[1] = -x[0]! * 1.5
          x[2] = x[0]! + random.uniform(3, 4)
          break
        case 'micro-cluster':
          for (let c = 0; c < columns; c++) x[c] = (c % 2 === 0 ? 5 : -4) + random.normal(0, 0.05)
          break
      }
    }
    data.push(x)
  }
  return { data, labels }
}

/** Everything the Isolation Forest bench measured, for printing here or in bench/detectors.ts. */
export interface IsolationForestReport {
  seed: number
  columns: number
  trainRows: number
  testRows: number
  outliers: number
  sklearnVersion: string
  rocAuc: { ours: number; sklearn: number }
  averagePrecision: { ours: number; sklearn: number }
  /** sklearn.metrics' ROC-AUC / AP of both score sets: a cross-check of our metrics. */
  crossCheck: { rocAuc: { ours: number; sklearn: number }; averagePrecision: { ours: number; sklearn: number } }
  trainSeconds: { ours: number; sklearn: number }
  /** Events/s, medians: ours single-event wall and per CPU-second, ours scoreMany, sklearn. */
  rates: { oursSingle: number; oursSingleCpu: number; oursBatch: number; sklearnSingle: number; sklearnBatch: number }
  singleRepeats: number[]
}

interface SklearnReference {
  scores: number[]
  trainSeconds: number
  batchEventsPerSecond: number
  singleEventsPerSecond: number
  sklearnRocAuc: { sklearn: number; ours: number }
  sklearnAveragePrecision: { sklearn: number; ours: number }
  version: string
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}
const csv = (header: string[], rows: string[]) => `${header.join(',')}\n${rows.join('\n')}\n`

/** Trains ours and scikit-learn's forest on the same seeded data and times both. */
export function measureIsolationForest(
  seed = 42,
  python = join(import.meta.dirname, '.venv', 'bin', 'python'),
): IsolationForestReport {
  const random = new Random(seed)
  const train = generate(20_000, 0.02, random)
  const test = generate(20_000, 0.02, random)

  let start = performance.now()
  const forest = IsolationForest.train(train.data, { featureNames, nTrees: 100, sampleSize: 256, seed })
  const trainSeconds = (performance.now() - start) / 1000
  const ours = test.data.map((x) => forest.score(x))

  // Single-event scoring: warm up, then time full passes over the test rows.
  let sink = 0
  for (let i = 0; i < 3; i++) for (const x of test.data) sink += forest.score(x)
  // Wall-clock rate, and the rate per second of this thread's CPU time: the machine may be
  // shared, and CPU time is what "one core" buys.
  const rates: number[] = []
  const cpuRates: number[] = []
  for (let repeat = 0; repeat < 7; repeat++) {
    const cpu = process.threadCpuUsage()
    start = performance.now()
    for (const x of test.data) sink += forest.score(x)
    rates.push(test.data.length / ((performance.now() - start) / 1000))
    const used = process.threadCpuUsage(cpu)
    cpuRates.push(test.data.length / ((used.user + used.system) / 1e6))
  }
  const oursRate = median(rates)
  const oursCpuRate = median(cpuRates)

  // Batch: the whole test set through one scoreMany call (same scores, no per-call checks).
  const matrix = { data: new Float64Array(test.data.length * columns), rows: test.data.length, columns }
  for (const [i, x] of test.data.entries()) matrix.data.set(x, i * columns)
  const out = new Float64Array(matrix.rows)
  for (let i = 0; i < 3; i++) forest.scoreMany(matrix, out)
  const batchRates: number[] = []
  for (let repeat = 0; repeat < 7; repeat++) {
    start = performance.now()
    forest.scoreMany(matrix, out)
    batchRates.push(matrix.rows / ((performance.now() - start) / 1000))
  }
  const oursBatchRate = median(batchRates)

  const directory = mkdtempSync(join(tmpdir(), 'lookout-iforest-'))
  let reference: SklearnReference
  try {
    writeFileSync(
      join(directory, 'train.csv'),
      csv(
        featureNames,
        train.data.map((x) => Array.from(x).join(',')),
      ),
    )
    writeFileSync(
      join(directory, 'test.csv'),
      csv(
        [...featureNames, 'label'],
        test.data.map((x, i) => `${Array.from(x).join(',')},${test.labels[i]}`),
      ),
    )
    writeFileSync(
      join(directory, 'ours.csv'),
      csv(
        ['score'],
        ours.map((s) => String(s)),
      ),
    )
    const output = execFileSync(
      python,
      [join(import.meta.dirname, 'reference', 'isolation_forest.py'), directory, String(seed), '500'],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    )
    reference = JSON.parse(output)
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
  // Keeps the timed loops' results alive so that the compiler cannot drop them.
  if (sink === 0) console.log('')

  return {
    seed,
    columns,
    trainRows: train.data.length,
    testRows: test.data.length,
    outliers: test.labels.reduce((sum, label) => sum + label, 0),
    sklearnVersion: reference.version,
    rocAuc: { ours: rocAuc(ours, test.labels), sklearn: rocAuc(reference.scores, test.labels) },
    averagePrecision: {
      ours: averagePrecision(ours, test.labels),
      sklearn: averagePrecision(reference.scores, test.labels),
    },
    crossCheck: { rocAuc: reference.sklearnRocAuc, averagePrecision: reference.sklearnAveragePrecision },
    trainSeconds: { ours: trainSeconds, sklearn: reference.trainSeconds },
    rates: {
      oursSingle: oursRate,
      oursSingleCpu: oursCpuRate,
      oursBatch: oursBatchRate,
      sklearnSingle: reference.singleEventsPerSecond,
      sklearnBatch: reference.batchEventsPerSecond,
    },
    singleRepeats: rates,
  }
}

function print(r: IsolationForestReport): void {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
  const { rates } = r
  console.log(`Isolation Forest — seed ${r.seed}, ${r.columns} features, 20,000 train / 20,000 test rows`)
  console.log(`  test outliers: ${r.outliers} (${outlierKinds.join(', ')}); scikit-learn ${r.sklearnVersion}`)
  console.log('')
  console.log('                          ours          scikit-learn')
  console.log(
    `  ROC-AUC                 ${r.rocAuc.ours.toFixed(4)}        ${r.rocAuc.sklearn.toFixed(4)}   (|Δ| = ${Math.abs(r.rocAuc.ours - r.rocAuc.sklearn).toFixed(4)}, target ≤ 0.02)`,
  )
  console.log(
    `  average precision       ${r.averagePrecision.ours.toFixed(4)}        ${r.averagePrecision.sklearn.toFixed(4)}`,
  )
  console.log(
    `  training (s)            ${r.trainSeconds.ours.toFixed(3)}         ${r.trainSeconds.sklearn.toFixed(3)}`,
  )
  console.log(`  single-event events/s   ${fmt(rates.oursSingle).padEnd(13)} ${fmt(rates.sklearnSingle)}`)
  console.log(`  single-event per CPU-s  ${fmt(rates.oursSingleCpu).padEnd(13)} —`)
  console.log(`  batch events/s          ${fmt(rates.oursBatch).padEnd(13)} ${fmt(rates.sklearnBatch)}`)
  console.log('')
  console.log(`  ours single / sklearn single: ${(rates.oursSingle / rates.sklearnSingle).toFixed(0)}×`)
  console.log(`  ours single / sklearn batch:  ${(rates.oursSingle / rates.sklearnBatch).toFixed(2)}×`)
  console.log(
    `  ours single-event target ≥ 1,000,000 events/s: wall ${rates.oursSingle >= 1_000_000 ? 'met' : 'NOT met'}, per CPU-second ${rates.oursSingleCpu >= 1_000_000 ? 'met' : 'NOT met'}`,
  )
  console.log(
    `  cross-check with sklearn.metrics: ROC-AUC ours ${r.crossCheck.rocAuc.ours.toFixed(4)}, sklearn ${r.crossCheck.rocAuc.sklearn.toFixed(4)}; AP ours ${r.crossCheck.averagePrecision.ours.toFixed(4)}, sklearn ${r.crossCheck.averagePrecision.sklearn.toFixed(4)}`,
  )
  console.log(`  single-event repeats (events/s wall): ${r.singleRepeats.map(fmt).join(', ')}`)
  console.log(
    `  load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  )
}

if (import.meta.main) {
  const { values: args } = parseArgs({
    options: {
      seed: { type: 'string', default: '42' },
      python: { type: 'string', default: join(import.meta.dirname, '.venv', 'bin', 'python') },
    },
  })
  print(measureIsolationForest(Number(args.seed), args.python))
}
