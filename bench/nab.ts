// The Numenta Anomaly Benchmark on Lookout's series detector.
//
//   node bench/nab.ts [--nab ../shared/data/nab-dev] [--out DIR] [--no-rcf]
//
// Scores every file of `<nab>/data/` with `lookout score` (the command users run, one process a
// file, one configuration for every file), writes NAB result files, and scores them with the NAB
// scorer (`../shared/tools/nab-score.mjs`): standard, reward-low-FP and reward-low-FN profiles,
// one threshold for the whole corpus per profile, and a per-category breakdown at that threshold.
// As a same-run reference, Lookout's Random Cut Forest (score, then learn, on shingles of 4
// values) goes through the same result files and scorer. Published detectors' scores on the 34
// development files are printed beside (from the data's README).

import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { RandomCutForest } from '../src/core/anomaly/random-cut-forest.ts'

const root = resolve(import.meta.dirname, '..')
const { values: args } = parseArgs({
  options: {
    nab: { type: 'string', default: resolve(root, '../shared/data/nab-dev') },
    scorer: { type: 'string', default: resolve(root, '../shared/tools/nab-score.mjs') },
    out: { type: 'string', default: join(tmpdir(), 'lookout-nab') },
    'no-rcf': { type: 'boolean', default: false },
  },
})
const nab = resolve(args.nab!)
const out = resolve(args.out!)
const profiles = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const
/** Published scores on the 34 development files (standard profile), from the data's README. */
const published: [string, number][] = [
  ['ARTime', 80.4],
  ['contextOSE', 77.2],
  ['Numenta HTM', 72.8],
  ['Skyline (earthgecko)', 65.4],
  ['KNN-CAD', 60.4],
  ['Random Cut Forest (published)', 52.4],
  ['windowed Gaussian', 50.9],
]

const files: { category: string; name: string }[] = []
for (const category of readdirSync(join(nab, 'data')).sort())
  for (const name of readdirSync(join(nab, 'data', category)).sort())
    if (name.endsWith('.csv')) files.push({ category, name })
if (files.length === 0) throw new Error(`no NAB data files under ${join(nab, 'data')}: pass --nab NAB_ROOT`)

rmSync(out, { recursive: true, force: true })

/** Scores every file with `lookout score`; returns the seconds taken. */
function scoreWithLookout(detector: string): number {
  const started = performance.now()
  for (const { category, name } of files) {
    mkdirSync(join(out, category), { recursive: true })
    execFileSync(
      join(root, 'bin/lookout'),
      ['score', '--input', join(nab, 'data', category, name), '--output', join(out, category, `${detector}_${name}`)],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    )
  }
  return (performance.now() - started) / 1000
}

/** The same result files from Lookout's Random Cut Forest, in this process. */
function scoreWithRandomCutForest(detector: string): number {
  const started = performance.now()
  for (const { category, name } of files) {
    const lines = readFileSync(join(nab, 'data', category, name), 'utf8')
      .trim()
      .split('\n')
    const forest = new RandomCutForest({ dimensions: 1, shingleSize: 4, seed: 1 })
    const x = new Float64Array(1)
    const rows = [`${lines[0]},anomaly_score`]
    for (const line of lines.slice(1)) {
      x[0] = Number(line.slice(line.lastIndexOf(',') + 1))
      const score = forest.score(x)
      forest.learn(x)
      rows.push(`${line},${score}`)
    }
    mkdirSync(join(out, category), { recursive: true })
    writeFileSync(join(out, category, `${detector}_${name}`), `${rows.join('\n')}\n`)
  }
  return (performance.now() - started) / 1000
}

interface Result {
  normalized: Record<string, number>
  threshold: Record<string, number>
  categories: Record<string, Record<string, number>>
  detected: number
  windows: number
  falsePositives: number
}

function weights(profile: string): { tp: number; fn: number } {
  const config = JSON.parse(readFileSync(join(nab, 'config/profiles.json'), 'utf8'))[profile].CostMatrix
  return { tp: config.tpWeight, fn: config.fnWeight }
}

/** Runs the NAB scorer: corpus scores per profile, and per-category scores at the corpus threshold. */
function nabScore(detector: string): Result {
  const text = execFileSync(
    process.execPath,
    [
      args.scorer!,
      '--nab',
      nab,
      '--results',
      out,
      '--detector',
      detector,
      '--profile',
      profiles.join(','),
      '--per-file',
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  )
  const lines = text.trim().split('\n')
  const summary = JSON.parse(lines.at(-1)!)
  const result: Result = {
    normalized: {},
    threshold: {},
    categories: {},
    detected: summary.details.standard.windowsDetected,
    windows: summary.windows,
    falsePositives: summary.details.standard.fp,
  }
  const sums: Record<string, Record<string, { raw: number; windows: number }>> = {}
  for (const line of lines) {
    const match = /^\s+(\S+) ([^/\s]+)\/\S+ score=(-?[\d.]+) .* windows=\d+\/(\d+)/.exec(line)
    if (!match) continue
    const [, profile, category, score, windows] = match
    sums[category!] ??= {}
    const byProfile = sums[category!]!
    byProfile[profile!] ??= { raw: 0, windows: 0 }
    const entry = byProfile[profile!]!
    entry.raw += Number(score)
    entry.windows += Number(windows)
  }
  for (const profile of profiles) {
    result.normalized[profile] = summary[profile]
    result.threshold[profile] = summary.details[profile].threshold
    for (const [category, byProfile] of Object.entries(sums)) {
      const { raw, windows } = byProfile[profile]!
      const { tp, fn } = weights(profile)
      // categories without windows: the cost of their false positives (0 = none)
      result.categories[category] ??= {}
      result.categories[category]![profile] =
        windows === 0 ? raw : (100 * (raw + fn * windows)) / (tp * windows + fn * windows)
    }
  }
  return result
}

const runs: [string, Result, number][] = []
const lookoutSeconds = scoreWithLookout('lookout')
runs.push(['Lookout series detector', nabScore('lookout'), lookoutSeconds])
if (!args['no-rcf']) {
  const rcfSeconds = scoreWithRandomCutForest('lookoutRcf')
  runs.push(['Lookout Random Cut Forest (same run)', nabScore('lookoutRcf'), rcfSeconds])
}

const rows = files.length
console.log(`NAB v1.1 scoring of ${rows} files under ${nab} (results in ${out})\n`)
console.log(
  `${'detector'.padEnd(38)} ${'standard'.padStart(9)} ${'low FP'.padStart(8)} ${'low FN'.padStart(8)}  windows  FP rows  seconds`,
)
for (const [name, result, seconds] of runs)
  console.log(
    `${name.padEnd(38)} ${result.normalized.standard!.toFixed(1).padStart(9)} ${result.normalized.reward_low_FP_rate!.toFixed(1).padStart(8)} ${result.normalized.reward_low_FN_rate!.toFixed(1).padStart(8)}  ${`${result.detected}/${result.windows}`.padStart(7)}  ${String(result.falsePositives).padStart(7)}  ${seconds.toFixed(1).padStart(7)}`,
  )
for (const [name, score] of published) console.log(`${name.padEnd(38)} ${score.toFixed(1).padStart(9)}   (published)`)

console.log(
  '\nper category, standard profile, at the corpus threshold (no-anomaly files: cost of their false positives)',
)
const categories = Object.keys(runs[0]![1].categories).sort()
console.log(`${'detector'.padEnd(38)} ${categories.map((c) => c.padStart(22)).join('')}`)
for (const [name, result] of runs)
  console.log(
    `${name.padEnd(38)} ${categories.map((c) => result.categories[c]!.standard!.toFixed(1).padStart(22)).join('')}`,
  )
console.log(
  `\nthresholds (standard): ${runs.map(([name, result]) => `${name} ${result.threshold.standard}`).join('; ')}`,
)
console.log(
  JSON.stringify({
    lookout: runs[0]![1].normalized,
    categories: runs[0]![1].categories,
    ...(runs[1] ? { randomCutForest: runs[1][1].normalized } : {}),
  }),
)
