// The broker tests (`npm run test:kafka`): installs the local Kafka broker (once), starts it on
// fresh storage, runs every `*.kafka.test.ts` file (or the files given) with Node's test runner
// and TEST_KAFKA_BROKERS set, and stops the broker. Tests that need no broker: scripts/test-unit.ts.
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
  ['--test', '--test-concurrency=2', '--test-timeout=240000', ...(files.length ? files : ['test/**/*.kafka.test.ts'])],
  { cwd: root, stdio: 'inherit', env: { ...process.env, TEST_KAFKA_BROKERS: started.bootstrap } },
)
const code = await new Promise<number>((done) => child.on('close', (status) => done(status ?? 1)))
await stopBroker(broker)
process.exit(code)
