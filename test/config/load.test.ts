import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { localBrokerOptions } from '../../src/cli/cluster.ts'
import { loadConfig } from '../../src/config/load.ts'
import type { LookoutError } from '../../src/errors.ts'

const dir = mkdtempSync(join(tmpdir(), 'lookout-config-'))
function file(content: unknown): string {
  const path = join(dir, `${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

test('defaults apply when nothing is given, and the result is frozen', () => {
  const config = loadConfig({ env: {} })
  assert.equal(config['broker.port'], 9092)
  assert.equal(config['topics.partitions'], 3)
  assert.deepEqual(config['kafka.brokers'], [])
  assert.ok(Object.isFrozen(config))
})

test('file < environment < flags', () => {
  const configFile = file({ broker: { port: 1111 }, topics: { partitions: 6, prefix: 'file.' } })
  const env = { LOOKOUT_BROKER_PORT: '2222', LOOKOUT_TOPICS_PARTITIONS: '5' }
  const config = loadConfig({ env, configFile, flags: { 'broker.port': '3333' } })
  assert.equal(config['broker.port'], 3333)
  assert.equal(config['topics.partitions'], 5)
  assert.equal(config['topics.prefix'], 'file.')
})

test('LOOKOUT_BROKERS gives a list of brokers', () => {
  const config = loadConfig({ env: { LOOKOUT_BROKERS: 'a:9092, b:9093' } })
  assert.deepEqual(config['kafka.brokers'], ['a:9092', 'b:9093'])
})

test('an invalid value names the setting, where it came from, the value and what is allowed', () => {
  assert.throws(
    () => loadConfig({ env: { LOOKOUT_TOPICS_PARTITIONS: '0' } }),
    (error: LookoutError) => {
      assert.equal(error.code, 'LOOKOUT_CONFIG_INVALID')
      assert.match(error.message, /topics\.partitions \(LOOKOUT_TOPICS_PARTITIONS\): "0" is not allowed/)
      assert.match(error.describe(), /an integer from 1 to 10000/)
      return true
    },
  )
  assert.throws(
    () => loadConfig({ env: {}, flags: { 'producer.compression': 'brotli' } }),
    /producer\.compression \(--producer-compression\): "brotli"/,
  )
})

test("broker.compiler: C1 alone by default, the JVM's tiered compilers when asked, nothing else", () => {
  assert.equal(localBrokerOptions(loadConfig({ env: {} })).compiler, 'c1')
  assert.equal(localBrokerOptions(loadConfig({ env: { LOOKOUT_BROKER_COMPILER: 'tiered' } })).compiler, 'tiered')
  assert.throws(
    () => loadConfig({ env: { LOOKOUT_BROKER_COMPILER: 'c2' } }),
    (error: LookoutError) => {
      assert.match(error.message, /broker\.compiler \(LOOKOUT_BROKER_COMPILER\): "c2" is not allowed/)
      assert.match(error.describe(), /c1 or tiered/)
      return true
    },
  )
})

test('processor.slowBatchMs: 500 by default, 0 logs every batch, a negative value is refused', () => {
  assert.equal(loadConfig({ env: {} })['processor.slowBatchMs'], 500)
  assert.equal(loadConfig({ env: { LOOKOUT_PROCESSOR_SLOW_BATCH_MS: '0' } })['processor.slowBatchMs'], 0)
  assert.throws(
    () => loadConfig({ env: {}, flags: { 'processor.slowBatchMs': '-1' } }),
    (error: LookoutError) => {
      assert.match(error.message, /processor\.slowBatchMs/)
      assert.match(error.describe(), /an integer from 0 to 3600000/)
      return true
    },
  )
})

test('console.databaseUrl: empty (the embedded store) or a PostgreSQL URL', () => {
  assert.equal(loadConfig({ env: {} })['console.databaseUrl'], '')
  const url = 'postgresql://lookout:secret@db.example:5432/lookout'
  assert.equal(loadConfig({ env: { LOOKOUT_CONSOLE_DATABASE_URL: url } })['console.databaseUrl'], url)
  for (const bad of ['mysql://db/lookout', 'db.example:5432', 'postgres:///lookout'])
    assert.throws(
      () => loadConfig({ env: {}, flags: { 'console.databaseUrl': bad } }),
      (error: LookoutError) => {
        assert.match(error.message, /console\.databaseUrl \(--console-database-url\): ".*" is not allowed/)
        assert.match(error.describe(), /a postgres:\/\/ or postgresql:\/\/ URL, or empty/)
        return true
      },
      bad,
    )
})

test('alert suppression settings: defaults, and an invalid value stops start-up naming the setting', () => {
  const config = loadConfig({ env: {} })
  assert.equal(config['alert.suppressAfterFalsePositives'], 3)
  assert.equal(config['alert.suppressForSeconds'], 3_600)
  assert.equal(
    loadConfig({ env: { LOOKOUT_ALERT_SUPPRESS_AFTER_FALSE_POSITIVES: '0' } })['alert.suppressAfterFalsePositives'],
    0,
  )
  assert.throws(
    () => loadConfig({ env: {}, flags: { 'alert.suppressForSeconds': '0' } }),
    (error: LookoutError) => {
      assert.match(error.message, /alert\.suppressForSeconds \(--alert-suppress-for-seconds\): "0" is not allowed/)
      assert.match(error.describe(), /an integer from 1 to 7776000 \(90 days\)/)
      return true
    },
  )
  assert.throws(
    () => loadConfig({ env: { LOOKOUT_ALERT_SUPPRESS_AFTER_FALSE_POSITIVES: 'three' } }),
    /alert\.suppressAfterFalsePositives \(LOOKOUT_ALERT_SUPPRESS_AFTER_FALSE_POSITIVES\): "three" is not allowed/,
  )
})

test('unknown settings are refused: file keys and LOOKOUT_ variables', () => {
  assert.throws(
    () => loadConfig({ env: {}, configFile: file({ broker: { prot: 1 } }) }),
    /unknown setting "broker\.prot"/,
  )
  assert.throws(
    () => loadConfig({ env: { LOOKOUT_BROKER_PROT: '1' } }),
    /unknown environment variable LOOKOUT_BROKER_PROT/,
  )
})

test('a config file that is missing or not JSON is named', () => {
  assert.throws(() => loadConfig({ env: {}, configFile: join(dir, 'missing.json') }), /cannot read config file/)
  assert.throws(() => loadConfig({ env: {}, configFile: file('{ nope') }), /is not valid JSON/)
})
