// Alert sinks against a real local HTTP server, fed from the real alerts topic.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import type { Alert } from '../../src/core/alerts.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { retryAfterMs, SinkDispatcher, slackMessage, slackWebhookSink, webhookSink } from '../../src/services/sinks.ts'
import { deleteTopicsWithPrefix, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, recordingServer } from '../helpers/pipeline.ts'

// each test has its own topics, so one test's alerts never reach another's sink
const context = testContext()
const slackContext = testContext()
after(async () => {
  await deleteTopicsWithPrefix(context.topicPrefix)
  await deleteTopicsWithPrefix(slackContext.topicPrefix)
})

function alert(id: string): Alert {
  return {
    id,
    kind: 'transaction',
    entity: 'user_42',
    severity: 'high',
    score: 0.997,
    eventTime: Date.UTC(2026, 0, 1, 3),
    producedAt: undefined,
    amount: 2431.5,
    rules: ['amount_over_5x_user_avg'],
    reasons: ['rule amount_over_5x_user_avg', 'amount_vs_user_avg (41%)'],
    contributions: [{ feature: 'amount_vs_user_avg', weight: 0.41 }],
    modelVersion: 'transaction-v1',
    suppressedBefore: 2,
  }
}

async function publish(alerts: Alert[], into = context) {
  const producer = createProducer(into, { name: 'test-alerts' })
  await producer.send({
    messages: alerts.map((a) => ({
      topic: topicName(into.topicPrefix, 'alerts'),
      key: Buffer.from(a.entity),
      value: Buffer.from(JSON.stringify(a)),
    })),
  })
  await producer.close()
}

async function until(condition: () => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
}

test('Retry-After is read as seconds or as an HTTP date', () => {
  assert.equal(retryAfterMs('2'), 2000)
  assert.equal(retryAfterMs(new Date(10_000).toUTCString(), 5_000), 5_000)
  assert.equal(retryAfterMs(null), undefined)
})

test('the Slack message is readable: score, entity, amount and top reasons', () => {
  const message = slackMessage(alert('tx-1'))
  const text = JSON.stringify(message)
  assert.match(message.text, /HIGH transaction anomaly for user_42: score 0\.997, amount 2,431\.5/)
  assert.match(text, /\*Score\*\\n0\.997/)
  assert.match(text, /\*Amount\*\\n2,431\.5/)
  assert.match(text, /rule amount_over_5x_user_avg/)
  assert.match(text, /2 similar held back/)
})

test('a webhook answering 429 then 200 gets the alert once, after the Retry-After delay', async () => {
  await ensurePipelineTopics(context)
  const server = await recordingServer((_request, index) =>
    index === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
  )
  const dispatcher = new SinkDispatcher(context, webhookSink(`${server.url}/hook`), {
    retryMaxMs: 5_000,
    retryBaseMs: 50,
  })
  try {
    await dispatcher.start()
    await publish([alert('tx-429')])
    await until(() => dispatcher.delivered === 1)
    assert.equal(dispatcher.delivered, 1)
    assert.equal(server.received.length, 2)
    assert.equal((server.received[1]!.body as Alert).id, 'tx-429')
    const waited = server.received[1]!.at - server.received[0]!.at
    assert.ok(waited >= 950, `waited ${waited} ms for Retry-After: 1`)
  } finally {
    await dispatcher.stop()
    server.server.close()
  }
})

test('Slack gets every alert; a sink that fails keeps the alert and delivers it later', async () => {
  await ensurePipelineTopics(slackContext)
  let failing = true
  const slack = await recordingServer(() => (failing ? { status: 503 } : { status: 200, body: 'ok' }))
  const first = new SinkDispatcher(slackContext, slackWebhookSink(`${slack.url}/services/T/B/X`), {
    retryMaxMs: 200,
    retryBaseMs: 20,
  })
  await first.start()
  await publish([alert('tx-a'), alert('tx-b')], slackContext)
  await until(() => slack.received.length >= 3)
  assert.equal(first.delivered, 0, 'nothing counts as delivered while Slack fails')
  // the sink process stops while Slack is down; a new one picks the same alerts up
  await first.stop()
  failing = false
  const second = new SinkDispatcher(slackContext, slackWebhookSink(`${slack.url}/services/T/B/X`), {
    retryMaxMs: 200,
    retryBaseMs: 20,
  })
  try {
    await second.start()
    await until(() => second.delivered === 2)
    assert.equal(second.delivered, 2)
    const accepted = slack.received.slice(-2).map((r) => JSON.stringify(r.body))
    assert.match(accepted[0]!, /tx-a/)
    assert.match(accepted[1]!, /tx-b/)
    assert.match(accepted[0]!, /user_42/)
  } finally {
    await second.stop()
    slack.server.close()
  }
})
