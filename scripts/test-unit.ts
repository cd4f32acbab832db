// The tests that need no broker (`npm run test:unit`): every `test/**/*.test.ts` except the
// `*.kafka.test.ts` files, with Node's built-in coverage of src/, and without TEST_KAFKA_BROKERS
// (a unit test that reaches for the broker fails instead of finding one). Starts no broker.
// `node scripts/test-unit.ts [files]` runs only the files given.
import { spawn } from 'node:child_process'
import { globSync } from 'node:fs'
import { resolve } from 'node:path'
import { isKafkaTest } from './test-kinds.ts'

const root = resolve(import.meta.dirname, '..')
const given = process.argv.slice(2)
const files = given.length ? given : globSync('test/**/*.test.ts', { cwd: root }).filter((file) => !isKafkaTest(file))
const env = { ...process.env }
delete env.TEST_KAFKA_BROKERS
const started = performance.now()
const child = spawn(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-timeout=60000',
    '--experimental-test-coverage',
    '--test-coverage-include=src/**',
    `--test-reporter=${resolve(root, 'scripts/test-reporter.ts')}`,
    '--test-reporter-destination=stdout',
    ...files.sort(),
  ],
  { cwd: root, stdio: 'inherit', env },
)
const code = await new Promise<number>((done) => child.on('close', (status) => done(status ?? 1)))
process.stdout.write(
  `unit tests: ${files.length} files in ${((performance.now() - started) / 1000).toFixed(1)} s (no broker)\n`,
)
process.exit(code)
