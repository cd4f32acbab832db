// The alert workflow through the console service against the real broker and a real PostgreSQL
// server: raised alerts land in the store once each, the API lists, filters and shows them,
// actions need the token and answer 404, 409 and 503 as they should, a false-positive mark is a
// label record on the `labels` topic, and alerts raised while the database is away are written
// when it is back, none lost.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import type { Alert } from '../../src/core/alerts.ts'
import { decodeLabel } from '../../src/core/feedback.ts'
import { LookoutError } from '../../src/errors.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { testAlert } from '../helpers/alerts.ts'
import { deleteTopics, deleteTopicsWithPrefix, readTopic, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts'

const context = testContext()
const token = 'alerts-test-token-0123456789'
const dataDir = mkdtempSync(join(tmpdir(), 'lookout-alerts-'))
let postgres: TestPostgres
let console_: RunningService
let base: string

async function raise(alerts: Alert[]): Promise<void> {
  const producer = createProducer(context, { name: 'alerts-test' })
  try {
    await producer.send({
      messages: alerts.map((alert) => ({
        topic: topicName(context.topicPrefix, 'alerts'),
        key: Buffer.from(alert.entity),
        value: Buffer.from(JSON.stringify(alert)),
      })),
    })
  } finally {
    await producer.close()
  }
}

async function call(path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) {
  const headers: Record<string, string> = {}
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? token}`
  const response = await fetch(`${base}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
  })
  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON answers, checked field by field below
  return { status: response.status, body: (await response.json()) as any }
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const result = await check()
      if (result !== undefined) return result
    } catch (error) {
      last = error
    }
    await new Promise((done) => setTimeout(done, 200))
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}

const total = async (query = '') => (await call(`/api/alerts?limit=1${query}`)).body.total as number

before(async () => {
  postgres = await startPostgres()
  await ensurePipelineTopics(context)
  console_ = await startService(
    'console',
    serviceConfig({
      'topics.prefix': context.topicPrefix,
      'console.port': 0,
      'console.token': token,
      'console.databaseUrl': postgres.url,
      dataDir,
    }),
    context,
  )
  base = `http://127.0.0.1:${console_.port}`
})

after(async () => {
  await console_?.stop()
  await postgres?.destroy()
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
})

test('a database that cannot be reached at start stops the console, naming console.databaseUrl', async () => {
  await assert.rejects(
    startService(
      'console',
      serviceConfig({
        'topics.prefix': context.topicPrefix,
        'console.port': 0,
        'console.databaseUrl': 'postgres://lookout@127.0.0.1:9/lookout',
      }),
      context,
    ),
    (error: unknown) => {
      assert.ok(error instanceof LookoutError)
      assert.equal(error.code, 'LOOKOUT_DATABASE_UNREACHABLE')
      assert.match(
        error.describe(),
        /PostgreSQL at postgres:\/\/lookout@127\.0\.0\.1:9\/lookout \(console\.databaseUrl\)/,
      )
      assert.match(error.describe(), /ECONNREFUSED/)
      return true
    },
  )
})

test('raised alerts land in the store once each; listed newest first with filters and paging; one with its trail', async () => {
  const alerts = Array.from({ length: 12 }, (_, i) =>
    testAlert(`list-${i}`, {
      entity: `user_${i % 4}`,
      severity: (['medium', 'high', 'critical'] as const)[i % 3]!,
      eventTime: Date.now(),
    }),
  )
  await raise(alerts)
  await raise(alerts.slice(0, 5)) // delivered again: the same rows
  await waitFor('12 stored alerts', async () => ((await total()) === 12 ? true : undefined))
  await new Promise((done) => setTimeout(done, 1_000))
  assert.equal(await total(), 12, 'a redelivered alert is one row')

  const page = await call('/api/alerts?limit=5&offset=5')
  assert.equal(page.status, 200)
  assert.equal(page.body.alerts.length, 5)
  assert.equal(page.body.total, 12)
  const critical = await call('/api/alerts?severity=critical&entity=user_2')
  assert.deepEqual(critical.body.alerts.map((a: { id: string }) => a.id).sort(), ['list-2'])
  const some = await call('/api/alerts?severity=high,critical&state=open&verdict=none')
  assert.equal(some.body.total, 8)
  const past = await call(`/api/alerts?to=${Date.now() - 3_600_000}`)
  assert.equal(past.body.total, 0)
  const recent = await call(`/api/alerts?from=${Date.now() - 600_000}&to=${Date.now() + 1}`)
  assert.equal(recent.body.total, 12)

  const one = await call('/api/alerts/list-3')
  assert.equal(one.status, 200)
  assert.equal(one.body.entity, 'user_3')
  assert.equal(one.body.state, 'open')
  assert.deepEqual(one.body.alert, alerts[3])
  assert.deepEqual(one.body.actions, [])
  assert.ok(one.body.raisedAt > Date.now() - 600_000)

  const missing = await call('/api/alerts/no-such-alert')
  assert.equal(missing.status, 404)
  assert.equal(missing.body.error, 'no alert with id "no-such-alert"')
  for (const bad of ['severity=urgent', 'state=closed', 'limit=0', 'limit=501', 'from=yesterday', 'verdict=maybe'])
    assert.equal((await call(`/api/alerts?${bad}`)).status, 400, bad)
})

test('actions need the token; acknowledge, resolve, 409 with the current state, 404; bulk answers per alert', async () => {
  await raise([testAlert('act-1'), testAlert('act-2'), testAlert('act-3')])
  await waitFor('the action alerts', async () => ((await call('/api/alerts/act-3')).status === 200 ? true : undefined))
  const body = { action: 'acknowledge', by: 'ana', comment: 'on it' }
  const without = await call('/api/alerts/act-1/actions', { method: 'POST', body, token: null })
  assert.equal(without.status, 401)
  assert.match(without.body.error, /needs the console token/)
  assert.equal(
    (await call('/api/alerts/act-1/actions', { method: 'POST', body, token: 'wrong-token-0123456789' })).status,
    403,
  )
  assert.equal((await call('/api/alerts/act-1')).body.state, 'open', 'nothing changed without the token')

  const acked = await call('/api/alerts/act-1/actions', { method: 'POST', body })
  assert.equal(acked.status, 200)
  assert.equal(acked.body.state, 'acknowledged')
  assert.deepEqual(
    acked.body.actions.map((a: { action: string; by: string; comment: string }) => [a.action, a.by, a.comment]),
    [['acknowledge', 'ana', 'on it']],
  )
  const resolved = await call('/api/alerts/act-1/actions', { method: 'POST', body: { action: 'resolve', by: 'bo' } })
  assert.equal(resolved.body.state, 'resolved')
  const again = await call('/api/alerts/act-1/actions', { method: 'POST', body: { action: 'resolve', by: 'bo' } })
  assert.equal(again.status, 409)
  assert.deepEqual(again.body, {
    error: 'cannot resolve alert act-1: it is already resolved',
    state: 'resolved',
    verdict: null,
  })
  assert.equal((await call('/api/alerts/nope/actions', { method: 'POST', body })).status, 404)
  assert.equal(
    (await call('/api/alerts/act-2/actions', { method: 'POST', body: { action: 'close', by: 'x' } })).status,
    400,
  )
  assert.equal((await call('/api/alerts/act-2/actions', { method: 'POST', body: { action: 'resolve' } })).status, 400)

  const bulk = await call('/api/alerts/actions', {
    method: 'POST',
    body: { ids: ['act-1', 'act-2', 'act-3', 'nope'], action: 'acknowledge', by: 'cy', comment: 'batch' },
  })
  assert.equal(bulk.status, 200)
  assert.equal(bulk.body.done, 2)
  assert.deepEqual(
    bulk.body.results.map((r: { id: string; status: number; state?: string }) => [r.id, r.status]),
    [
      ['act-1', 409],
      ['act-2', 200],
      ['act-3', 200],
      ['nope', 404],
    ],
  )
  assert.equal(bulk.body.results[0].state, 'resolved')
  assert.equal(
    (
      await call('/api/alerts/actions', {
        method: 'POST',
        body: { ids: ['act-2'], action: 'resolve', by: 'cy' },
        token: null,
      })
    ).status,
    401,
  )
})

test('a true or false positive mark is a label on the labels topic, keyed by the entity', async () => {
  await raise([testAlert('mark-1', { entity: 'user_fp' }), testAlert('mark-2', { entity: 'user_tp' })])
  await waitFor('the marked alerts', async () => ((await call('/api/alerts/mark-2')).status === 200 ? true : undefined))
  const fp = await call('/api/alerts/mark-1/actions', {
    method: 'POST',
    body: { action: 'false_positive', by: 'ana', comment: 'known traveller' },
  })
  assert.equal(fp.status, 200)
  assert.deepEqual([fp.body.state, fp.body.verdict], ['resolved', 'false_positive'])
  const tp = await call('/api/alerts/actions', {
    method: 'POST',
    body: { ids: ['mark-2'], action: 'true_positive', by: 'bo' },
  })
  assert.equal(tp.body.results[0].status, 200)
  const twice = await call('/api/alerts/mark-1/actions', { method: 'POST', body: { action: 'true_positive', by: 'x' } })
  assert.equal(twice.status, 409)
  assert.equal(twice.body.verdict, 'false_positive')

  const records = await readTopic(topicName(context.topicPrefix, 'labels'), { count: 2, timeoutMs: 20_000 })
  assert.equal(records.length, 2, 'one label per mark, none for the refused one')
  const byKey = Object.fromEntries(records.map((r) => [r.key, decodeLabel(r.value)]))
  assert.deepEqual(
    { ...byKey.user_fp, at: undefined },
    {
      eventId: 'mark-1',
      entity: 'user_fp',
      label: 0,
      by: 'ana',
      at: undefined,
      alertId: 'mark-1',
      comment: 'known traveller',
    },
  )
  assert.equal(byKey.user_fp!.at, new Date(fp.body.actions[0].at).toISOString())
  assert.deepEqual([byKey.user_tp!.label, byKey.user_tp!.by, byKey.user_tp!.comment], [1, 'bo', undefined])
})

test('the database lost while running: actions answer 503, alerts wait in Kafka; when it is back, all are written', async () => {
  await raise([testAlert('lost-0')])
  await waitFor('lost-0 stored', async () => ((await call('/api/alerts/lost-0')).status === 200 ? true : undefined))
  const before_ = await total()
  await postgres.stop()
  const refused = await call('/api/alerts/lost-0/actions', {
    method: 'POST',
    body: { action: 'acknowledge', by: 'ana' },
  })
  assert.equal(refused.status, 503)
  assert.match(
    refused.body.error,
    /alert store \(PostgreSQL at postgres:\/\/lookout@127\.0\.0\.1:\d+\/postgres\) is unreachable/,
  )
  assert.equal((await call('/api/alerts')).status, 503)
  const fpRefused = await call('/api/alerts/lost-0/actions', {
    method: 'POST',
    body: { action: 'false_positive', by: 'ana' },
  })
  assert.equal(fpRefused.status, 503)

  const meanwhile = Array.from({ length: 20 }, (_, i) => testAlert(`lost-${i + 1}`, { entity: `user_${i % 5}` }))
  await raise(meanwhile)
  // the writer keeps failing and retrying; nothing is committed past what is written
  await new Promise((done) => setTimeout(done, 3_000))
  const health = await fetch(`${base}/health`)
  assert.equal(health.status, 503)
  assert.match(
    ((await health.json()) as { reason: string }).reason,
    /alert store .* cannot be written; new alerts wait in Kafka/,
  )
  await postgres.start()

  const acked = await waitFor('an action to succeed again', async () => {
    const answer = await call('/api/alerts/lost-0/actions', {
      method: 'POST',
      body: { action: 'acknowledge', by: 'ana' },
    })
    return answer.status === 200 ? answer : undefined
  })
  assert.equal(acked.body.state, 'acknowledged')
  await waitFor('every alert raised meanwhile', async () => ((await total()) === before_ + 20 ? true : undefined))
  for (const alert of meanwhile) assert.equal((await call(`/api/alerts/${alert.id}`)).status, 200, alert.id)
  assert.equal((await fetch(`${base}/health`)).status, 200)
  // no label went out for the refused mark
  const labels = await readTopic(topicName(context.topicPrefix, 'labels'), { timeoutMs: 3_000 })
  assert.ok(!labels.some((r) => decodeLabel(r.value).alertId === 'lost-0'))
})

test('a verdict whose label Kafka does not take is not saved: 502, nothing changed', async () => {
  await raise([testAlert('unlabelled-1', { entity: 'user_nl' })])
  await waitFor('unlabelled-1 stored', async () =>
    (await call('/api/alerts/unlabelled-1')).status === 200 ? true : undefined,
  )
  await deleteTopics([topicName(context.topicPrefix, 'labels')])
  const refused = await call('/api/alerts/unlabelled-1/actions', {
    method: 'POST',
    body: { action: 'false_positive', by: 'ana', comment: 'x' },
  })
  assert.equal(refused.status, 502)
  assert.match(
    refused.body.error,
    /the verdict was not saved: its label could not be published to Kafka .*labels.*; try again/,
  )
  const unchanged = await call('/api/alerts/unlabelled-1')
  assert.deepEqual([unchanged.body.state, unchanged.body.verdict, unchanged.body.actions], ['open', null, []])
})
