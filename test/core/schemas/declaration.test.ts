import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  inferSchemaFromHeader,
  parseDuration,
  SchemaDeclarationError,
  validateSchemaDeclaration,
} from '../../../src/core/schemas/declaration.ts'

const base = {
  name: 'logins',
  entityKey: 'user',
  eventTime: 'at',
  label: 'fraud',
  fields: [
    { name: 'user', type: 'string' },
    { name: 'at', type: 'timestamp' },
    { name: 'latency', type: 'number' },
    { name: 'fraud', type: 'boolean' },
  ],
  features: [{ name: 'latency', type: 'number', field: 'latency' }],
}

function rejects(change: (schema: Record<string, unknown>) => void, path: string, message: RegExp, allowed?: RegExp) {
  const schema = structuredClone(base) as Record<string, unknown>
  change(schema)
  assert.throws(
    () => validateSchemaDeclaration(schema, 'schemas[0]'),
    (error: unknown) => {
      assert.ok(error instanceof SchemaDeclarationError, String(error))
      assert.equal(error.path, path)
      assert.match(error.message, message)
      if (allowed) assert.match(error.allowed, allowed)
      return true
    },
  )
}

test('a valid declaration comes back frozen', () => {
  const schema = validateSchemaDeclaration(base)
  assert.equal(schema.name, 'logins')
  assert.ok(Object.isFrozen(schema) && Object.isFrozen(schema.features[0]))
})

test('bad declarations stop with the setting path and what is allowed', () => {
  rejects(
    (s) => (s.fields as unknown[]).push({ name: 'user', type: 'string' }),
    'schemas[0].fields[4].name',
    /declared twice/,
  )
  rejects(
    (s) => (s.features as unknown[]).push({ name: 'x', type: 'zscore', field: 'missing' }),
    'schemas[0].features[1].field',
    /not declared/,
  )
  rejects(
    (s) => (s.features as unknown[]).push({ name: 'x', type: 'zscore', field: 'user' }),
    'schemas[0].features[1].field',
    /is a string, not a number/,
  )
  rejects(
    (s) => (s.features as unknown[]).push({ name: 'x', type: 'median' }),
    'schemas[0].features[1].type',
    /not a feature type/,
    /robust_zscore/,
  )
  rejects(
    (s) => (s.features as unknown[]).push({ name: 'x', type: 'count', window: 'an hour' }),
    'schemas[0].features[1].window',
    /not a duration/,
    /30s, 5m, 1h/,
  )
  rejects((s) => (s.label = 'user'), 'schemas[0].label', /is a string/, /number or boolean/)
  rejects((s) => (s.eventTime = 'nope'), 'schemas[0].eventTime', /not declared/)
  rejects((s) => (s.colour = 1), 'schemas[0].colour', /not a schema setting/)
  rejects(
    (s) => (s.features as unknown[]).push({ name: 'latency', type: 'log1p', field: 'latency' }),
    'schemas[0].features[1].name',
    /declared twice/,
  )
  rejects(
    (s) => (s.features as unknown[]).push({ name: 'dev', type: 'one_hot', field: 'user' }),
    'schemas[0].features[1].values',
    /not allowed/,
  )
})

test('declared parts: rule sets, truth, entity detectors, composite keys, optional fields, cycle and lookup', () => {
  const schema = validateSchemaDeclaration({
    ...base,
    entityKey: ['user', 'note2'],
    fields: [
      ...base.fields,
      { name: 'amount', type: 'number' },
      { name: 'note', type: 'string', optional: true },
      { name: 'note2', type: 'string' },
    ],
    rules: 'payment_patterns',
    truth: { amount: 'amount' },
    detectors: [{ type: 'series', field: 'latency' }],
    features: [
      { name: 'phase', type: 'cycle', field: 'latency', period: 24 },
      { name: 'risk', type: 'lookup', field: 'user', table: { a: 1 }, default: 0.5 },
      { name: 'events', type: 'count' },
    ],
  })
  assert.deepEqual(schema.entityKey, ['user', 'note2'])
  assert.equal(schema.rules, 'payment_patterns')
  assert.deepEqual(schema.detectors, [{ type: 'series', field: 'latency' }])
  rejects((s) => (s.rules = 'magic'), 'schemas[0].rules', /not a rule set/, /payment_patterns/)
  rejects((s) => (s.rules = 'transaction_labels'), 'schemas[0].rules', /reads field amount \(number\)/)
  rejects((s) => (s.truth = { phase: 'latency' }), 'schemas[0].truth.phase', /is a number/)
  rejects((s) => (s.detectors = [{ type: 'series', field: 'user' }]), 'schemas[0].detectors[0].field', /is a string/)
  rejects((s) => (s.detectors = [{ type: 'arima', field: 'latency' }]), 'schemas[0].detectors[0].type', /not an entity/)
  rejects((s) => (s.entityKey = []), 'schemas[0].entityKey', /empty list/)
  rejects((s) => (s.entityKey = ['user', 'nope']), 'schemas[0].entityKey[1]', /not declared/)
  rejects(
    (s) => (s.features as unknown[]).push({ name: 'c', type: 'cycle', field: 'latency' }),
    'schemas[0].features[1].period',
    /not allowed/,
  )
  rejects(
    (s) => (s.features as unknown[]).push({ name: 'r', type: 'lookup', field: 'user', table: { a: 'high' } }),
    'schemas[0].features[1].table',
    /not allowed/,
  )
  rejects(
    (s) => (s.features as unknown[]).push({ name: 'r', type: 'number', field: 'latency', period: 3 }),
    'schemas[0].features[1].period',
    /no period/,
  )
  rejects(
    (s) => {
      ;(s.fields as { name: string; optional?: boolean }[])[2]!.optional = true
    },
    'schemas[0].features[0].field',
    /optional/,
  )
})

test('durations', () => {
  assert.equal(parseDuration('500ms'), 500)
  assert.equal(parseDuration('30s'), 30_000)
  assert.equal(parseDuration('5m'), 300_000)
  assert.equal(parseDuration('1h'), 3_600_000)
  assert.equal(parseDuration('1d'), 86_400_000)
  assert.ok(Number.isNaN(parseDuration('1 hour')))
  assert.ok(Number.isNaN(parseDuration('0s')))
})

test('the x0..xN,label header infers a schema; other headers do not', () => {
  const schema = inferSchemaFromHeader(['x0', 'x1', 'label'])!
  assert.deepEqual(
    schema.features.map((f) => [f.name, f.type, f.field]),
    [
      ['x0', 'number', 'x0'],
      ['x1', 'number', 'x1'],
    ],
  )
  assert.equal(schema.label, 'label')
  assert.equal(schema.entityKey, undefined)
  assert.equal(inferSchemaFromHeader(['x1', 'x0', 'label']), undefined)
  assert.equal(inferSchemaFromHeader(['a', 'label']), undefined)
  assert.equal(inferSchemaFromHeader(['x0', 'x1']), undefined)
})
