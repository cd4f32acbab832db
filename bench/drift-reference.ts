// Compares Lookout's drift detectors with River's on the same seeded streams, and measures
// update throughput of both.
//
//   node bench/drift-reference.ts
//
// Needs the bench venv with River: python3 -m venv bench/.venv && bench/.venv/bin/pip install river numpy
// The streams are generated here, written to a temporary directory, and read by
// bench/reference/drift.py in the same run; detection indices must agree exactly.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ADWIN, type AdwinOptions } from '../src/core/drift/adwin.ts'
import { DDM, type DdmOptions } from '../src/core/drift/ddm.ts'
import type { DriftDetector } from '../src/core/drift/detector.ts'
import { PageHinkley, type PageHinkleyOptions } from '../src/core/drift/page-hinkley.ts'
import { Random } from '../src/core/random.ts'

interface Stream {
  readonly id: string
  readonly description: string
  /** Index of the first value after the change, or null for a stationary stream. */
  readonly change: number | null
  readonly binary: boolean
  readonly values: Float64Array
}

type DetectorSpec =
  | { readonly type: 'ddm'; readonly options: DdmOptions }
  | { readonly type: 'adwin'; readonly options: AdwinOptions }
  | { readonly type: 'page-hinkley'; readonly options: PageHinkleyOptions }

interface Case {
  readonly id: string
  readonly stream: Stream
  readonly detector: DetectorSpec
}

function numericStream(
  id: string,
  description: string,
  change: number | null,
  length: number,
  seed: number,
  draw: (random: Random, index: number) => number,
): Stream {
  const random = new Random(seed)
  const values = new Float64Array(length)
  for (let i = 0; i < length; i++) values[i] = draw(random, i)
  return { id, description, change, binary: false, values }
}

function errorStream(
  id: string,
  description: string,
  change: number | null,
  length: number,
  seed: number,
  rate: (index: number) => number,
): Stream {
  const stream = numericStream(id, description, change, length, seed, (random, i) =>
    random.bernoulli(rate(i)) ? 1 : 0,
  )
  return { ...stream, binary: true }
}

const streams = {
  meanUp: numericStream('mean-up', 'N(0,1) → N(3,1)', 1000, 3000, 101, (r, i) => r.normal(i < 1000 ? 0 : 3, 1)),
  meanDown: numericStream('mean-down', 'N(0,1) → N(-1,1)', 1000, 3000, 102, (r, i) => r.normal(i < 1000 ? 0 : -1, 1)),
  gradual: numericStream('gradual', 'mean 0 → 3, linear over 1000..2000', 1000, 3000, 103, (r, i) =>
    r.normal(Math.min(Math.max((i - 1000) / 1000, 0), 1) * 3, 1),
  ),
  variance: numericStream('variance', 'N(0,1) → N(0,3²)', 1000, 3000, 104, (r, i) => r.normal(0, i < 1000 ? 1 : 3)),
  stationary: numericStream('no-drift', 'N(0,1) × 10000', null, 10000, 105, (r) => r.normal(0, 1)),
  errorsUp: errorStream('errors-up', 'error rate 0.1 → 0.5', 1000, 3000, 106, (i) => (i < 1000 ? 0.1 : 0.5)),
  errorsSmall: errorStream('errors-small', 'error rate 0.1 → 0.2', 1000, 3000, 107, (i) => (i < 1000 ? 0.1 : 0.2)),
  errorsFlat: errorStream('errors-flat', 'error rate 0.1 × 10000', null, 10000, 108, () => 0.1),
} as const

const adwin: DetectorSpec = { type: 'adwin', options: {} }
const adwinClock1: DetectorSpec = { type: 'adwin', options: { clock: 1 } }
const pageHinkley: DetectorSpec = { type: 'page-hinkley', options: {} }
const ddm: DetectorSpec = { type: 'ddm', options: {} }

const cases: Case[] = []
for (const stream of [streams.meanUp, streams.meanDown, streams.gradual, streams.variance, streams.stationary]) {
  cases.push({ id: `${stream.id}/adwin`, stream, detector: adwin })
  cases.push({ id: `${stream.id}/adwin(clock=1)`, stream, detector: adwinClock1 })
  cases.push({ id: `${stream.id}/page-hinkley`, stream, detector: pageHinkley })
}
cases.push({
  id: 'mean-down/page-hinkley(up)',
  stream: streams.meanDown,
  detector: { type: 'page-hinkley', options: { mode: 'up' } },
})
cases.push({
  id: 'mean-down/page-hinkley(down)',
  stream: streams.meanDown,
  detector: { type: 'page-hinkley', options: { mode: 'down' } },
})
for (const stream of [streams.errorsUp, streams.errorsSmall, streams.errorsFlat]) {
  cases.push({ id: `${stream.id}/ddm`, stream, detector: ddm })
  cases.push({ id: `${stream.id}/adwin`, stream, detector: adwin })
}

function build(spec: DetectorSpec): DriftDetector<number> | DriftDetector<boolean> {
  switch (spec.type) {
    case 'ddm':
      return new DDM(spec.options)
    case 'adwin':
      return new ADWIN(spec.options)
    case 'page-hinkley':
      return new PageHinkley(spec.options)
  }
}

/** Feeds a stream to a detector; DDM takes errors as booleans. */
function feed(
  detector: DriftDetector<number> | DriftDetector<boolean>,
  values: Float64Array,
  binary: boolean,
  onEach?: (index: number) => void,
): void {
  if (binary) {
    const binaryDetector = detector as DriftDetector<boolean>
    for (let i = 0; i < values.length; i++) {
      binaryDetector.update(values[i] === 1)
      onEach?.(i)
    }
  } else {
    const numericDetector = detector as DriftDetector<number>
    for (let i = 0; i < values.length; i++) {
      numericDetector.update(values[i]!)
      onEach?.(i)
    }
  }
}

function detect(spec: DetectorSpec, stream: Stream): { drifts: number[]; warnings: number[] } {
  const detector = build(spec)
  const drifts: number[] = []
  const warnings: number[] = []
  feed(detector, stream.values, spec.type === 'ddm', (i) => {
    if (detector.drift) drifts.push(i)
    if (detector.warning) warnings.push(i)
  })
  return { drifts, warnings }
}

function throughput(spec: DetectorSpec, stream: Stream, seconds = 0.5): number {
  const values = stream.values
  // A fresh detector per pass so both implementations do the same work (ADWIN's cost
  // grows with its window), and one tight loop per input kind so the harness costs little.
  const pass =
    spec.type === 'ddm'
      ? () => {
          const detector = new DDM(spec.options)
          for (let i = 0; i < values.length; i++) detector.update(values[i] === 1)
        }
      : () => {
          const detector = spec.type === 'adwin' ? new ADWIN(spec.options) : new PageHinkley(spec.options)
          for (let i = 0; i < values.length; i++) detector.update(values[i]!)
        }
  pass() // warm up the JIT
  let count = 0
  const start = performance.now()
  for (;;) {
    pass()
    count += values.length
    const elapsed = (performance.now() - start) / 1000
    if (elapsed >= seconds) return count / elapsed
  }
}

const throughputCases: Case[] = [
  { id: 'ddm', stream: streams.errorsFlat, detector: ddm },
  { id: 'adwin', stream: streams.stationary, detector: adwin },
  { id: 'adwin(clock=1)', stream: streams.stationary, detector: adwinClock1 },
  { id: 'page-hinkley', stream: streams.stationary, detector: pageHinkley },
]

const directory = mkdtempSync(join(tmpdir(), 'lookout-drift-'))
try {
  const files = new Map<string, string>()
  for (const stream of Object.values(streams)) {
    const file = join(directory, `${stream.id}.txt`)
    // String(x) is the shortest text that parses back to the same double, in Python too
    writeFileSync(file, Array.from(stream.values, String).join('\n'))
    files.set(stream.id, file)
  }
  const toPlan = (c: Case) => ({
    id: c.id,
    file: files.get(c.stream.id),
    binary: c.detector.type === 'ddm',
    detector: c.detector,
  })
  const planFile = join(directory, 'plan.json')
  writeFileSync(planFile, JSON.stringify({ cases: cases.map(toPlan), throughput: throughputCases.map(toPlan) }))

  const python = join(import.meta.dirname, '.venv', 'bin', 'python')
  const script = join(import.meta.dirname, 'reference', 'drift.py')
  const run = spawnSync(python, [script, planFile], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  if (run.error || run.status !== 0) {
    process.stderr.write(run.stderr ?? '')
    throw new Error(`River reference failed (${run.error?.message ?? `exit ${run.status}`}); is bench/.venv set up?`)
  }
  const reference = JSON.parse(run.stdout) as {
    river: string
    results: { id: string; drifts: number[]; warnings: number[] }[]
    throughput: Record<string, number>
  }
  const riverById = new Map(reference.results.map((result) => [result.id, result]))

  const show = (indices: number[]) =>
    indices.length === 0
      ? '—'
      : indices.length > 6
        ? `${indices.slice(0, 6).join(' ')} …(${indices.length})`
        : indices.join(' ')
  const rows: string[][] = [['stream', 'change', 'detector', 'Lookout drifts', 'River drifts', 'warnings', 'agree']]
  let disagreements = 0
  for (const c of cases) {
    const ours = detect(c.detector, c.stream)
    const river = riverById.get(c.id)
    if (!river) throw new Error(`River returned nothing for ${c.id}`)
    const driftsAgree = ours.drifts.join() === river.drifts.join()
    const warningsAgree = ours.warnings.join() === river.warnings.join()
    if (!driftsAgree || !warningsAgree) disagreements += 1
    const detector = c.id.slice(c.stream.id.length + 1)
    const warnings = c.detector.type === 'ddm' ? `${ours.warnings.length} / ${river.warnings.length}` : 'n/a'
    rows.push([
      `${c.stream.id} (${c.stream.description})`,
      c.stream.change === null ? 'none' : String(c.stream.change),
      detector,
      show(ours.drifts),
      show(river.drifts),
      warnings,
      driftsAgree && warningsAgree ? 'yes' : 'NO',
    ])
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)))
  const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')
  console.log(
    `Drift detection indices, Lookout vs River ${reference.river} (warnings: DDM warning steps, ours / River's)\n`,
  )
  console.log(line(rows[0]!))
  console.log(widths.map((width) => '-'.repeat(width)).join('  '))
  for (const row of rows.slice(1)) console.log(line(row))
  console.log(`\n${cases.length - disagreements} of ${cases.length} cases agree exactly\n`)

  console.log('Update throughput (one core, 10000-value stationary stream, fresh detector per pass, updates/s)\n')
  console.log(`${'detector'.padEnd(16)}${'Lookout'.padStart(14)}${'River'.padStart(14)}${'ratio'.padStart(9)}`)
  for (const c of throughputCases) {
    const ours = throughput(c.detector, c.stream)
    const river = reference.throughput[c.id] ?? Number.NaN
    const format = (rate: number) => Math.round(rate).toLocaleString('en-US')
    console.log(
      `${c.id.padEnd(16)}${format(ours).padStart(14)}${format(river).padStart(14)}${`${(ours / river).toFixed(1)}×`.padStart(9)}`,
    )
  }
  if (disagreements > 0) process.exitCode = 1
} finally {
  rmSync(directory, { recursive: true, force: true })
}
