// The drift and models API and the windows API against the real broker: the timeline of the
// combined score and of phase, drift, retrain and model events; the model list; promote and
// roll back with the token (401 without, 403 wrong, 404 unknown version, 409 when there is
// nothing to do); the latest window aggregates of the aggregate service, checked against the
// payments themselves.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Payment } from '../../src/core/events.ts'
import { phaseTransitionAt } from '../../src/core/sources/phased.ts'
import { windowStarts } from '../../src/core/windows/window.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { configuredAggregations } from '../../src/services/aggregate.ts'
import type { DriftRecord, RetrainingTrigger } from '../../src/services/drift.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { paymentsSource } from '../../src/sources/payments.ts'
import { runSourceCommand } from '../../src/sources/source.ts'
import { deleteTopicsWithPrefix, readTopic, testContext } from '../helpers/kafka.ts'
import { publishTwoModels } from '../helpers/models.ts'
import { ensurePipelineTopics, producePhased, serviceConfig } from '../helpers/pipeline.ts'

const context = testContext()
const token = 'models-test-token-0123456789'
const dataDir = mkdtempSync(join(tmpdir(), 'lookout-console-models-'))
const services: RunningService[] = []
let base = ''
const phasedEvents = 3_000
const paymentCount = 1_500

const config = serviceConfig({
  'topics.prefix': context.topicPrefix,
  dataDir,
  'aggregate.port': 0,
  'console.port': 0,
  'console.token': token,
  'source.port': 0,
  // the shadow stays in shadow until the test promotes it
  'models.shadowMinLabelled': 10_000_000,
})

before(async () => {
  await ensurePipelineTopics(context)
  for (const name of ['enrich', 'score', 'aggregate'] as const) services.push(await startService(name, config, context))
  await publishTwoModels(context, dataDir)
  await producePhased(context, 21, 0, phasedEvents)
  await runSourceCommand(
    paymentsSource,
    serviceConfig({
      'topics.prefix': context.topicPrefix,
      'source.port': 0,
      'source.rate': 1_000,
      'source.count': paymentCount,
      'source.seed': 9,
    }),
    { brokers: async () => context.brokers, write: () => {} },
  )
  const now = Date.now()
  const drift: DriftRecord = {
    detector: 'page-hinkley',
    signal: 'amount',
    statistic: { value: 120, threshold: 50 },
    eventNumber: 1_234,
    eventTime: now,
    modelVersion: 'transaction-v1',
    phase: 'drift',
    seen: 1_234,
    kind: 'transaction',
    partition: 1,
  }
  const trigger: RetrainingTrigger = {
    reason: 'drift: page-hinkley on amount',
    kind: 'transaction',
    range: { fromEventTime: now - 1_000, toEventTime: now },
    drift,
    partition: 1,
    requestedAt: new Date(now).toISOString(),
  }
  const producer = createProducer(context, { name: 'models-test' })
  await producer.send({
    messages: [
      {
        topic: topicName(context.topicPrefix, 'phaseTransitions'),
        key: Buffer.from('phase'),
        value: Buffer.from(JSON.stringify(phaseTransitionAt(100_000, now / 1000))),
      },
      {
        topic: topicName(context.topicPrefix, 'driftEvents'),
        key: Buffer.from('transaction'),
        value: Buffer.from(JSON.stringify(drift)),
      },
      {
        topic: topicName(context.topicPrefix, 'retrainingTriggers'),
        key: Buffer.from('transaction'),
        value: Buffer.from(JSON.stringify(trigger)),
      },
    ],
  })
  await producer.close()
  services.push(await startService('console', config, context))
  base = `http://127.0.0.1:${services.at(-1)!.port}`
})

after(async () => {
  for (const service of services.reverse()) await service.stop()
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
})

async function call(path: string, init: RequestInit & { auth?: string } = {}) {
  const headers: Record<string, string> = {}
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  if (init.auth !== undefined) headers.authorization = `Bearer ${init.auth}`
  const response = await fetch(`${base}${path}`, { ...init, headers })
  const text = await response.text()
  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON answers, checked field by field below
  let body: any = text
  try {
    body = JSON.parse(text)
  } catch {}
  return { status: response.status, body }
}

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs
  let last: T = await read()
  while (!done(last)) {
    if (Date.now() > deadline) assert.fail(`${what}: not reached in ${timeoutMs} ms; last: ${JSON.stringify(last)}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
    last = await read()
  }
  return last
}

test('models: the list with state, parent, training range and metrics; one version; unknown 404, bad name 400', async () => {
  const list = await until(
    'both versions listed',
    () => call('/api/models'),
    (r) => r.body.models?.length === 2,
  )
  assert.equal(list.status, 200)
  const [v1, v2] = list.body.models
  assert.deepEqual(
    [v1.version, v1.state, v1.parent, v2.version, v2.state, v2.parent],
    ['transaction-v1', 'live', null, 'transaction-v2', 'shadow', 'transaction-v1'],
  )
  assert.deepEqual([v2.trainedOn.source, v2.trainedOn.from, v2.trainedOn.to], ['test', 1_500, 3_000])
  assert.equal(v2.trainedOn.rows, 1_200)
  assert.ok('rocAuc' in v2.metrics && 'parentRocAuc' in v2.metrics, JSON.stringify(v2.metrics))
  assert.equal(list.body.live[0].version, 'transaction-v1')

  const one = await call('/api/models/transaction-v2')
  assert.equal(one.status, 200)
  assert.equal(one.body.state, 'shadow')
  const missing = await call('/api/models/transaction-v9')
  assert.equal(missing.status, 404)
  assert.match(missing.body.error, /no model version "transaction-v9"/)
  assert.equal((await call('/api/models/bad%20name')).status, 400)
})

test('timeline: every scored event in the 5 s points, and phase, drift, retrain, version, shadow and promotion events', async () => {
  const scored = await readTopic(topicName(context.topicPrefix, 'anomalyScores'), {
    count: phasedEvents + paymentCount,
  })
  assert.equal(scored.length, phasedEvents + paymentCount)
  const timeline = await until(
    'the timeline counts every scored event',
    () => call('/api/timeline?minutes=60'),
    (r) => r.body.score?.events.reduce((a: number, b: number) => a + b, 0) === scored.length,
  )
  const { score, events } = timeline.body
  assert.equal(timeline.body.bucketSeconds, 5)
  assert.ok(score.t.every((t: number) => t % 5 === 0))
  for (const series of [score.mean, score.p99, score.max]) assert.ok(series.every((v: number) => v >= 0 && v <= 1))
  assert.ok(score.t.every((_: number, i: number) => score.mean[i] <= score.max[i] && score.p99[i] <= score.max[i]))
  const maxOfAll = Math.max(...scored.map((r) => JSON.parse(r.value).score as number))
  assert.equal(Math.max(...score.max), Math.round(maxOfAll * 10_000) / 10_000)

  const types = events.map((e: { type: string }) => e.type)
  for (const type of ['phase', 'drift', 'retrain', 'version', 'shadow', 'promotion'])
    assert.ok(types.includes(type), `${type} in ${types.join(', ')}`)
  const titles = events.map((e: { title: string }) => e.title).join('\n')
  assert.match(titles, /phase drift from event 100000/)
  assert.match(titles, /drift: page-hinkley on amount \(partition 1, event 1234, model transaction-v1\)/)
  assert.match(titles, /transaction-v2 trained \(1200 rows, parent transaction-v1; test model 2\)/)
  assert.match(titles, /transaction-v1 promoted to live \(train: test model 1\)/)
  assert.ok(
    events.every((e: { at: number }, i: number) => i === 0 || events[i - 1].at <= e.at),
    'events in time order',
  )

  assert.equal((await call('/api/timeline?minutes=0')).status, 400)
  assert.equal((await call('/api/timeline?minutes=abc')).status, 400)
})

test('promote and roll back: the token, unknown version, nothing to do; each shows on the timeline', async () => {
  const promote = (version: string, auth?: string) =>
    call(`/api/models/${version}/promote`, { method: 'POST', ...(auth === undefined ? {} : { auth }) })
  const noToken = await promote('transaction-v2')
  assert.equal(noToken.status, 401)
  assert.match(noToken.body.error, /needs the console token/)
  assert.equal((await promote('transaction-v2', 'wrong-token-0123456789')).status, 403)
  const unknown = await promote('transaction-v9', token)
  assert.equal(unknown.status, 404)
  assert.match(unknown.body.error, /no model version "transaction-v9"/)

  const promoted = await promote('transaction-v2', token)
  assert.equal(promoted.status, 200, JSON.stringify(promoted.body))
  assert.deepEqual([promoted.body.model.version, promoted.body.model.state], ['transaction-v2', 'live'])
  const models = (await call('/api/models')).body.models
  assert.deepEqual(
    models.map((m: { version: string; state: string }) => `${m.version} ${m.state}`),
    ['transaction-v1 inactive', 'transaction-v2 live'],
  )
  const again = await promote('transaction-v2', token)
  assert.equal(again.status, 409)
  assert.match(again.body.error, /already the live transaction model/)
  const afterPromotion = (await call('/api/timeline')).body.events
  assert.ok(
    afterPromotion.some(
      (e: { type: string; title: string }) =>
        e.type === 'promotion' && e.title === 'transaction-v2 promoted to live (console promote)',
    ),
  )

  const rollback = (body: unknown, auth?: string) =>
    call('/api/models/rollback', {
      method: 'POST',
      body: JSON.stringify(body),
      ...(auth === undefined ? {} : { auth }),
    })
  assert.equal((await rollback({ kind: 'transaction' })).status, 401)
  assert.equal((await rollback({ kind: 'transaction' }, 'wrong-token-0123456789')).status, 403)
  const badKind = await rollback({ kind: 'nope' }, token)
  assert.equal(badKind.status, 400)
  assert.match(badKind.body.error, /unknown kind "nope"/)
  assert.equal((await rollback({}, token)).status, 400)
  const back = await rollback({ kind: 'transaction' }, token)
  assert.equal(back.status, 200, JSON.stringify(back.body))
  assert.deepEqual([back.body.model.version, back.body.model.state], ['transaction-v1', 'live'])
  const nothing = await rollback({ kind: 'transaction' }, token)
  assert.equal(nothing.status, 409)
  assert.match(nothing.body.error, /no earlier live transaction model/)
  const events = (await call('/api/timeline')).body.events
  assert.ok(
    events.some(
      (e: { type: string; title: string }) =>
        e.type === 'rollback' && e.title === 'rolled back: transaction-v1 live again (console rollback)',
    ),
  )
})

test('windows: the latest aggregates equal the payments counted by hand; unknown aggregation 404, bad limit 400', async () => {
  const payments = (await readTopic(topicName(context.topicPrefix, 'rawTransactions'), { timeoutMs: 5_000 }))
    .map((r) => JSON.parse(r.value) as Payment)
    .filter((event) => (event as { kind?: string }).kind === 'payment')
  assert.equal(payments.length, paymentCount)
  const definition = configuredAggregations(config).find((a) => a.name === 'merchant-payments')!
  // count per (window start, merchant) by brute force
  const expected = new Map<string, number>()
  for (const payment of payments)
    for (const start of windowStarts(Date.parse(payment.timestamp), definition.window)) {
      const key = `${start}|${payment.merchant_id}`
      expected.set(key, (expected.get(key) ?? 0) + 1)
    }
  const newest = Math.max(...[...expected.keys()].map((key) => Number(key.split('|')[0])))
  const inNewest = [...expected].filter(([key]) => Number(key.split('|')[0]) === newest)
  const total = inNewest.reduce((sum, [, n]) => sum + n, 0)

  const answer = await until(
    'the newest merchant-payments window holds every payment',
    () => call('/api/windows/merchant-payments?limit=1000'),
    (r) => r.body.window?.start === newest && r.body.windows.at(-1)?.totals.count === total,
  )
  const { window, definition: shown } = answer.body
  assert.deepEqual([shown.key, shown.sizeMs, shown.emit], ['merchant_id', 300_000, 'update'])
  assert.equal(window.groups, inNewest.length)
  for (const row of window.rows)
    assert.equal(row.values.count, expected.get(`${newest}|${row.key}`), `merchant ${row.key}`)
  assert.ok(
    window.rows.every(
      (row: { values: { count: number } }, i: number) => i === 0 || window.rows[i - 1].values.count >= row.values.count,
    ),
  )

  const all = await call('/api/windows?limit=5')
  assert.equal(all.status, 200)
  const names = all.body.aggregations.map((a: { name: string }) => a.name)
  assert.deepEqual(names.slice(0, 3), ['merchant-payments', 'category-revenue', 'customer-velocity'])
  assert.ok(all.body.aggregations[0].window.rows.length <= 5)
  assert.ok(all.body.aggregations[0].top.length > 0)

  const unknown = await call('/api/windows/no-such-aggregation')
  assert.equal(unknown.status, 404)
  assert.match(unknown.body.error, /no aggregation "no-such-aggregation".*merchant-payments/)
  assert.equal((await call('/api/windows?limit=0')).status, 400)
  assert.equal((await call('/api/windows/merchant-payments?windowStart=1')).status, 404)
})
