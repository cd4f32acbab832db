// Every detector's rate on one core, beside River and scikit-learn measured in the same run.
//
//   node bench/detectors.ts [--seed 42]
//
// Isolation Forest (trained offline; score only) against scikit-learn's IsolationForest,
// single-event and batch (score_samples): bench/detectors-isolation-forest.ts. Half-Space Trees
// (score then learn per event) against River's HalfSpaceTrees: bench/detectors-streaming.ts.
// Then, on their own: Random Cut Forest (score then learn), the per-entity robust z-score
// (robust z of the amount against the entity's history, the detector's score, then the history
// update: the work the pipeline does per event) and the series detector (update per point).
// Then the whole per-event scoring of the score service (bench/detectors-scorer.ts: every
// detector, the calibrated ensemble, rules, explanations of flagged events).
// Rates are medians of repeats after a warm-up; the accuracy checks of the two reference
// benches (ROC-AUC against scikit-learn and River) are printed with the targets. Writes
// bench/results/detectors.json.
import { loadavg } from 'node:os'
import { parseArgs } from 'node:util'
import { RandomCutForest } from '../src/core/anomaly/random-cut-forest.ts'
import {
  createRobustState,
  EntityZScoreDetector,
  type RobustState,
  robustZ,
  updateRobustState,
} from '../src/core/anomaly/robust-zscore.ts'
import { SeriesDetector } from '../src/core/anomaly/series.ts'
import { Random } from '../src/core/random.ts'
import { measureIsolationForest } from './detectors-isolation-forest.ts'
import { measureScorer } from './detectors-scorer.ts'
import { makeStream, measureStreaming, median, runOurs } from './detectors-streaming.ts'
import { writeResults } from './lib/results.ts'

const { values } = parseArgs({ options: { seed: { type: 'string', default: '42' } } })
const seed = Number(values.seed)

/** Events/s over `repeats` timed runs after one warm-up; `run` processes `events` events. */
function rate(events: number, repeats: number, run: () => number): { rate: number; repeats: number[] } {
  let sink = run()
  const rates: number[] = []
  for (let i = 0; i < repeats; i++) {
    const start = performance.now()
    sink += run()
    rates.push(events / ((performance.now() - start) / 1000))
  }
  if (sink === Number.NEGATIVE_INFINITY) console.log('')
  return { rate: median(rates), repeats: rates }
}

function randomCutForestRate(): number {
  const { rows } = makeStream(10_000, seed)
  return rate(rows.length, 3, () => {
    const run = runOurs(new RandomCutForest({ dimensions: 5, trees: 30, sampleSize: 256, seed }), rows)
    return run.scores[run.scores.length - 1]!
  }).rate
}

/** 1,000 entities with log-normal amounts of their own scale; 0.5 % of amounts ×20. */
function entityZScoreRate(): number {
  const events = 200_000
  const random = new Random(seed)
  const entities = new Int32Array(events)
  const amounts = new Float64Array(events)
  const scale = Float64Array.from({ length: 1000 }, () => random.uniform(1, 5))
  for (let i = 0; i < events; i++) {
    const entity = random.integer(0, scale.length - 1)
    entities[i] = entity
    amounts[i] = Math.exp(scale[entity]! + random.normal(0, 0.5)) * (random.bernoulli(0.005) ? 20 : 1)
  }
  const detector = new EntityZScoreDetector({ featureIndices: [0], featureNames: ['amountRobustZ'] })
  const x = new Float64Array(1)
  return rate(events, 5, () => {
    const states: RobustState[] = Array.from({ length: scale.length }, () => createRobustState())
    let total = 0
    for (let i = 0; i < events; i++) {
      const entity = entities[i]!
      x[0] = robustZ(states[entity], amounts[i]!)
      total += detector.score(x)
      states[entity] = updateRobustState(states[entity], amounts[i]!)
    }
    return total
  }).rate
}

/** Five-minute samples: a daily cycle, noise, a level shift and spikes. */
function seriesRate(): number {
  const points = 100_000
  const random = new Random(seed)
  const values = new Float64Array(points)
  for (let i = 0; i < points; i++) {
    const daily = 10 * Math.sin((2 * Math.PI * i) / 288)
    values[i] = 100 + daily + (i > points / 2 ? 15 : 0) + random.normal(0, 2) + (random.bernoulli(0.001) ? 40 : 0)
  }
  return rate(points, 3, () => {
    const detector = new SeriesDetector()
    let total = 0
    for (let i = 0; i < points; i++) total += detector.update(i * 300_000, values[i]!)
    return total
  }).rate
}

const forest = measureIsolationForest(seed)
const streaming = measureStreaming(50_000, 5, seed)
const randomCutForest = randomCutForestRate()
const entityZScore = entityZScoreRate()
const series = seriesRate()
const scorer = measureScorer(seed)

const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
const ratio = (a: number, b: number) => `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×`
const met = (ok: boolean) => (ok ? 'met' : 'NOT met')
const rows: [string, string, string, string][] = [
  ['detector (one core)', 'events/s', 'reference in this run', 'ratio'],
  [
    'Isolation Forest, score one event (100 trees)',
    fmt(forest.rates.oursSingle),
    `scikit-learn ${forest.sklearnVersion} one row: ${fmt(forest.rates.sklearnSingle)}`,
    ratio(forest.rates.oursSingle, forest.rates.sklearnSingle),
  ],
  ['  same, per CPU-second of the scoring thread', fmt(forest.rates.oursSingleCpu), '', ''],
  [
    'Isolation Forest, scoreMany (batch)',
    fmt(forest.rates.oursBatch),
    `scikit-learn score_samples batch: ${fmt(forest.rates.sklearnBatch)}`,
    ratio(forest.rates.oursBatch, forest.rates.sklearnBatch),
  ],
  [
    'Half-Space Trees, score + learn',
    fmt(streaming.rates.ours),
    `River ${streaming.riverVersion} HalfSpaceTrees: ${fmt(streaming.rates.river)}`,
    ratio(streaming.rates.ours, streaming.rates.river),
  ],
  ['Random Cut Forest, score + learn (30 trees)', fmt(randomCutForest), '(no River counterpart)', ''],
  ['entity robust z-score, z + score + update', fmt(entityZScore), '', ''],
  ['series detector, update', fmt(series), '', ''],
  [
    'whole scoring, no model (PartitionScorer.score)',
    fmt(scorer.noModel),
    `every event explained: ${fmt(scorer.withModelExplainAll)} (with a model)`,
    '',
  ],
  [
    'whole scoring, with a model',
    fmt(scorer.withModel),
    `Isolation Forest alone, one event: ${fmt(forest.rates.oursSingle)}`,
    '',
  ],
  ['  same, per CPU-second', fmt(scorer.withModelCpu), '', ''],
  ["  same, and the scored record's JSON", fmt(scorer.withModelAndJson), '', ''],
]
const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((row) => row[c]!.length)))
console.log(`Detectors — seed ${seed}, Node ${process.versions.node}; medians of repeats after a warm-up (wall clock)`)
console.log('')
for (const row of rows)
  console.log(
    `  ${row[0].padEnd(widths[0]!)}  ${row[1].padStart(widths[1]!)}  ${row[2].padEnd(widths[2]!)}  ${row[3]}`.trimEnd(),
  )
console.log('')
const aucGap = Math.abs(forest.rocAuc.ours - forest.rocAuc.sklearn)
console.log('Targets')
console.log(
  `  Isolation Forest single-event ≥ 1,000,000 events/s: ${fmt(forest.rates.oursSingle)} wall → ${met(forest.rates.oursSingle >= 1_000_000)}; ` +
    `${fmt(forest.rates.oursSingleCpu)} per CPU-second → ${met(forest.rates.oursSingleCpu >= 1_000_000)}`,
)
console.log(
  `  streaming detector (Half-Space Trees) ≥ 10× River: ${ratio(streaming.rates.ours, streaming.rates.river)} wall → ${met(streaming.rates.ours >= 10 * streaming.rates.river)}; ` +
    `${ratio(streaming.rates.oursCpu, streaming.rates.riverCpu)} per CPU-second → ${met(streaming.rates.oursCpu >= 10 * streaming.rates.riverCpu)}`,
)
console.log(
  `  Isolation Forest ROC-AUC within 0.02 of scikit-learn: ours ${forest.rocAuc.ours.toFixed(4)}, scikit-learn ${forest.rocAuc.sklearn.toFixed(4)}, |Δ| ${aucGap.toFixed(4)} → ${met(aucGap <= 0.02)}`,
)
console.log(
  `  Half-Space Trees against River: ROC-AUC ours ${streaming.rocAuc.ours.toFixed(4)}, River ${streaming.rocAuc.river.toFixed(4)}; ` +
    `on River's own forest ${streaming.sameForest.identical}/${streaming.events} scores identical`,
)
console.log(
  `  whole per-event scoring (all detectors, calibration, ensemble; explanations of flagged events) ≥ 200,000 events/s: ${fmt(scorer.withModel)} wall → ${met(scorer.withModel >= 200_000)}; ${fmt(scorer.withModelCpu)} per CPU-second → ${met(scorer.withModelCpu >= 200_000)}`,
)
console.log('')
console.log(
  `Isolation Forest: ${forest.columns} features, ${fmt(forest.trainRows)} train / ${fmt(forest.testRows)} test rows, ${forest.outliers} outliers; ` +
    `Half-Space Trees: ${fmt(streaming.events)} events, 5 features, 10 trees, height 8, window 250`,
)
console.log(
  `load average at the end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} (2 cores; other work shares the machine)`,
)
writeResults('detectors', `node bench/detectors.ts --seed ${seed}`, {
  seed,
  isolationForest: { rates: forest.rates, rocAuc: forest.rocAuc, sklearnVersion: forest.sklearnVersion },
  halfSpaceTrees: { rates: streaming.rates, rocAuc: streaming.rocAuc, riverVersion: streaming.riverVersion },
  randomCutForest,
  entityZScore,
  series,
  scorer,
})
