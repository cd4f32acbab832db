// The phased source through enrich → score → alert on the real broker, end to end.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { startService } from '../../src/services/run.ts'
import { deleteTopicsWithPrefix, readTopic, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, producePhased, recordingServer, serviceConfig } from '../helpers/pipeline.ts'

const context = testContext()
after(() => deleteTopicsWithPrefix(context.topicPrefix))

test('phased events flow through enrich, score and alert exactly once; bad input is dead-lettered', async () => {
  await ensurePipelineTopics(context)
  const webhook = await recordingServer()
  const config = serviceConfig({ 'alert.webhookUrl': webhook.url, 'topics.prefix': context.topicPrefix })
  const services = []
  try {
    for (const name of ['enrich', 'score', 'alert'] as const) services.push(await startService(name, config, context))
    const events = await producePhased(context, 7, 0, 2_000)
    // a malformed event in the middle of the stream
    const producer = createProducer(context, { name: 'bad' })
    await producer.send({
      messages: [
        {
          topic: topicName(context.topicPrefix, 'rawTransactions'),
          key: Buffer.from('user_1'),
          value: Buffer.from('{"kind":"transaction"}'),
        },
      ],
    })
    await producer.close()
    const more = await producePhased(context, 7, 2_000, 3_000)
    const all = [...events, ...more]

    const scores = await readTopic(topicName(context.topicPrefix, 'anomalyScores'), {
      count: all.length,
      timeoutMs: 60_000,
    })
    assert.equal(scores.length, all.length)
    const ids = scores.map((record) => JSON.parse(record.value).id as string)
    assert.equal(new Set(ids).size, all.length, 'every transaction scored once')
    assert.deepEqual(new Set(ids), new Set(all.map((e) => e.transaction_id)))

    const sample = JSON.parse(scores[scores.length - 1]!.value)
    assert.ok(sample.score >= 0 && sample.score <= 1)
    assert.ok('half_space_trees' in sample.scores && 'entity_zscore' in sample.scores)
    assert.equal(sample.modelVersion, null)
    // explanations are for what is flagged: every anomaly has one, an event below the threshold none
    const unflagged = scores.map((record) => JSON.parse(record.value)).find((event) => event.score < 0.5)
    assert.deepEqual(unflagged.contributions, [])

    const anomalies = await readTopic(topicName(context.topicPrefix, 'anomalies'), { timeoutMs: 3_000 })
    const labelled = all.filter((e) => e.anomaly_label === 1).length
    assert.ok(anomalies.length > 0, `anomalies flagged (labels: ${labelled})`)
    assert.ok(anomalies.every((record) => JSON.parse(record.value).contributions.length > 0))
    const alerts = await readTopic(topicName(context.topicPrefix, 'alerts'), { timeoutMs: 3_000 })
    assert.ok(alerts.length > 0 && alerts.length <= anomalies.length)

    const deadLetters = await readTopic(topicName(context.topicPrefix, 'deadLetters'), { count: 1, timeoutMs: 10_000 })
    assert.equal(deadLetters.length, 1)

    const deadline = Date.now() + 20_000
    while (webhook.received.length < alerts.length && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100))
    assert.equal(webhook.received.length, alerts.length, 'every alert posted to the webhook')
  } finally {
    for (const service of services.reverse()) await service.stop()
    webhook.server.close()
  }
})
