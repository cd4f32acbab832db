// The console's HTTP API against the real broker: every endpoint, bad parameters answered with
// a clear 4xx (never a 500), the token on re-produce, security headers, SSE.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { partitionForKey } from '../../src/console/kafka.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { deleteTopicsWithPrefix, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, producePhased, serviceConfig } from '../helpers/pipeline.ts'

const context = testContext()
const token = 'test-token-0123456789abcdef'
const raw = topicName(context.topicPrefix, 'rawTransactions')
// the console's alert store (SQLite) lives here
const dataDir = mkdtempSync(join(tmpdir(), 'lookout-console-api-'))
let console_: RunningService
let base: string
const services: RunningService[] = []

before(async () => {
  await ensurePipelineTopics(context)
  const config = serviceConfig({
    'topics.prefix': context.topicPrefix,
    'console.port': 0,
    'console.token': token,
    dataDir,
  })
  for (const name of ['enrich', 'score'] as const) services.push(await startService(name, config, context))
  await producePhased(context, 11, 0, 1_500)
  const producer = createProducer(context, { name: 'console-test' })
  await producer.send({
    messages: [
      {
        topic: raw,
        key: Buffer.from('evil-key'),
        value: Buffer.from(JSON.stringify({ note: '<script>alert(1)</script>', amount: 5 })),
        headers: { source: 'test' },
      },
    ],
  })
  await producer.close()
  console_ = await startService('console', config, context)
  base = `http://127.0.0.1:${console_.port}`
})

after(async () => {
  await console_?.stop()
  for (const service of services.reverse()) await service.stop()
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
})

async function get(path: string, init?: RequestInit) {
  const response = await fetch(`${base}${path}`, init)
  const text = await response.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  // biome-ignore lint/suspicious/noExplicitAny: the API's JSON answers, checked field by field below
  return { status: response.status, headers: response.headers, body: body as any }
}

test('topics: list with partitions, offsets and sizes; one topic with partitions and configs; unknown 404', async () => {
  const list = await get('/api/topics')
  assert.equal(list.status, 200)
  const topic = list.body.topics.find((t: { name: string }) => t.name === raw)
  assert.ok(topic, 'raw-transactions listed')
  assert.equal(topic.partitions, context.partitions)
  assert.equal(Number(topic.messages) >= 1_501, true)
  assert.match(list.headers.get('content-security-policy') ?? '', /default-src 'none'/)
  assert.equal(list.headers.get('x-content-type-options'), 'nosniff')

  const one = await get(`/api/topics/${raw}`)
  assert.equal(one.status, 200)
  assert.equal(one.body.partitions.length, context.partitions)
  assert.ok(one.body.partitions.every((p: { low: string; high: string }) => BigInt(p.high) >= BigInt(p.low)))
  assert.ok(one.body.configs.some((c: { name: string }) => c.name === 'cleanup.policy'))
  assert.ok(one.body.sizeBytes === null || one.body.sizeBytes > 0)

  const missing = await get(`/api/topics/${context.topicPrefix}nosuch`)
  assert.equal(missing.status, 404)
  assert.match(missing.body.error, /does not exist/)
  assert.equal((await get('/api/topics/bad%20name')).status, 400)
})

test('messages: newest, from an offset, from a timestamp, from the beginning; bad parameters are 400', async () => {
  const newest = await get(`/api/topics/${raw}/messages?limit=5`)
  assert.equal(newest.status, 200)
  assert.equal(newest.body.messages.length, 5)
  const fromOffset = await get(`/api/topics/${raw}/messages?partition=0&offset=3&limit=4`)
  assert.equal(fromOffset.status, 200)
  assert.deepEqual(
    fromOffset.body.messages.map((m: { offset: string }) => m.offset),
    ['3', '4', '5', '6'],
  )
  assert.ok(fromOffset.body.messages.every((m: { partition: number }) => m.partition === 0))
  const first = await get(`/api/topics/${raw}/messages?partition=1&position=beginning&limit=1`)
  assert.equal(first.body.messages[0].offset, '0')
  const byTime = await get(
    `/api/topics/${raw}/messages?timestamp=${first.body.messages[0].timestamp}&partition=1&limit=2`,
  )
  assert.equal(byTime.status, 200)
  assert.equal(byTime.body.messages[0].offset, '0')
  const future = await get(`/api/topics/${raw}/messages?timestamp=${Date.now() + 3_600_000}&limit=2`)
  assert.deepEqual(future.body.messages, [])

  for (const [query, pattern] of [
    ['offset=-1', /offset must be >= 0/],
    ['limit=100000', /limit must be <= 500/],
    ['limit=0', /limit must be >= 1/],
    ['limit=abc', /limit must be integer/],
    ['partition=99', /partition 99 does not exist/],
    ['position=middle', /position must be equal to one of/],
    ['offset=1&timestamp=1', /either offset or timestamp/],
    ['filter=amount%20%3E', /invalid filter/],
    ['scan=999999999', /scan must be <=/],
  ] as const) {
    const answer = await get(`/api/topics/${raw}/messages?${query}`)
    assert.equal(answer.status, 400, `${query}: ${JSON.stringify(answer.body)}`)
    assert.match(answer.body.error, pattern, query)
  }
  assert.equal((await get(`/api/topics/${context.topicPrefix}nosuch/messages`)).status, 404)
})

test('one record; headers; filter expressions; find by key scans only the key partition', async () => {
  const evil = await get(`/api/topics/${raw}/messages?key=evil-key`)
  assert.equal(evil.status, 200)
  assert.equal(evil.body.searched.partition, partitionForKey('evil-key', context.partitions))
  assert.equal(evil.body.messages.length, 1)
  const message = evil.body.messages[0]
  assert.deepEqual(message.headers, [{ key: 'source', value: 'test' }])
  assert.match(message.value, /<script>/)
  assert.ok(evil.body.searched.scanned > 0 && evil.body.searched.complete)

  const single = await get(`/api/topics/${raw}/messages/${message.partition}/${message.offset}`)
  assert.equal(single.status, 200)
  assert.equal(single.body.value, message.value)
  assert.equal((await get(`/api/topics/${raw}/messages/0/999999999`)).status, 404)
  assert.equal((await get(`/api/topics/${raw}/messages/0/-5`)).status, 400)

  const user = (await get(`/api/topics/${raw}/messages?limit=1`)).body.messages[0]
  const byKey = await get(`/api/topics/${raw}/messages?key=${encodeURIComponent(user.key)}&limit=500`)
  assert.ok(byKey.body.messages.length >= 1)
  assert.ok(byKey.body.messages.every((m: { key: string }) => m.key === user.key))
  assert.ok(byKey.body.messages.some((m: { offset: string }) => m.offset === user.offset))
  assert.deepEqual(
    (await get(`/api/partition?topic=${raw}&key=${encodeURIComponent(user.key)}`)).body.partition,
    user.partition,
  )

  const filtered = await get(
    `/api/topics/${raw}/messages?position=beginning&limit=500&filter=${encodeURIComponent('amount > 100 and (kind == "transaction" or kind == "x")')}`,
  )
  assert.equal(filtered.status, 200)
  assert.ok(filtered.body.messages.length > 0)
  assert.ok(filtered.body.messages.every((m: { value: string }) => JSON.parse(m.value).amount > 100))
  const injected = await get(
    `/api/topics/${raw}/messages?filter=${encodeURIComponent('constructor.constructor("return process")() == 1')}`,
  )
  assert.equal(injected.status, 400)
})

test('re-produce needs the token: 401 without, 403 wrong, 200 with; the copy lands', async () => {
  const evil = (await get(`/api/topics/${raw}/messages?key=evil-key`)).body.messages[0]
  const path = `/api/topics/${raw}/messages/${evil.partition}/${evil.offset}/reproduce`
  const post = (headers: Record<string, string>, body: unknown = {}) =>
    get(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
  assert.equal((await post({})).status, 401)
  assert.equal((await post({ authorization: 'Bearer wrong-token-000000000' })).status, 403)
  const done = await post({ authorization: `Bearer ${token}` })
  assert.equal(done.status, 200, JSON.stringify(done.body))
  assert.equal(done.body.written.partition, evil.partition, 'same key, same partition')
  const again = await get(`/api/topics/${raw}/messages?key=evil-key`)
  assert.equal(again.body.messages.length, 2)
  assert.deepEqual(again.body.messages[1].headers, evil.headers)
  const elsewhere = await post({ authorization: `Bearer ${token}` }, { topic: `${context.topicPrefix}nosuch` })
  assert.equal(elsewhere.status, 404)
  const badPartition = await post({ authorization: `Bearer ${token}` }, { partition: 50 })
  assert.equal(badPartition.status, 400)
  assert.equal((await get('/api/auth', { method: 'POST', headers: { authorization: `Bearer ${token}` } })).status, 200)
})

test('groups with lag; overview; anomalies and their source; SSE streams; health and metrics', async () => {
  // the enrich group has offsets once enrich committed its first batch, which on a busy machine
  // can come after the tests before this one
  type Group = { id: string; partitions: { lag: number }[] }
  let groups = await get('/api/groups')
  const enrichOf = () => (groups.body.groups as Group[]).find((g) => g.id.includes('enrich'))
  for (const deadline = Date.now() + 60_000; (enrichOf()?.partitions.length ?? 0) === 0 && Date.now() < deadline; ) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    groups = await get('/api/groups')
  }
  assert.equal(groups.status, 200)
  const enrich = enrichOf()
  assert.ok(enrich, JSON.stringify((groups.body.groups as Group[]).map((g) => g.id)))
  assert.ok(enrich.partitions.length > 0)
  assert.ok(enrich.partitions.every((p: { lag: number }) => p.lag >= 0))
  assert.equal((await get(`/api/groups/${encodeURIComponent(enrich.id)}/lag`)).status, 200)
  assert.equal((await get('/api/groups/no-such-group/lag')).status, 404)

  const overview = await get('/api/overview')
  assert.equal(overview.status, 200)
  assert.ok(Array.isArray(overview.body.services))
  assert.ok('history' in overview.body)

  const anomalies = await get('/api/anomalies?limit=5')
  assert.equal(anomalies.status, 200)
  assert.ok(anomalies.body.anomalies.length <= 5)
  assert.equal((await get('/api/anomalies?limit=5000')).status, 400)
  assert.equal((await get('/api/anomalies?limit=-1')).status, 400)
  const one = anomalies.body.anomalies[0]
  if (one) {
    const source = await get(`/api/anomalies/${one.partition}/${one.offset}/source`)
    assert.equal(source.status, 200, JSON.stringify(source.body))
    assert.equal(source.body.source.topic, raw)
    const record = await get(`/api/topics/${raw}/messages/${source.body.source.partition}/${source.body.source.offset}`)
    assert.equal(JSON.parse(record.body.value).transaction_id, one.event.id)
  }
  assert.equal((await get('/api/anomalies/0/99999999/source')).status, 404)

  const controller = new AbortController()
  const stream = await fetch(`${base}/api/overview/stream`, { signal: controller.signal })
  assert.equal(stream.headers.get('content-type'), 'text/event-stream; charset=utf-8')
  const reader = stream.body!.getReader()
  let text = ''
  while (!text.includes('event: overview')) text += new TextDecoder().decode((await reader.read()).value)
  controller.abort()

  const health = await get('/health')
  assert.equal(health.status, 200)
  assert.equal(health.body.service, 'console')
  assert.match(String((await get('/metrics')).body), /process_cpu/)
  const unknown = await get('/api/nosuch')
  assert.equal(unknown.status, 404)
})
