// The fault runs of `npm run test:faults` (scripts/faults/), smaller, inside the suite: a crash
// run with its own broker (killed and restarted once) and SIGKILLed service processes, then a
// read_committed reconciliation; poison messages on the test broker; alert sinks that answer
// 500 and 429 for a while.
import assert from 'node:assert/strict'
import { resolve } from 'node:path'
import { test } from 'node:test'
import { formatReport, root, runFaults } from '../../scripts/faults/harness.ts'
import { formatPoisonReport, runPoison } from '../../scripts/faults/poison.ts'
import type { Alert } from '../../src/core/alerts.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { idempotencyKey, SinkDispatcher, slackWebhookSink, webhookSink } from '../../src/services/sinks.ts'
import { deleteTopicsWithPrefix, testBrokers, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, recordingServer } from '../helpers/pipeline.ts'

// the crash run's own broker: the test broker's port + 4 (+5 is its controller), so killing it
// disturbs no other test
const faultsPort = Number(process.env.TEST_KAFKA_PORT ?? 19092) + 4

test('SIGKILLed service instances and a killed broker lose, duplicate and reset nothing; windows equal the brute force', {
  timeout: 600_000,
}, async () => {
  const report = await runFaults({
    events: 12_000,
    rate: 300,
    seed: 21,
    users: 300,
    partitions: 6,
    instances: { enrich: 2, score: 2, alert: 2, drift: 1, aggregate: 1 },
    processKills: 3,
    brokerKills: 1,
    port: faultsPort,
    nodes: 1,
    sinkFailureMs: 15_000,
    sinkRetryMaxMs: 3_000,
    dataDir: resolve(root, '.lookout'),
    heap: '512m',
    log: (line) => {
      if (process.env.TEST_VERBOSE) process.stderr.write(`${line}\n`)
    },
  })
  const text = formatReport(report)
  if (process.env.TEST_VERBOSE) process.stderr.write(`${text}\n`)
  assert.deepEqual(report.problems, [], text)
  assert.equal(report.faults.length, 4)
  const r = report.reconciliation
  assert.equal(r.scored, 12_000)
  assert.ok(r.alerts > 0 && r.alerts === r.alertsExpected, text)
  assert.ok(r.windows.expected > 1_000 && r.windows.results === r.windows.expected, text)
})

test('malformed records all land in dead-letters with a reason; valid events are scored once; nothing stalls', {
  timeout: 600_000,
}, async () => {
  const report = await runPoison({
    poison: 1_000,
    valid: 3_000,
    seed: 22,
    brokers: testBrokers(),
    dataDir: resolve(root, '.lookout'),
    log: () => {},
  })
  const text = formatPoisonReport(report)
  assert.deepEqual(report.problems, [], text)
  assert.equal(report.deadLetters, 1_000)
  assert.equal(report.scored, 3_000)
  for (const count of Object.values(report.deadLettersByCategory)) assert.ok(count > 0)
  assert.equal(Object.keys(report.deadLettersByCategory).length, 9, text)
})

function alertFor(entity: string, n: number): Alert {
  return {
    id: `${entity}-tx-${n}`,
    kind: 'transaction',
    entity,
    severity: 'high',
    score: 0.9995,
    eventTime: Date.UTC(2026, 0, 1) + n * 600_000,
    producedAt: undefined,
    amount: 100 + n,
    rules: [],
    reasons: ['amount_vs_user_avg (60%)'],
    contributions: [],
    modelVersion: null,
    suppressedBefore: 0,
  }
}

test('Slack and webhook answering 500 and 429 for a while get every alert once, late, in order per entity', {
  timeout: 300_000,
}, async () => {
  const context = testContext()
  await ensurePipelineTopics(context)
  const failForMs = 20_000
  let failUntil = Number.POSITIVE_INFINITY
  const answer = (_request: unknown, index: number) =>
    Date.now() < failUntil
      ? index % 2
        ? { status: 429, headers: { 'retry-after': '1' } }
        : { status: 500 }
      : { status: 200, body: 'ok' }
  const webhook = await recordingServer(answer)
  const slack = await recordingServer(answer)
  const dispatchers = [
    new SinkDispatcher(context, webhookSink(`${webhook.url}/hook`), { retryMaxMs: 4_000, retryBaseMs: 100 }),
    new SinkDispatcher(context, slackWebhookSink(`${slack.url}/services/T/B/X`), {
      retryMaxMs: 4_000,
      retryBaseMs: 100,
    }),
  ]
  try {
    for (const dispatcher of dispatchers) await dispatcher.start()
    const alerts: Alert[] = []
    for (let n = 0; n < 10; n++) for (let e = 0; e < 8; e++) alerts.push(alertFor(`user_${e}`, n))
    failUntil = Date.now() + failForMs
    const producer = createProducer(context, { name: 'test-alerts' })
    await producer.send({
      messages: alerts.map((a) => ({
        topic: topicName(context.topicPrefix, 'alerts'),
        key: Buffer.from(a.entity),
        value: Buffer.from(JSON.stringify(a)),
      })),
    })
    await producer.close()
    const deadline = Date.now() + failForMs + 60_000
    while (dispatchers.some((d) => d.delivered < alerts.length) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200))

    const keyOf = {
      webhook: (body: unknown) => (body as { idempotencyKey: string }).idempotencyKey,
      slack: (body: unknown) =>
        (body as { metadata: { event_payload: { idempotency_key: string } } }).metadata.event_payload.idempotency_key,
    }
    for (const [name, server] of [
      ['webhook', webhook],
      ['slack', slack],
    ] as const) {
      const failed = server.received.filter((r) => r.at < failUntil)
      const accepted = server.received.filter((r) => r.at >= failUntil)
      assert.ok(failed.length >= 2, `${name} failed while it should (${failed.length} attempts)`)
      const keys = accepted.map((r) => keyOf[name](r.body))
      assert.equal(keys.length, alerts.length, `${name}: every alert accepted once`)
      assert.equal(new Set(keys).size, alerts.length, `${name}: no alert twice`)
      for (let e = 0; e < 8; e++) {
        const entity = `user_${e}`
        const expected = alerts.filter((a) => a.entity === entity).map(idempotencyKey)
        assert.deepEqual(
          keys.filter((key) => key.includes(`:${entity}-tx-`)),
          expected,
          `${name}: ${entity}'s alerts in order`,
        )
      }
    }
    // the webhook also carries the key as a header
    assert.equal(webhook.received.at(-1)!.headers['idempotency-key'], keyOf.webhook(webhook.received.at(-1)!.body))
  } finally {
    for (const dispatcher of dispatchers) await dispatcher.stop()
    webhook.server.close()
    slack.server.close()
    await deleteTopicsWithPrefix(context.topicPrefix)
  }
})
