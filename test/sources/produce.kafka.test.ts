import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { cleanEnv, runCli } from '../helpers/cli.ts'
import { createTopic, deleteTopics, readTopic, testBrokers, uniqueName } from '../helpers/kafka.ts'

const dir = mkdtempSync(join(tmpdir(), 'lookout-produce-'))

function env(prefix: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return cleanEnv({
    LOOKOUT_BROKERS: testBrokers().join(','),
    LOOKOUT_TOPICS_PREFIX: prefix,
    LOOKOUT_SOURCE_PORT: '0',
    LOOKOUT_KAFKA_CONNECT_ATTEMPTS: '2',
    ...extra,
  })
}

function parsed(records: { key: string; value: string }[]) {
  return records.map((record) => ({ key: record.key, value: JSON.parse(record.value) as Record<string, unknown> }))
}

function summaryOf(stdout: string): { generated: number; sent: number; failed: number } {
  const field = (name: string) => Number(new RegExp(`^\\s+${name}\\s+(\\d+)`, 'm').exec(stdout)?.[1])
  return { generated: field('generated'), sent: field('sent'), failed: field('failed') }
}

const sources: { source: string; args: string[]; kind: string; keyOf: (value: Record<string, unknown>) => unknown }[] =
  [
    { source: 'phased', args: [], kind: 'transaction', keyOf: (v) => v.user_id },
    { source: 'payments', args: [], kind: 'payment', keyOf: (v) => v.customer_id },
    { source: 'points', args: [], kind: 'point', keyOf: () => 'points-42' },
    { source: 'metrics', args: [], kind: 'metric', keyOf: (v) => v.host },
  ]

for (const { source, args, kind, keyOf } of sources) {
  test(`${source} produces ${kind} events keyed by entity to raw-transactions`, async (t) => {
    const prefix = `${uniqueName('src')}.`
    t.after(() => deleteTopics([`${prefix}raw-transactions`, `${prefix}phase-transitions`]))
    const result = await runCli(['produce', source, '--count', '200', '--rate', 'max', ...args], { env: env(prefix) })
    assert.equal(result.code, 0, result.stderr)
    assert.deepEqual(summaryOf(result.stdout), { generated: 200, sent: 200, failed: 0 })
    const records = parsed(await readTopic(`${prefix}raw-transactions`, { count: 200 }))
    assert.equal(records.length, 200)
    for (const record of records) {
      assert.equal(record.value.kind, kind)
      assert.equal(record.key, keyOf(record.value))
    }
    if (source === 'phased') {
      const transitions = parsed(await readTopic(`${prefix}phase-transitions`, { count: 1 }))
      assert.equal(transitions[0]?.value.phase, 'normal')
      assert.equal(transitions[0]?.value.event_number, 0)
    }
  })
}

test('replay sends valid records keyed by merchant in logged batches and reports invalid rows by number', async (t) => {
  const prefix = `${uniqueName('src')}.`
  t.after(() => deleteTopics([`${prefix}raw-transactions`]))
  const file = join(dir, 'transactions.csv')
  writeFileSync(
    file,
    [
      'id,description,amount,timestamp,merchant,operation_type,side',
      '1,coffee,3.5,2024-01-01T08:00:00Z,cafe,debit,outgoing',
      '2,salary,2500,2024-01-01T09:00:00Z,acme,credit,incoming',
      '3,broken,notanumber,2024-01-01T09:00:00Z,acme,debit,outgoing',
      '4,short row',
    ].join('\n'),
  )
  const result = await runCli(
    ['produce', 'replay', '--input', file, '--count', '30', '--interval', '0.05', '--min', '2', '--max', '4'],
    {
      env: env(prefix),
    },
  )
  assert.equal(result.code, 0, result.stderr)
  assert.match(result.stderr, /row 4: amount/)
  assert.match(result.stderr, /row 5: expected 7 fields/)
  assert.match(result.stderr, /sent [2-4]\/[2-4]/)
  assert.match(result.stdout, /invalid 2 \(never sent\)/)
  assert.deepEqual(summaryOf(result.stdout), { generated: 30, sent: 30, failed: 0 })
  const records = parsed(await readTopic(`${prefix}raw-transactions`, { count: 30 }))
  assert.equal(records.length, 30)
  for (const record of records) {
    assert.equal(record.value.kind, 'record')
    assert.ok(record.value.id === '1' || record.value.id === '2', `only valid records are sent, got ${record.value.id}`)
    assert.equal(record.key, record.value.merchant)
  }
})

test('several replay producers with different settings run at once against one topic', async (t) => {
  const prefix = `${uniqueName('src')}.`
  t.after(() => deleteTopics([`${prefix}raw-transactions`]))
  const file = join(dir, 'concurrent.jsonl')
  writeFileSync(
    file,
    `${[
      {
        id: 'a',
        description: 'tea',
        amount: 2,
        timestamp: '2024-01-01T08:00:00Z',
        merchant: 'cafe',
        operation_type: 'debit',
        side: 'outgoing',
      },
      {
        id: 'b',
        description: 'rent',
        amount: 900,
        timestamp: '2024-01-01T09:00:00Z',
        merchant: 'landlord',
        operation_type: 'debit',
        side: 'outgoing',
      },
    ]
      .map((record) => JSON.stringify(record))
      .join('\n')}\n`,
  )
  const runs = await Promise.all([
    runCli(['produce', 'replay', '--input', file, '--count', '40', '--preset', 'high', '--seed', '1'], {
      env: env(prefix),
    }),
    runCli(
      [
        'produce',
        'replay',
        '--input',
        file,
        '--count',
        '25',
        '--interval',
        '0.1',
        '--min',
        '1',
        '--max',
        '3',
        '--seed',
        '2',
      ],
      {
        env: env(prefix),
      },
    ),
  ])
  for (const run of runs) assert.equal(run.code, 0, run.stderr)
  assert.deepEqual(summaryOf(runs[0]!.stdout), { generated: 40, sent: 40, failed: 0 })
  assert.deepEqual(summaryOf(runs[1]!.stdout), { generated: 25, sent: 25, failed: 0 })
  const records = await readTopic(`${prefix}raw-transactions`, { count: 65 })
  assert.equal(records.length, 65, "both producers' records are in the topic")
})

test('metrics --input replays a timestamp,value series in time order, keyed by host', async (t) => {
  const prefix = `${uniqueName('src')}.`
  t.after(() => deleteTopics([`${prefix}raw-transactions`]))
  const file = join(dir, 'cpu.csv')
  writeFileSync(
    file,
    'timestamp,value\n2024-01-01 00:10:00,30\n2024-01-01 00:00:00,10\n2024-01-01 00:05:00,20\nbad,1\n',
  )
  const result = await runCli(['produce', 'metrics', '--input', file, '--speed', '10000', '--host', 'web-7'], {
    env: env(prefix),
  })
  assert.equal(result.code, 0, result.stderr)
  assert.match(result.stderr, /row 5: timestamp "bad"/)
  assert.match(result.stdout, /stopped by exhausted/)
  const records = parsed(await readTopic(`${prefix}raw-transactions`, { count: 3 }))
  assert.deepEqual(
    records.map((r) => r.value.value),
    [10, 20, 30],
  )
  assert.ok(records.every((r) => r.key === 'web-7'))
})

test('payments --init-mode flush empties the topic, then backfills the past 7 days', async (t) => {
  const prefix = `${uniqueName('src')}.`
  const topic = `${prefix}raw-transactions`
  t.after(() => deleteTopics([topic]))
  const first = await runCli(['produce', 'points', '--count', '50', '--rate', 'max'], { env: env(prefix) })
  assert.equal(first.code, 0, first.stderr)
  const result = await runCli(
    ['produce', 'payments', '--init-mode', 'flush', '--backfill', '500', '--count', '5', '--rate', 'max'],
    {
      env: env(prefix),
    },
  )
  assert.equal(result.code, 0, result.stderr)
  assert.match(result.stderr, /flushed .*deletedRecords=50/)
  assert.deepEqual(summaryOf(result.stdout), { generated: 505, sent: 505, failed: 0 })
  const records = parsed(await readTopic(topic, { timeoutMs: 8_000 }))
  assert.equal(records.length, 505, 'only the backfill and the stream remain')
  assert.ok(records.every((r) => r.value.kind === 'payment' && r.key === r.value.customer_id))
  const times = records.map((r) => Date.parse(String(r.value.timestamp)))
  const span = Math.max(...times) - Math.min(...times)
  assert.ok(span > 5 * 86_400_000 && span < 7.01 * 86_400_000, `backfill spans ${span / 86_400_000} days`)
})

test('bad input: each gets one clear message naming the problem and the fix', async () => {
  const prefix = `${uniqueName('src')}.`
  const cases: { args: string[]; env?: NodeJS.ProcessEnv; code: RegExp; message: RegExp }[] = [
    {
      args: ['produce', 'nosuch'],
      code: /LOOKOUT_USAGE/,
      message: /unknown source "nosuch"[\s\S]*phased, payments, replay, points, metrics/,
    },
    {
      args: ['produce', 'phased', '--rate', '0'],
      code: /LOOKOUT_CONFIG_INVALID/,
      message: /source\.rate[\s\S]*max for unthrottled/,
    },
    { args: ['produce', 'phased', '--rate', '-5'], code: /LOOKOUT_CONFIG_INVALID/, message: /source\.rate/ },
    {
      args: ['produce', 'phased', '--no-such-setting', '1'],
      code: /error/,
      message: /unknown option '--no-such-setting'/,
    },
    {
      args: ['produce', 'replay', '--input', join(dir, 'missing.csv')],
      code: /LOOKOUT_FILE_UNREADABLE/,
      message: /missing\.csv does not exist[\s\S]*→/,
    },
    {
      args: ['produce', 'replay', '--input', dir + '/'],
      code: /LOOKOUT_INPUT_INVALID/,
      message: /cannot tell the format/,
    },
    { args: ['produce', 'replay'], code: /LOOKOUT_USAGE/, message: /--input is missing/ },
    {
      args: ['produce', 'phased', '--topic', 'no-such-topic-here'],
      code: /LOOKOUT_TOPIC_MISSING/,
      message: /topic "no-such-topic-here" does not exist[\s\S]*→ create it/,
    },
    {
      args: ['produce', 'phased', '--brokers', '127.0.0.1:1', '--kafka-connect-attempts', '1'],
      code: /LOOKOUT_KAFKA_UNREACHABLE/,
      message: /cannot reach Kafka at 127\.0\.0\.1:1[\s\S]*→/,
    },
  ]
  const invalidFile = join(dir, 'all-invalid.jsonl')
  writeFileSync(invalidFile, '{"id": 1}\nnot json\n')
  cases.push({
    args: ['produce', 'replay', '--input', invalidFile],
    code: /LOOKOUT_INPUT_INVALID/,
    message: /no valid records \(2 rows, 2 invalid\)/,
  })
  for (const item of cases) {
    const result = await runCli(item.args, { env: env(prefix, item.env), timeoutMs: 60_000 })
    assert.notEqual(result.code, 0, `${item.args.join(' ')} should fail`)
    assert.match(result.stderr, item.code, item.args.join(' '))
    assert.match(result.stderr, item.message, item.args.join(' '))
  }
  await deleteTopics([`${prefix}raw-transactions`, `${prefix}phase-transitions`])
})

test('a named topic that exists is used as is', async (t) => {
  const topic = uniqueName('custom')
  await createTopic(topic, 1)
  const prefix = `${uniqueName('src')}.`
  t.after(() => deleteTopics([topic, `${prefix}raw-transactions`]))
  const result = await runCli(['produce', 'points', '--topic', topic, '--count', '10', '--rate', '1000'], {
    env: env(prefix),
  })
  assert.equal(result.code, 0, result.stderr)
  assert.equal((await readTopic(topic, { count: 10 })).length, 10)
})
