// The tests that need no broker (`npm run test:unit`): every `test/**/*.test.ts` except the
// `*.kafka.test.ts` files, with Node's built-in coverage of src/, and without TEST_KAFKA_BROKERS
// (a unit test that reaches for the broker fails instead of finding one). Starts no broker.
// `node scripts/test-unit.ts [files]` runs only the files given. The slowest files (by their
// last run, else the end-to-end ones under test/services and test/cli) start first.
import { spawn } from 'node:child_process'
import { globSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { isKafkaTest, unitDurationsFile } from './test-kinds.ts'

const root = resolve(import.meta.dirname, '..')
const given = process.argv.slice(2)
const files = given.length ? given : globSync('test/**/*.test.ts', { cwd: root }).filter((file) => !isKafkaTest(file))

function lastDurations(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(resolve(root, unitDurationsFile), 'utf8')) as Record<string, number>
  } catch {
    return {}
  }
}

/** Longest first; files without a recorded time count as slow when end-to-end, else as quick. */
function slowestFirst(list: string[]): string[] {
  const durations = lastDurations()
  const guess = (file: string) =>
    durations[file] ?? (/^test\/(services|cli)\//.test(file) ? Number.POSITIVE_INFINITY : 0)
  return [...list].sort((a, b) => guess(b) - guess(a) || a.localeCompare(b))
}

const env = { ...process.env }
delete env.TEST_KAFKA_BROKERS
const started = performance.now()
const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-timeout=180000',
    '--experimental-test-coverage',
    '--test-coverage-include=src/**',
    `--test-reporter=${resolve(root, 'scripts/test-reporter.ts')}`,
    '--test-reporter-destination=stdout',
    ...slowestFirst(files),
  ],
  { cwd: root, stdio: 'inherit', env },
)
const code = await new Promise<number>((done) => child.on('close', (status) => done(status ?? 1)))
process.stdout.write(
  `unit tests: ${files.length} files in ${((performance.now() - started) / 1000).toFixed(1)} s (no broker)\n`,
)
process.exit(code)
