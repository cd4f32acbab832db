import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cleanEnv, runCli } from '../helpers/cli.ts'
import { deleteTopics, readTopic, testBrokers, uniqueName } from '../helpers/kafka.ts'
import { s3Credentials, startS3 } from '../helpers/s3.ts'

const dataset = [
  {
    id: 'a1',
    description: 'rent',
    amount: 900,
    timestamp: '2024-02-01T10:00:00Z',
    merchant: 'landlord',
    operation_type: 'debit',
    side: 'outgoing',
  },
  {
    id: 'a2',
    description: 'refund',
    amount: 25.5,
    timestamp: '2024-02-02T11:00:00Z',
    merchant: 'shop',
    operation_type: 'credit',
    side: 'incoming',
  },
  {
    id: 'a3',
    description: 'bad side',
    amount: 1,
    timestamp: '2024-02-02T11:00:00Z',
    merchant: 'shop',
    operation_type: 'credit',
    side: 'sideways',
  },
]
  .map((record) => JSON.stringify(record))
  .join('\n')

test('replay from S3 (a real S3-compatible server): records sent, access denied and missing bucket reported', async (t) => {
  const s3 = await startS3()
  t.after(() => s3.close())
  await s3.put('lookout-data', 'payments/records.jsonl', dataset)
  const prefix = `${uniqueName('s3')}.`
  const topic = `${prefix}raw-transactions`
  t.after(() => deleteTopics([topic]))
  const env = (extra: NodeJS.ProcessEnv = {}) =>
    cleanEnv({
      LOOKOUT_BROKERS: testBrokers().join(','),
      LOOKOUT_TOPICS_PREFIX: prefix,
      LOOKOUT_SOURCE_PORT: '0',
      LOOKOUT_S3_ENDPOINT: s3.endpoint,
      LOOKOUT_S3_ACCESS_KEY_ID: s3Credentials.accessKeyId,
      LOOKOUT_S3_SECRET_ACCESS_KEY: s3Credentials.secretAccessKey,
      ...extra,
    })

  const ok = await runCli(
    ['produce', 'replay', '--input', 's3://lookout-data/payments/records.jsonl', '--preset', 'high', '--count', '40'],
    {
      env: env(),
    },
  )
  assert.equal(ok.code, 0, ok.stderr)
  assert.match(ok.stderr, /row 3: side/)
  assert.match(ok.stderr, /loaded 2 valid records/)
  const records = (await readTopic(topic, { count: 40 })).map((r) => ({ key: r.key, value: JSON.parse(r.value) }))
  assert.equal(records.length, 40)
  assert.ok(records.every((r) => ['a1', 'a2'].includes(r.value.id) && r.key === r.value.merchant))

  const denied = await runCli(['produce', 'replay', '--input', 's3://lookout-data/payments/records.jsonl'], {
    env: env({ LOOKOUT_S3_ACCESS_KEY_ID: 'nobody' }),
  })
  assert.equal(denied.code, 1)
  assert.match(denied.stderr, /LOOKOUT_S3_ACCESS\]: access to s3:\/\/lookout-data\/payments\/records\.jsonl denied/)
  assert.match(denied.stderr, /→ check --s3-access-key-id/)

  const noBucket = await runCli(['produce', 'replay', '--input', 's3://no-such-bucket/records.jsonl'], { env: env() })
  assert.equal(noBucket.code, 1)
  assert.match(noBucket.stderr, /S3 bucket "no-such-bucket" does not exist/)

  const noKey = await runCli(['produce', 'replay', '--input', 's3://lookout-data/missing.jsonl'], { env: env() })
  assert.equal(noKey.code, 1)
  assert.match(noKey.stderr, /LOOKOUT_FILE_UNREADABLE\]: S3 object s3:\/\/lookout-data\/missing\.jsonl does not exist/)
})
