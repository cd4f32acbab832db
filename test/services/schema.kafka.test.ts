// A user-defined event schema (login events: user, country, device, latency; not one of the
// built-in kinds), declared in the config, end to end through the real broker: produced on its
// own topic, enriched with its declared features, scored, alerted; a malformed record lands in
// dead-letters with the field and the reason, and the stream goes on.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { Consumer, FetchIsolationLevels, stringDeserializers } from '@platformatic/kafka'
import { Random } from '../../src/core/random.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { startService } from '../../src/services/run.ts'
import { deleteTopicsWithPrefix, readTopic, testBrokers, testContext, uniqueName } from '../helpers/kafka.ts'
import { ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'

const context = testContext()
after(() => deleteTopicsWithPrefix(context.topicPrefix))

const loginsTopic = `${context.topicPrefix}logins`
const logins = {
  name: 'logins',
  topic: loginsTopic,
  entityKey: 'user',
  eventTime: 'at',
  id: 'login_id',
  label: 'fraud',
  fields: [
    { name: 'login_id', type: 'string' },
    { name: 'user', type: 'string' },
    { name: 'at', type: 'timestamp' },
    { name: 'country', type: 'string' },
    { name: 'device', type: 'string' },
    { name: 'network.latency_ms', type: 'number' },
    { name: 'fraud', type: 'boolean' },
  ],
  features: [
    { name: 'latency', type: 'log1p', field: 'network.latency_ms' },
    { name: 'latency_robust_z', type: 'robust_zscore', field: 'network.latency_ms' },
    { name: 'new_device', type: 'first_seen', field: 'device' },
    { name: 'country_share', type: 'frequency', field: 'country' },
    { name: 'logins_last_hour', type: 'count', window: '1h' },
  ],
}

async function readDeadLetters(): Promise<{ value: string; headers: Map<string, string> }[]> {
  const consumer = new Consumer({
    clientId: 'lookout-test-dead-letters',
    groupId: uniqueName('dead-letters'),
    bootstrapBrokers: testBrokers(),
    deserializers: stringDeserializers,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    maxWaitTime: 200,
  })
  const records: { value: string; headers: Map<string, string> }[] = []
  const stream = await consumer.consume({
    topics: [topicName(context.topicPrefix, 'deadLetters')],
    mode: 'earliest',
    autocommit: false,
  })
  const timeout = setTimeout(() => void stream.close(), 5_000)
  try {
    for await (const message of stream) {
      records.push({ value: message.value, headers: new Map(message.headers) })
      if (records.length >= 1) break
    }
  } finally {
    clearTimeout(timeout)
    await stream.close().catch(() => {})
    await consumer.close(true).catch(() => {})
  }
  return records
}

test('a login-events schema declared in the config is produced, enriched, scored and alerted end to end', async () => {
  await ensurePipelineTopics(context)
  // a short stream (1,500 logins over three partitions' calibrations): flag its top 1 %
  const config = serviceConfig({ 'topics.prefix': context.topicPrefix, schemas: [logins], 'score.threshold': 0.99 })
  const services = []
  try {
    for (const name of ['enrich', 'score', 'alert'] as const) services.push(await startService(name, config, context))

    const random = new Random(7)
    const start = Date.UTC(2025, 2, 1)
    const records: { key: string; value: string }[] = []
    for (let i = 0; i < 1500; i++) {
      const user = `user-${i % 20}`
      records.push({
        key: user,
        value: JSON.stringify({
          login_id: `login-${i}`,
          user,
          at: new Date(start + i * 30_000).toISOString(),
          country: 'fr',
          device: `${user}-phone`,
          network: { latency_ms: 80 + random.normal() * 10 },
          fraud: false,
        }),
      })
    }
    records.push({
      key: 'user-3',
      value:
        '{"login_id": "bad", "user": "user-3", "at": "2025-03-02T00:00:00Z", "country": "fr", "device": "x", "network": {"latency_ms": "slow"}, "fraud": false}',
    })
    records.push({
      key: 'user-3',
      value: JSON.stringify({
        login_id: 'takeover',
        user: 'user-3',
        at: new Date(start + 1500 * 30_000).toISOString(),
        country: 'kp',
        device: 'unknown-laptop',
        network: { latency_ms: 4_000 },
        fraud: true,
      }),
    })
    const producer = createProducer(context, { name: 'test-logins' })
    try {
      for (let from = 0; from < records.length; from += 500)
        await producer.send({
          messages: records.slice(from, from + 500).map((record) => ({
            topic: loginsTopic,
            key: Buffer.from(record.key),
            value: Buffer.from(record.value),
          })),
        })
    } finally {
      await producer.close()
    }

    const scored = await readTopic(topicName(context.topicPrefix, 'anomalyScores'), { count: 1501, timeoutMs: 120_000 })
    assert.equal(scored.length, 1501, 'every valid login scored once')
    const events = scored.map((record) => JSON.parse(record.value))
    assert.ok(events.every((event) => event.kind === 'logins'))
    const takeover = events.find((event) => event.id === 'takeover')
    assert.ok(takeover, 'the takeover login is scored')
    assert.equal(takeover.label, 1)
    assert.ok(takeover.score >= config['score.threshold'], `takeover score ${takeover.score}`)
    const normal = events.filter((event) => event.id !== 'takeover')
    assert.ok(
      normal.filter((event) => event.score >= config['score.threshold']).length < 15,
      'few normal logins flagged',
    )
    assert.ok(
      takeover.contributions.length > 0 &&
        takeover.contributions.every((c: { feature: string }) => logins.features.some((f) => f.name === c.feature)),
      'explained by the declared features',
    )

    const alerts = await readTopic(topicName(context.topicPrefix, 'alerts'), { timeoutMs: 20_000 })
    assert.ok(
      alerts.some((record) => record.value.includes('takeover')),
      `an alert for the takeover among ${alerts.length}`,
    )

    const [deadLetter] = await readDeadLetters()
    assert.ok(deadLetter, 'the malformed login is a dead letter')
    assert.match(
      deadLetter.headers.get('lookout.reason') ?? '',
      /field network\.latency_ms must be a finite number, got "slow"/,
    )
    assert.equal(deadLetter.headers.get('lookout.source.topic'), loginsTopic)
    assert.match(deadLetter.value, /"login_id": "bad"/)
  } finally {
    for (const service of services.reverse()) await service.stop()
  }
})
