// Isolation Forest: ours against scikit-learn on the same seeded data, in one run.
//
//   node bench/detectors-isolation-forest.ts [--seed 42] [--python bench/.venv/bin/python]
//
// Generates 10 features × 20,000 training rows and 20,000 test rows (2% labelled outliers
// of four kinds), writes them to a temporary CSV directory, trains ours and sklearn's
// IsolationForest (100 trees, max_samples 256), and prints ROC-AUC / average precision of
// both, and scoring rates: ours one event at a time, sklearn one row at a time and sklearn
// on the whole test set. Rates are medians of several repeats.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { IsolationForest } from '../src/core/anomaly/isolation-forest.ts'
import { averagePrecision, rocAuc } from '../src/core/quality.ts'
import { Random } from '../src/core/random.ts'

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: '42' },
    python: { type: 'string', default: join(import.meta.dirname, '.venv', 'bin', 'python') },
  },
})
const seed = Number(args.seed)
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

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}
const csv = (header: string[], rows: string[]) => `${header.join(',')}\n${rows.join('\n')}\n`

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

const directory = mkdtempSync(join(tmpdir(), 'lookout-iforest-'))
let reference: {
  scores: number[]
  trainSeconds: number
  batchEventsPerSecond: number
  singleEventsPerSecond: number
  sklearnRocAuc: { sklearn: number; ours: number }
  sklearnAveragePrecision: { sklearn: number; ours: number }
  version: string
}
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
    args.python,
    [join(import.meta.dirname, 'reference', 'isolation_forest.py'), directory, String(seed), '500'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  )
  reference = JSON.parse(output)
} finally {
  rmSync(directory, { recursive: true, force: true })
}

const oursAuc = rocAuc(ours, test.labels)
const sklearnAuc = rocAuc(reference.scores, test.labels)
const outliers = test.labels.reduce((sum, label) => sum + label, 0)
const fmt = (n: number) => Math.round(n).toLocaleString('en-US')

console.log(`Isolation Forest — seed ${seed}, ${columns} features, 20,000 train / 20,000 test rows`)
console.log(`  test outliers: ${outliers} (${outlierKinds.join(', ')}); scikit-learn ${reference.version}`)
console.log('')
console.log('                          ours          scikit-learn')
console.log(
  `  ROC-AUC                 ${oursAuc.toFixed(4)}        ${sklearnAuc.toFixed(4)}   (|Δ| = ${Math.abs(oursAuc - sklearnAuc).toFixed(4)}, target ≤ 0.02)`,
)
console.log(
  `  average precision       ${averagePrecision(ours, test.labels).toFixed(4)}        ${averagePrecision(reference.scores, test.labels).toFixed(4)}`,
)
console.log(`  training (s)            ${trainSeconds.toFixed(3)}         ${reference.trainSeconds.toFixed(3)}`)
console.log(`  single-event events/s   ${fmt(oursRate).padEnd(13)} ${fmt(reference.singleEventsPerSecond)}`)
console.log(`  single-event per CPU-s  ${fmt(oursCpuRate).padEnd(13)} —`)
console.log(`  batch events/s          —             ${fmt(reference.batchEventsPerSecond)}`)
console.log('')
console.log(`  ours single / sklearn single: ${(oursRate / reference.singleEventsPerSecond).toFixed(0)}×`)
console.log(`  ours single / sklearn batch:  ${(oursRate / reference.batchEventsPerSecond).toFixed(2)}×`)
console.log(
  `  ours single-event target ≥ 1,000,000 events/s: wall ${oursRate >= 1_000_000 ? 'met' : 'NOT met'}, per CPU-second ${oursCpuRate >= 1_000_000 ? 'met' : 'NOT met'}`,
)
console.log(
  `  cross-check with sklearn.metrics: ROC-AUC ours ${reference.sklearnRocAuc.ours.toFixed(4)}, sklearn ${reference.sklearnRocAuc.sklearn.toFixed(4)}; AP ours ${reference.sklearnAveragePrecision.ours.toFixed(4)}, sklearn ${reference.sklearnAveragePrecision.sklearn.toFixed(4)}`,
)
console.log(`  single-event repeats (events/s wall): ${rates.map(fmt).join(', ')}`)
console.log(
  `  load average at the end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
)
if (sink === 0) console.log('')
