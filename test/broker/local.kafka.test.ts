// The local broker as a user drives it: `lookout broker start|status|stop`, and every
// start-up failure with its message.
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, test } from 'node:test'
import { parseJavaMajor } from '../../src/broker/java.ts'
import { cleanEnv, root, runCli } from '../helpers/cli.ts'

const dataDir = resolve(root, '.lookout')
const scratch = mkdtempSync(join(tmpdir(), 'lookout-broker-test-'))
after(() => rmSync(scratch, { recursive: true, force: true }))

/** The command line of the running local broker on `port` (from its pid file). */
function brokerCommandLine(port: string): string {
  const pid = readFileSync(resolve(dataDir, `broker-${port}`, 'broker.pid'), 'utf8').trim()
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
}

test('parses Java versions old and new', () => {
  assert.equal(parseJavaMajor('openjdk version "17.0.15" 2025-04-15'), 17)
  assert.equal(parseJavaMajor('java version "1.8.0_392"'), 8)
  assert.equal(parseJavaMajor('openjdk version "21" 2023-09-19'), 21)
  assert.equal(parseJavaMajor('nonsense'), undefined)
})

test('lookout broker start, status and stop drive a real broker; a warm start installs nothing again', async (t) => {
  const port = '19292'
  const args = ['--data-dir', dataDir, '--broker-port', port]
  // a failed assertion must not leave the broker running after the test
  t.after(() => runCli(['broker', 'stop', ...args], { env: cleanEnv() }))
  const start = await runCli(['broker', 'start', ...args], { env: cleanEnv() })
  assert.equal(start.code, 0, start.stderr)
  assert.match(start.stdout, /broker (started|already running) at 127\.0\.0\.1:19292/)

  const status = await runCli(['broker', 'status', ...args], { env: cleanEnv() })
  assert.equal(status.code, 0, status.stderr)
  assert.match(status.stdout, /running, healthy/)
  // broker.compiler: C1 alone by default
  assert.match(brokerCommandLine(port), /-XX:TieredStopAtLevel=1/)

  const stop = await runCli(['broker', 'stop', ...args], { env: cleanEnv() })
  assert.equal(stop.code, 0, stop.stderr)
  assert.match(stop.stdout, /broker stopped \(graceful\)/)

  const stopped = await runCli(['broker', 'status', ...args], { env: cleanEnv() })
  assert.equal(stopped.code, 3)
  assert.match(stopped.stdout, /broker: stopped/)

  // jars installed and storage formatted: this is the warm start, with the JVM's own compilers
  const warm = await runCli(['broker', 'start', ...args, '--broker-compiler', 'tiered'], { env: cleanEnv() })
  assert.equal(warm.code, 0, warm.stderr)
  assert.doesNotMatch(brokerCommandLine(port), /TieredStopAtLevel/)
  const seconds = Number(/in ([\d.]+) s/.exec(warm.stdout)?.[1])
  process.stdout.write(`warm start of the local broker: ${seconds} s\n`)
  // a warm start neither downloads nor formats again (its time is printed, not asserted: this
  // machine may be loaded; bench/ measures speed)
  assert.doesNotMatch(`${warm.stdout}${warm.stderr}`, /installing Apache Kafka/)
  assert.ok(Number.isFinite(seconds), `warm start printed no time: ${warm.stdout}`)
  const again = await runCli(['broker', 'stop', ...args], { env: cleanEnv() })
  assert.equal(again.code, 0, again.stderr)
})

test('a port already in use is named, with what to do', async () => {
  const server = createServer()
  await new Promise<void>((r) => server.listen(19392, '127.0.0.1', () => r()))
  try {
    const result = await runCli(['broker', 'start', '--data-dir', dataDir, '--broker-port', '19392'], {
      env: cleanEnv(),
    })
    assert.equal(result.code, 1)
    assert.match(result.stderr, /LOOKOUT_BROKER_PORT_IN_USE/)
    assert.match(result.stderr, /port 19392 on 127\.0\.0\.1 is already in use/)
    assert.match(result.stderr, /--broker-port/)
  } finally {
    server.close()
  }
})

test('a broker that exits during start-up shows the last lines of its log', async () => {
  const port = 19492
  const data = resolve(dataDir, `broker-${port}`, 'data')
  rmSync(resolve(dataDir, `broker-${port}`), { recursive: true, force: true })
  mkdirSync(data, { recursive: true })
  // storage formatted for another node id: Kafka refuses to start
  writeFileSync(
    join(data, 'meta.properties'),
    'node.id=7\nversion=1\ncluster.id=4L6g3nShT-eMCtK--X86sw\ndirectory.id=Xn0bGj3PQ1iVDvS3iH6f1A\n',
  )
  const result = await runCli(['broker', 'start', '--data-dir', dataDir, '--broker-port', String(port)], {
    env: cleanEnv(),
  })
  assert.equal(result.code, 1)
  assert.match(result.stderr, /LOOKOUT_BROKER_EXITED/)
  assert.match(result.stderr, /exited during start-up/)
  assert.match(result.stderr, /Stored node id 7 doesn't match/)
  rmSync(resolve(dataDir, `broker-${port}`), { recursive: true, force: true })
})

test('missing Java is reported with what to install', async () => {
  const result = await runCli(['broker', 'start', '--data-dir', scratch, '--broker-port', '19592'], {
    env: cleanEnv({ JAVA_HOME: join(scratch, 'no-java-here') }),
  })
  assert.equal(result.code, 1)
  assert.match(result.stderr, /LOOKOUT_JAVA_MISSING/)
  assert.match(result.stderr, /Java was not found/)
  assert.match(result.stderr, /install a Java 17\+/)
})

test('a Java older than 17 is refused', async () => {
  const home = join(scratch, 'old-java')
  mkdirSync(join(home, 'bin'), { recursive: true })
  writeFileSync(join(home, 'bin', 'java'), '#!/bin/sh\necho \'openjdk version "11.0.20" 2023-07-18\' >&2\n')
  chmodSync(join(home, 'bin', 'java'), 0o755)
  const result = await runCli(['broker', 'start', '--data-dir', scratch, '--broker-port', '19592'], {
    env: cleanEnv({ JAVA_HOME: home }),
  })
  assert.equal(result.code, 1)
  assert.match(result.stderr, /LOOKOUT_JAVA_TOO_OLD/)
  assert.match(result.stderr, /Java 11 found/)
})

test('missing Maven is reported when the broker is not installed yet', async () => {
  const bin = join(scratch, 'bin-without-maven')
  mkdirSync(bin, { recursive: true })
  const java = (await import('node:child_process')).execSync('readlink -f "$(command -v java)"').toString().trim()
  symlinkSync(java, join(bin, 'java'))
  const result = await runCli(['broker', 'start', '--data-dir', join(scratch, 'empty'), '--broker-port', '19592'], {
    env: cleanEnv({ PATH: bin, JAVA_HOME: '' }),
  })
  assert.equal(result.code, 1)
  assert.match(result.stderr, /LOOKOUT_MAVEN_MISSING/)
  assert.match(result.stderr, /install Maven/)
})

test('a failed download names the version and what to check', async () => {
  const result = await runCli(
    ['broker', 'start', '--data-dir', dataDir, '--broker-port', '19592', '--broker-kafka-version', '4.0.99'],
    { env: cleanEnv() },
  )
  rmSync(resolve(dataDir, 'kafka', '4.0.99'), { recursive: true, force: true })
  assert.equal(result.code, 1)
  assert.match(result.stderr, /LOOKOUT_BROKER_DOWNLOAD_FAILED/)
  assert.match(result.stderr, /could not install Apache Kafka 4\.0\.99 from Maven Central/)
  assert.match(result.stderr, /broker\.kafkaVersion/)
})

test('unreachable brokers: one log line per attempt, then an error naming the brokers', async () => {
  const result = await runCli(['topics', '--brokers', '127.0.0.1:1', '--kafka-connect-attempts', '3'], {
    env: cleanEnv(),
  })
  assert.equal(result.code, 1)
  assert.equal(result.stderr.match(/cannot reach Kafka \(attempt \d\/3\)/g)?.length, 3)
  assert.match(result.stderr, /LOOKOUT_KAFKA_UNREACHABLE/)
  assert.match(result.stderr, /cannot reach Kafka at 127\.0\.0\.1:1 after 3 attempts/)
})
