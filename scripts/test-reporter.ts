// The unit tests' reporter: Node's spec reporter for the tests, then a short coverage report
// (per source directory, and the all-files line) in place of the spec reporter's per-file table.
import { globSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { Readable } from 'node:stream'
import type { TestEvent } from 'node:test/reporters'
import { spec } from 'node:test/reporters'
import { unitDurationsFile } from './test-kinds.ts'

interface Counts {
  totalLineCount: number
  coveredLineCount: number
  totalBranchCount: number
  coveredBranchCount: number
  totalFunctionCount: number
  coveredFunctionCount: number
}

type Coverage = Extract<TestEvent, { type: 'test:coverage' }>['data']

const percent = (covered: number, total: number) => (total === 0 ? 100 : (100 * covered) / total).toFixed(2).padStart(6)

function row(name: string, counts: Counts): string {
  return `${name.padEnd(28)} | ${percent(counts.coveredLineCount, counts.totalLineCount)} | ${percent(
    counts.coveredBranchCount,
    counts.totalBranchCount,
  )} | ${percent(counts.coveredFunctionCount, counts.totalFunctionCount)}\n`
}

export function formatCoverage(coverage: Coverage): string {
  const { summary } = coverage
  const directories = new Map<string, Counts>()
  for (const file of summary.files) {
    const relative = file.path.slice(summary.workingDirectory.length + 1)
    const directory = relative.split('/').slice(0, -1).slice(0, 3).join('/') || '.'
    const counts = directories.get(directory) ?? {
      totalLineCount: 0,
      coveredLineCount: 0,
      totalBranchCount: 0,
      coveredBranchCount: 0,
      totalFunctionCount: 0,
      coveredFunctionCount: 0,
    }
    for (const key of Object.keys(counts) as (keyof Counts)[]) counts[key] += file[key]
    directories.set(directory, counts)
  }
  let text = `\ncoverage (node --experimental-test-coverage, ${summary.files.length} files under src/)\n`
  text += `${'directory'.padEnd(28)} | line % | branch % | funcs %\n`
  for (const [directory, counts] of [...directories].sort(([a], [b]) => a.localeCompare(b)))
    text += row(directory, counts)
  text += row('all files', summary.totals)
  // Node reports only the files the tests loaded
  const reported = new Set(summary.files.map((file) => file.path.slice(summary.workingDirectory.length + 1)))
  const unloaded = globSync('src/**/*.ts', { cwd: summary.workingDirectory }).filter((file) => !reported.has(file))
  if (unloaded.length) text += `not loaded by any unit test (not in the figures): ${unloaded.sort().join(', ')}\n`
  return text
}

/** Adds this run's seconds per test file to the recorded ones (see scripts/test-unit.ts). */
function recordDurations(seconds: Map<string, number>): void {
  const file = resolve(unitDurationsFile)
  let recorded: Record<string, number> = {}
  try {
    recorded = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number>
  } catch {}
  for (const [test, value] of seconds) recorded[relative(process.cwd(), test)] = Math.round(value * 10) / 10
  mkdirSync(dirname(file), { recursive: true })
  writeFileSync(file, `${JSON.stringify(recorded, null, 1)}\n`)
}

export default async function* reporter(source: AsyncIterable<TestEvent>): AsyncGenerator<string> {
  let coverage: Coverage | undefined
  const seconds = new Map<string, number>()
  async function* tests() {
    for await (const event of source) {
      if (event.type === 'test:coverage') coverage = event.data
      else {
        if ((event.type === 'test:pass' || event.type === 'test:fail') && event.data.nesting === 0 && event.data.file)
          seconds.set(event.data.file, (seconds.get(event.data.file) ?? 0) + event.data.details.duration_ms / 1000)
        yield event
      }
    }
  }
  for await (const chunk of Readable.from(tests()).pipe(new spec())) yield String(chunk)
  recordDurations(seconds)
  if (coverage) yield formatCoverage(coverage)
}
