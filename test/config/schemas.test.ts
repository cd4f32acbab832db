import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'

const dir = mkdtempSync(join(tmpdir(), 'lookout-schemas-'))

const logins = {
  name: 'logins',
  topic: 'logins',
  entityKey: 'user',
  eventTime: 'at',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'at', type: 'timestamp' },
    { name: 'geo.latency', type: 'number' },
  ],
  features: [{ name: 'latency_z', type: 'robust_zscore', field: 'geo.latency' }],
}

function load(schemas: unknown) {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`)
  writeFileSync(file, JSON.stringify({ schemas }))
  return loadConfig({ configFile: file, env: {} })
}

test('schemas declared in the config file are validated and typed', () => {
  const config = load([logins])
  assert.equal(config.schemas.length, 1)
  assert.equal(config.schemas[0]!.entityKey, 'user')
  assert.deepEqual(loadConfig({ env: {} }).schemas, [])
})

test('a bad schema stops start-up with the setting path and what is allowed', () => {
  const cases: [unknown, RegExp][] = [
    [
      [{ ...logins, fields: [...logins.fields, { name: 'user', type: 'string' }] }],
      /schemas\[0\]\.fields\[3\]\.name: field user is declared twice/,
    ],
    [
      [{ ...logins, features: [{ name: 'x', type: 'zscore', field: 'nope' }] }],
      /schemas\[0\]\.features\[0\]\.field: field nope is not declared/,
    ],
    [
      [{ ...logins, features: [{ name: 'x', type: 'zscore', field: 'user' }] }],
      /schemas\[0\]\.features\[0\]\.field: field user is a string, not a number/,
    ],
    [
      [{ ...logins, features: [{ name: 'x', type: 'velocity' }] }],
      /schemas\[0\]\.features\[0\]\.type: "velocity" is not a feature type; allowed: number, log1p/,
    ],
    [
      [{ ...logins, features: [{ name: 'x', type: 'count', window: '1 hour' }] }],
      /schemas\[0\]\.features\[0\]\.window: "1 hour" is not a duration; allowed: a duration such as 30s/,
    ],
    [
      [{ ...logins, label: 'user' }],
      /schemas\[0\]\.label: field user is a string; allowed: a field of type number or boolean/,
    ],
    [[logins, logins], /schemas\[1\]\.name: schema logins is declared twice/],
    [[{ ...logins, name: 'payment' }], /schemas\[0\]\.name: payment is a built-in event kind/],
  ]
  for (const [schemas, message] of cases)
    assert.throws(
      () => load(schemas),
      (error: Error) => {
        assert.match(error.message, /invalid setting schemas/)
        assert.match(error.message, message)
        return true
      },
    )
})
