// Aggregations declared in the config file: valid ones load; each mistake is an error that
// names the setting path inside aggregate.aggregations.
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import logins from '../../schemas/logins.json' with { type: 'json' }
import { loadConfig } from '../../src/config/load.ts'
import { LookoutError } from '../../src/errors.ts'
import { configuredAggregations } from '../../src/services/aggregate.ts'

function withFile(aggregations: unknown, schemas?: unknown[]) {
  const dir = mkdtempSync(join(tmpdir(), 'lookout-aggregations-'))
  const file = join(dir, 'lookout.config.json')
  writeFileSync(file, JSON.stringify({ aggregate: { aggregations }, ...(schemas ? { schemas } : {}) }))
  return () => loadConfig({ env: {}, configFile: file })
}

test('an aggregation declared in the config file, with shorthand aggregates and a filter', () => {
  const config = withFile([
    {
      name: 'approved-by-method',
      key: 'payment_method',
      sizeMs: 60_000,
      aggregates: [
        'count',
        'sum:amount',
        { op: 'distinct', field: 'customer_id', as: 'customers' },
        'max:total_amount',
      ],
      filter: 'status = approved',
    },
  ])()
  const declared = config['aggregate.aggregations']
  assert.deepEqual(declared, [
    {
      name: 'approved-by-method',
      kind: 'payment',
      key: 'payment_method',
      window: { sizeMs: 60_000, slideMs: 60_000 },
      aggregates: [
        { op: 'count', as: 'count' },
        { op: 'sum', field: 'amount', as: 'sum' },
        { op: 'distinct', field: 'customer_id', as: 'customers' },
        { op: 'max', field: 'total_amount', as: 'max' },
      ],
      emit: 'final',
      filter: { field: 'status', op: '=', value: 'approved' },
    },
  ])
  const all = configuredAggregations(config)
  assert.deepEqual(
    all.map((d) => d.name),
    ['merchant-payments', 'category-revenue', 'customer-velocity', 'approved-by-method'],
  )
  assert.equal(all[3]!.graceMs, config['aggregate.graceMs'])
})

test('aggregations over another built-in kind and over a declared schema, checked against their fields', () => {
  const config = withFile(
    [
      { name: 'user-spend', kind: 'transaction', key: 'user_id', sizeMs: 60_000, aggregates: ['count', 'sum:amount'] },
      {
        name: 'slow-logins',
        kind: 'logins',
        key: 'country',
        sizeMs: 60_000,
        aggregates: ['count', 'max:network.latency_ms'],
        filter: 'fraud = false',
      },
    ],
    [logins],
  )()
  const [spend, slow] = config['aggregate.aggregations']
  assert.equal(spend!.kind, 'transaction')
  assert.deepEqual(spend!.aggregates[1], { op: 'sum', field: 'amount', as: 'sum' })
  assert.equal(slow!.kind, 'logins')
  assert.deepEqual(slow!.filter, { field: 'fraud', op: '=', value: 'false' })
})

const kindMistakes: [string, unknown, unknown[], RegExp][] = [
  [
    'a payment field in a transaction aggregation',
    [{ name: 'a', kind: 'transaction', key: 'customer_id', sizeMs: 1000, aggregates: ['count'] }],
    [],
    /aggregate\.aggregations\[0\]\.key: must be a transaction field: one of transaction_id, user_id, timestamp, amount,/,
  ],
  [
    'sum of a text field of a declared schema',
    [{ name: 'a', kind: 'logins', key: 'user', sizeMs: 1000, aggregates: ['sum:user'] }],
    [logins],
    /aggregate\.aggregations\[0\]\.aggregates\[0\]\.field: sum needs a number field of logins: one of network\.latency_ms/,
  ],
  [
    'a filter on a field the schema does not declare',
    [{ name: 'a', kind: 'logins', key: 'user', sizeMs: 1000, aggregates: ['count'], filter: 'status = ok' }],
    [logins],
    /aggregate\.aggregations\[0\]\.filter: status is not a logins field: one of login_id, user, at, country, device, network\.latency_ms, fraud/,
  ],
  [
    'an unknown kind',
    [{ name: 'a', kind: 'signups', key: 'user', sizeMs: 1000, aggregates: ['count'] }],
    [logins],
    /aggregate\.aggregations\[0\]\.kind: "signups" is neither an event kind nor a schema declared under schemas: one of transaction, payment, point, metric, record, logins/,
  ],
  [
    'a declared schema without a topic',
    [{ name: 'a', kind: 'logins', key: 'user', sizeMs: 1000, aggregates: ['count'] }],
    [{ ...logins, topic: undefined }],
    /aggregate\.aggregations\[0\]\.kind: schema logins declares no topic/,
  ],
]
for (const [what, aggregations, schemas, message] of kindMistakes)
  test(`config error names the path and the kind's fields: ${what}`, () => {
    assert.throws(withFile(aggregations, schemas), (error: unknown) => {
      assert.ok(error instanceof LookoutError)
      assert.match(error.message, /^invalid setting aggregate\.aggregations \(config file key\)/)
      assert.match(error.message, message)
      return true
    })
  })

const mistakes: [string, unknown, RegExp][] = [
  [
    'an unknown key field',
    [{ name: 'a', key: 'shop', sizeMs: 1000, aggregates: ['count'] }],
    /aggregate\.aggregations\[0\]\.key: must be a payment field/,
  ],
  [
    'sum of a text field',
    [{ name: 'a', key: 'merchant_id', sizeMs: 1000, aggregates: ['count', 'sum:status'] }],
    /aggregate\.aggregations\[0\]\.aggregates\[1\]\.field: sum needs a number field/,
  ],
  [
    'an unknown op',
    [{ name: 'a', key: 'merchant_id', sizeMs: 1000, aggregates: ['median:amount'] }],
    /aggregates\[0\]\.op: must be one of count, sum, min, max, mean, distinct/,
  ],
  [
    'a slide longer than the window',
    [{ name: 'a', key: 'merchant_id', sizeMs: 1000, slideMs: 2000, aggregates: ['count'] }],
    /\[0\]\.slideMs: slideMs \(2000\) must not exceed sizeMs/,
  ],
  [
    'a filter that is not field = value',
    [{ name: 'a', key: 'merchant_id', sizeMs: 1000, aggregates: ['count'], filter: 'status approved' }],
    /\[0\]\.filter: "status approved" is not "field = value"/,
  ],
  [
    'two aggregates with one name',
    [{ name: 'a', key: 'merchant_id', sizeMs: 1000, aggregates: ['sum:amount', 'sum:vat_amount'] }],
    /\[0\]\.aggregates\[1\]: a second "sum": name one of them with "as"/,
  ],
  [
    'a name twice',
    [
      { name: 'a', key: 'merchant_id', sizeMs: 1000, aggregates: ['count'] },
      { name: 'a', key: 'customer_id', sizeMs: 1000, aggregates: ['count'] },
    ],
    /\[1\]\.name: "a" is declared twice/,
  ],
  [
    'an unknown property',
    [{ name: 'a', key: 'merchant_id', size: 1000, sizeMs: 1000, aggregates: ['count'] }],
    /aggregate\.aggregations\[0\]: Unrecognized key/,
  ],
  [
    'a missing window size',
    [{ name: 'a', key: 'merchant_id', aggregates: ['count'] }],
    /aggregate\.aggregations\[0\]\.sizeMs:/,
  ],
]
for (const [what, aggregations, message] of mistakes)
  test(`config error names the path: ${what}`, () => {
    assert.throws(withFile(aggregations), (error: unknown) => {
      assert.ok(error instanceof LookoutError)
      assert.match(error.message, /^invalid setting aggregate\.aggregations \(config file key\)/)
      assert.match(error.message, message)
      return true
    })
  })

test('a declared aggregation may not take a built-in name', () => {
  const config = withFile([{ name: 'customer-velocity', key: 'customer_id', sizeMs: 1000, aggregates: ['count'] }])()
  assert.throws(
    () => configuredAggregations(config),
    /aggregate\.aggregations\[0\]\.name: "customer-velocity" is a built-in aggregation/,
  )
})

test('aggregations given as JSON in the environment', () => {
  const config = loadConfig({
    env: { LOOKOUT_AGGREGATE_AGGREGATIONS: '[{"name":"x","key":"risk_level","sizeMs":60000,"aggregates":["count"]}]' },
  })
  assert.equal(config['aggregate.aggregations'][0]!.key, 'risk_level')
  assert.throws(
    () => loadConfig({ env: { LOOKOUT_AGGREGATE_AGGREGATIONS: '[{' } }),
    /LOOKOUT_AGGREGATE_AGGREGATIONS.*not JSON/,
  )
})
