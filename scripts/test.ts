// Runs the whole test suite against a real local Kafka broker: installs it (once), starts it
// on fresh storage, runs every test file with Node's test runner, and stops the broker.
import { spawn } from 'node:child_process'
import { rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { startBroker, stopBroker } from '../src/broker/local.ts'

const root = resolve(import.meta.dirname, '..')
const port = Number(process.env.TEST_KAFKA_PORT ?? 19092)
const broker = {
  dataDir: resolve(root, '.lookout'),
  port,
  controllerPort: 0,
  kafkaVersion: '4.1.1',
  heap: '1g',
  startTimeoutMs: 120_000,
  stopTimeoutMs: 20_000,
}

await stopBroker(broker)
rmSync(resolve(broker.dataDir, `broker-${port}`), { recursive: true, force: true })
const started = await startBroker(broker)
process.stdout.write(`test broker healthy at ${started.bootstrap} in ${(started.startupMs / 1000).toFixed(1)} s\n`)

const files = process.argv.slice(2)
const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=240000', ...(files.length ? files : ['test/**/*.test.ts'])],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TEST_KAFKA_BROKERS: started.bootstrap } },
)
const code = await new Promise<number>((done) => child.on('close', (status) => done(status ?? 1)))
await stopBroker(broker)
process.exit(code)
