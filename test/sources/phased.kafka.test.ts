import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { test } from 'node:test'
import { PhasedGenerator } from '../../src/core/sources/phased.ts'
import { cleanEnv, root, runCli } from '../helpers/cli.ts'
import { deleteTopics, readTopic, testBrokers, uniqueName } from '../helpers/kafka.ts'

function env(prefix: string): NodeJS.ProcessEnv {
  return cleanEnv({ LOOKOUT_BROKERS: testBrokers().join(','), LOOKOUT_TOPICS_PREFIX: prefix, LOOKOUT_SOURCE_PORT: '0' })
}

test('phased restarted mid-stream continues the same users running averages', async (t) => {
  const prefix = `${uniqueName('phased')}.`
  const topic = `${prefix}raw-transactions`
  t.after(() => deleteTopics([topic, `${prefix}phase-transitions`]))
  for (const count of ['1500', '1000']) {
    const result = await runCli(['produce', 'phased', '--seed', '7', '--count', count, '--rate', 'max'], {
      env: env(prefix),
    })
    assert.equal(result.code, 0, result.stderr)
  }
  const records = (await readTopic(topic, { count: 2500 })).map((r) => JSON.parse(r.value) as Record<string, unknown>)
  assert.equal(records.length, 2500)
  records.sort((a, b) => Number(a.event_number) - Number(b.event_number))
  const uninterrupted = new PhasedGenerator({ seed: 7 })
  for (let n = 0; n < 2500; n++) {
    const expected = uninterrupted.next(0)
    const got = records[n]!
    assert.equal(got.event_number, n, 'no event number is repeated or skipped')
    assert.equal(got.user_id, expected.user_id)
    assert.equal(got.user_avg_amount, expected.user_avg_amount, `user average of event ${n}`)
    assert.equal(got.amount_vs_user_avg, expected.amount_vs_user_avg)
    assert.equal(got.anomaly_label, expected.anomaly_label)
  }
})

test('phased: SIGINT stops cleanly and the summary accounts for every event in the topic', async (t) => {
  const prefix = `${uniqueName('phased')}.`
  const topic = `${prefix}raw-transactions`
  t.after(() => deleteTopics([topic, `${prefix}phase-transitions`]))
  const child = spawn(process.execPath, [resolve(root, 'src/cli/main.ts'), 'produce', 'phased', '--rate', '20000'], {
    cwd: root,
    env: env(prefix),
  })
  t.after(() => child.kill('SIGKILL'))
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => {
    stdout += chunk
  })
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  // stop it while it is sending: after the first progress line
  const deadline = Date.now() + 30_000
  while (!/produced \d+ events/.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
  assert.match(stderr, /produced \d+ events/)
  child.kill('SIGINT')
  const code = await new Promise<number | null>((done) => child.on('close', done))
  assert.equal(code, 0, stderr)
  assert.match(stderr, /SIGINT: stopping, flushing in-flight messages/)
  const field = (name: string) => Number(new RegExp(`^\\s+${name}\\s+(\\d+)`, 'm').exec(stdout)?.[1])
  const generated = field('generated')
  const sent = field('sent')
  const failed = field('failed')
  assert.ok(generated >= 5000, stdout)
  assert.equal(sent + failed, generated, 'every generated event is sent or failed')
  assert.equal(failed, 0)
  assert.match(stdout, /stopped by signal/)
  const records = await readTopic(topic, { count: sent, timeoutMs: 15_000 })
  assert.equal(records.length, sent, 'the topic holds exactly the events the summary reports as sent')
  // nothing arrives after the reported total
  const again = await readTopic(topic, { timeoutMs: 2_000 })
  assert.equal(again.length, sent)
})

test('phased serves /health and /metrics with the source metrics while it runs', async (t) => {
  const prefix = `${uniqueName('phased')}.`
  t.after(() => deleteTopics([`${prefix}raw-transactions`, `${prefix}phase-transitions`]))
  const child = spawn(process.execPath, [resolve(root, 'src/cli/main.ts'), 'produce', 'phased', '--rate', '2000'], {
    cwd: root,
    env: env(prefix),
  })
  let stderr = ''
  child.stderr.on('data', (chunk) => {
    stderr += chunk
  })
  t.after(() => child.kill('SIGKILL'))
  const deadline = Date.now() + 30_000
  while (!/serves \/health and \/metrics port=\d+/.test(stderr) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50))
  const port = /serves \/health and \/metrics port=(\d+)/.exec(stderr)?.[1]
  assert.ok(port, stderr)
  await new Promise((r) => setTimeout(r, 1_500))
  const health = await fetch(`http://127.0.0.1:${port}/health`)
  assert.equal(health.status, 200)
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  for (const name of [
    'events_produced_total',
    'events_failed_total',
    'current_phase',
    'anomaly_label_rate',
    'events_produce_rate',
  ]) {
    assert.match(metrics, new RegExp(`^${name}\\{service="produce-phased"\\} [\\d.e+-]+$`, 'm'), name)
  }
  assert.ok(Number(/^events_produced_total\{[^}]*\} (\d+)/m.exec(metrics)?.[1]) > 0)
  child.kill('SIGTERM')
  const code = await new Promise<number | null>((done) => child.on('close', done))
  assert.equal(code, 0)
})
