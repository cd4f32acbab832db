// Lookout's record detectors on real labelled data (the ADBench files of ../shared/data/tabular-dev),
// beside scikit-learn's Isolation Forest and River's Half-Space Trees, run in the same run on the
// same rows with the same protocol.
//
//   node bench/real-data.ts [--data ../shared/data/tabular-dev] [--seeds 20] [--jobs 2]
//
// Lookout: `lookout eval --input FILE --json` (the command users run; one configuration for
// every file): the first 20 % of rows trains the Isolation Forest, every row is scored through
// the stream's enrich and score code. References (bench/reference/real_data.py, in
// bench/.venv: `npm run bench:setup`): scikit-learn's IsolationForest (defaults, random_state
// 42) trained on the same first 20 % and scoring every row; River's HalfSpaceTrees (25 trees,
// height 15, window 250, seed 42) after River's MinMaxScaler, score then learn, row by row.
//
// Targets: on every file Lookout's forest within 0.01 ROC-AUC of scikit-learn's, Lookout's
// Half-Space Trees at least River's, the ensemble at least the best single detector minus 0.01.
// The two forests are the same algorithm with different random number generators, and one seed
// moves a forest's ROC-AUC by up to ±0.02 (standard deviation 0.008–0.01 on mammography and
// cardio over 40 seeds, for both), so the forest target compares the means over `--seeds` seeds
// (42, 43, ...) on the same rows; the seed-42 columns are shown beside them.
// The last column shows what robust ranges change: Lookout's Half-Space Trees (the scorer's
// settings, seed 42) on the same rows, scaled the old way (online min–max) and the new way.

import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { HalfSpaceTrees } from '../src/core/anomaly/half-space-trees.ts'
import { IsolationForest } from '../src/core/anomaly/isolation-forest.ts'
import { RobustScaler } from '../src/core/features/robust-scaler.ts'
import { scorerHalfSpaceTrees } from '../src/core/pipeline/scorer.ts'
import { rocAuc } from '../src/core/quality.ts'

const run = promisify(execFile)
const root = resolve(import.meta.dirname, '..')
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: resolve(root, '../shared/data/tabular-dev') },
    seeds: { type: 'string', default: '20' },
    jobs: { type: 'string', default: '2' },
  },
})
const data = resolve(args.data!)
const seeds = Number(args.seeds)
const jobs = Number(args.jobs)
const python = join(root, 'bench/.venv/bin/python')
if (!existsSync(python)) throw new Error('bench/.venv is missing: run `npm run bench:setup` first')
const files = ['cardio', 'thyroid', 'mammography', 'satimage-2', 'shuttle']

interface Quality {
  rocAuc: number
  ap: number
}
interface Row {
  file: string
  rows: number
  positives: number
  lookout: { isolation_forest: Quality; half_space_trees: Quality; ensemble: Quality; seconds: number }
  sklearn: Quality & { seconds: number; seeds?: { mean: number; min: number; max: number } }
  river: Quality & { seconds: number }
  lookoutForestSeeds: { mean: number; min: number; max: number }
  hstMinMax: number
  hstRobust: number
}

function lastJson(text: string): Record<string, unknown> {
  const lines = text.trim().split('\n')
  return JSON.parse(lines[lines.length - 1]!)
}

function readRows(path: string): { x: Float64Array[]; labels: Uint8Array } {
  const lines = readFileSync(path, 'utf8').trim().split('\n').slice(1)
  const x: Float64Array[] = []
  const labels = new Uint8Array(lines.length)
  lines.forEach((line, i) => {
    const values = line.split(',').map(Number)
    labels[i] = values.pop()!
    x.push(Float64Array.from(values))
  })
  return { x, labels }
}

/** Lookout's forest over seeds: trained on the first 20 %, every row scored (what eval does, without the stream). */
function forestSeeds(x: Float64Array[], labels: Uint8Array): { mean: number; min: number; max: number } {
  const train = Math.floor(x.length * 0.2)
  const featureNames = Array.from(x[0]!, (_, i) => `x${i}`)
  const aucs: number[] = []
  for (let s = 0; s < seeds; s++) {
    const forest = IsolationForest.train(x.slice(0, train), { featureNames, seed: 42 + s })
    aucs.push(
      rocAuc(
        x.map((row) => forest.score(row)),
        labels,
      ),
    )
  }
  return { mean: aucs.reduce((a, b) => a + b, 0) / aucs.length, min: Math.min(...aucs), max: Math.max(...aucs) }
}

/** Lookout's Half-Space Trees alone, score then learn, on min–max or robust ranges. */
function hst(x: Float64Array[], labels: Uint8Array, robust: boolean): number {
  const d = x[0]!.length
  const trees = new HalfSpaceTrees({ dimensions: d, seed: 42, ...scorerHalfSpaceTrees })
  const scaler = new RobustScaler({ dimensions: d, seed: 42 })
  const min = new Float64Array(d).fill(Infinity)
  const max = new Float64Array(d).fill(-Infinity)
  const scaled = new Float64Array(d)
  const scores = x.map((row) => {
    if (robust) scaler.transform(row, scaled)
    else
      for (let i = 0; i < d; i++)
        scaled[i] = max[i]! > min[i]! ? Math.min(1, Math.max(0, (row[i]! - min[i]!) / (max[i]! - min[i]!))) : 0.5
    const score = trees.score(scaled)
    trees.learn(scaled)
    scaler.observe(row)
    for (let i = 0; i < d; i++) {
      if (row[i]! < min[i]!) min[i] = row[i]!
      if (row[i]! > max[i]!) max[i] = row[i]!
    }
    return score
  })
  return rocAuc(scores, labels)
}

async function bench(file: string): Promise<Row> {
  const path = join(data, `${file}.csv`)
  const started = performance.now()
  const reference = run(python, [join(root, 'bench/reference/real_data.py'), '--csv', path, '--seeds', String(seeds)], {
    maxBuffer: 1 << 24,
  })
  const lookout = await run(join(root, 'bin/lookout'), ['eval', '--input', path, '--json'], { maxBuffer: 1 << 24 })
  const lookoutSeconds = (performance.now() - started) / 1000
  const ours = lastJson(lookout.stdout) as {
    rows: number
    positives: number
    detectors: Record<string, Quality>
    ensemble: Quality
  }
  const { x, labels } = readRows(path)
  const theirs = lastJson((await reference).stdout) as { sklearn: Row['sklearn']; river: Row['river'] }
  const row: Row = {
    file,
    rows: ours.rows,
    positives: ours.positives,
    lookout: {
      isolation_forest: ours.detectors.isolation_forest!,
      half_space_trees: ours.detectors.half_space_trees!,
      ensemble: ours.ensemble,
      seconds: lookoutSeconds,
    },
    sklearn: theirs.sklearn,
    river: theirs.river,
    lookoutForestSeeds: forestSeeds(x, labels),
    hstMinMax: hst(x, labels, false),
    hstRobust: hst(x, labels, true),
  }
  process.stderr.write(`${file}: done in ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
  return row
}

const results: Row[] = new Array(files.length)
let next = 0
await Promise.all(
  Array.from({ length: jobs }, async () => {
    while (next < files.length) {
      const i = next++
      results[i] = await bench(files[i]!)
    }
  }),
)

const f = (value: number) => value.toFixed(3)
const mark = (ok: boolean) => (ok ? '✓' : '✗')
const lines = [
  '| file | rows | Lookout IF | scikit-learn IF | IF over seeds: Lookout / scikit-learn | Lookout HST | River HST | Lookout ensemble | targets IF / HST / ensemble | HST min–max → robust |',
  '|---|---:|---|---|---|---|---|---|:-:|---|',
]
let allMet = true
for (const r of results) {
  const ifOk = r.sklearn.seeds
    ? r.lookoutForestSeeds.mean >= r.sklearn.seeds.mean - 0.01
    : r.lookout.isolation_forest.rocAuc >= r.sklearn.rocAuc - 0.01
  const hstOk = r.lookout.half_space_trees.rocAuc >= r.river.rocAuc
  const best = Math.max(r.lookout.isolation_forest.rocAuc, r.lookout.half_space_trees.rocAuc)
  const ensembleOk = r.lookout.ensemble.rocAuc >= best - 0.01
  allMet &&= ifOk && hstOk && ensembleOk
  const q = (x: Quality) => `${f(x.rocAuc)} / ${f(x.ap)}`
  lines.push(
    `| ${r.file} | ${r.rows.toLocaleString('en-US')} | ${q(r.lookout.isolation_forest)} | ${q(r.sklearn)} | ` +
      `${f(r.lookoutForestSeeds.mean)} / ${r.sklearn.seeds ? f(r.sklearn.seeds.mean) : '-'} | ${q(r.lookout.half_space_trees)} | ${q(r.river)} | ` +
      `${q(r.lookout.ensemble)} | ${mark(ifOk)} ${mark(hstOk)} ${mark(ensembleOk)} | ${f(r.hstMinMax)} → ${f(r.hstRobust)} |`,
  )
}
process.stdout.write(
  `ROC-AUC / AP; protocol: train the forest on the first 20 % of rows, score every row; HST score then learn.\n` +
    `IF over seeds: mean ROC-AUC over ${seeds} seeds from 42. Last column: Lookout's HST alone, seed 42.\n\n${lines.join('\n')}\n\n`,
)
process.stdout.write(`${JSON.stringify({ allTargetsMet: allMet, results })}\n`)
