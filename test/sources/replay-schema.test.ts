// lookout produce replay --schema: a dataset of a declared schema's records is validated
// against the declaration before anything is sent (no broker needed for that part).
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'
import { logger } from '../../src/log.ts'
import { replaySource } from '../../src/sources/replay.ts'

const dir = mkdtempSync(join(tmpdir(), 'lookout-replay-schema-'))

function login(i: number, latency: unknown = 50 + i) {
  return {
    login_id: `l${i}`,
    user: `u${i % 3}`,
    at: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString(),
    country: 'fr',
    device: 'phone',
    network: { latency_ms: latency },
    fraud: false,
  }
}

test('replay --schema validates JSON Lines records against the template and sends them to its topic', async () => {
  const input = join(dir, 'logins.jsonl')
  const rows = [login(0), login(1), login(2, 'slow'), login(3)].map((row) => JSON.stringify(row))
  writeFileSync(input, `${rows.join('\n')}\n`)
  const config = loadConfig({ env: {}, flags: { 'source.input': input, 'replay.schema': 'logins' } })
  const loaded = await replaySource.load(config, logger('test'))
  assert.equal(loaded.records.length, 3)
  assert.equal(loaded.invalid, 1)
  assert.equal(replaySource.topicOf?.(loaded), 'logins')
  assert.deepEqual(loaded.records[0], login(0))
})

test('replay --schema reads CSV columns as the declared fields, nested paths included', async () => {
  const schema = join(dir, 'sensor.json')
  writeFileSync(
    schema,
    JSON.stringify({
      name: 'sensor',
      topic: 'sensor-readings',
      entityKey: 'sensor',
      fields: [
        { name: 'sensor', type: 'string' },
        { name: 'reading.value', type: 'number' },
        { name: 'ok', type: 'boolean' },
      ],
      features: [{ name: 'value', type: 'number', field: 'reading.value' }],
    }),
  )
  const input = join(dir, 'sensor.csv')
  writeFileSync(input, 'sensor,reading.value,ok\na,1.5,true\nb,warm,false\n')
  const config = loadConfig({ env: {}, flags: { 'source.input': input, 'replay.schema': schema } })
  const loaded = await replaySource.load(config, logger('test'))
  assert.deepEqual(loaded.records, [{ sensor: 'a', reading: { value: 1.5 }, ok: true }])
  assert.equal(loaded.invalid, 1)
  assert.equal(replaySource.topicOf?.(loaded), 'sensor-readings')
})
