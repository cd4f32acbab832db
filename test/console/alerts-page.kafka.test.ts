// The alerts page in a real browser (playwright-core driving Debian's Chromium) against the
// console service on the real broker, its alert store in SQLite: alerts raised to the `alerts`
// topic are listed and filtered; acknowledging one fails without the token and works with it,
// with who and the comment in its audit trail; a false-positive mark made in the page is a label
// record on the `labels` topic; a selection is resolved at once. Screenshot: docs/console/alerts.png
// (with LOOKOUT_UPDATE_SCREENSHOTS=1).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { resolve } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import type { Alert, AlertSeverity } from '../../src/core/alerts.ts'
import { decodeLabel } from '../../src/core/feedback.ts'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { testAlert } from '../helpers/alerts.ts'
import { launchBrowser, screenshots } from '../helpers/browser.ts'
import { deleteTopicsWithPrefix, readTopic, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'

declare const document: {
  querySelector(selector: string): { textContent: string | null } | null
  querySelectorAll(selector: string): { length: number }
}

const shots = screenshots('alerts')
const context = testContext()
const token = 'alerts-page-token-0123456789'
const dataDir = mkdtempSync(resolve(tmpdir(), 'lookout-alerts-page-'))
let console_: RunningService
let browser: Browser
let page: Page
let base = ''

// alerts as the alert service raises them, over the last half hour
const reasons = [
  ['rule amount_over_5x_user_avg', 'rule night_over_500', 'amount_vs_user_avg (41%)'],
  ['rule location_and_device_unknown', 'location_match (35%)', 'device_known (22%)'],
  ['amount_robust_zscore (38%)', 'hour_of_day (17%)', 'merchant_risk (9%)'],
  ['rule over_10_tx_last_hour', 'tx_count_last_minute (44%)'],
  ['rule high_risk_merchant_over_1000', 'merchant_risk (31%)', 'amount (12%)'],
]
const severities: AlertSeverity[] = ['critical', 'high', 'medium', 'high', 'critical']
const now = Date.now()
const alerts: (Alert & { raisedAt: number })[] = Array.from({ length: 24 }, (_, i) => {
  const eventTime = now - (24 - i) * 75_000
  return {
    ...testAlert(`tx-${String(90_412 + i * 37)}`, {
      entity: i === 23 ? 'user_0417' : `user_${String(100 + ((i * 53) % 400)).padStart(4, '0')}`,
      severity: severities[i % 5]!,
      score: 0.999 + (i % 7) / 7_000,
      eventTime,
      producedAt: eventTime + 40,
      amount: Math.round(50 + ((i * 7919) % 4_000)),
      reasons: reasons[i % 5]!,
      rules: reasons[i % 5]!.filter((r) => r.startsWith('rule ')).map((r) => r.slice(5)),
      modelVersion: 'transaction-v3',
    }),
    raisedAt: eventTime + 300,
  }
})
const byId = (id: string) => alerts.find((a) => a.id === id)!

before(async () => {
  browser = await launchBrowser()
  await ensurePipelineTopics(context)
  const producer = createProducer(context, { name: 'alerts-page-test' })
  await producer.send({
    messages: alerts.map(({ raisedAt, ...alert }) => ({
      topic: topicName(context.topicPrefix, 'alerts'),
      key: Buffer.from(alert.entity),
      value: Buffer.from(JSON.stringify(alert)),
      timestamp: BigInt(raisedAt),
    })),
  })
  await producer.close()
  console_ = await startService(
    'console',
    serviceConfig({ 'topics.prefix': context.topicPrefix, 'console.port': 0, 'console.token': token, dataDir }),
    context,
  )
  base = `http://127.0.0.1:${console_.port}`
  page = await (await browser.newContext({ viewport: { width: 1500, height: 920 } })).newPage()
  page.setDefaultTimeout(60_000)
})

after(async () => {
  await browser?.close()
  await console_?.stop()
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
  shots.remove()
})

async function stored(id: string) {
  return (await fetch(`${base}/api/alerts/${id}`)).json() as Promise<{
    state: string
    verdict: string | null
    actions: { action: string; by: string; comment: string }[]
  }>
}

async function openAlert(id: string) {
  await page.click(`[data-testid="alert"][data-id="${id}"]`)
  await page.waitForFunction(
    (want) => document.querySelector('[data-testid="alert-detail"] h2')?.textContent?.endsWith(want) === true,
    id,
  )
}

test('the alerts raised are listed newest first, and filtered by severity and entity', async () => {
  await page.goto(`${base}/#/alerts`)
  await page.waitForFunction(() =>
    /of 24$/.test(document.querySelector('[data-testid="alerts-range"]')?.textContent ?? ''),
  )
  const ids = await page.$$eval('[data-testid="alert"]', (rows) => rows.map((r) => r.getAttribute('data-id')))
  assert.deepEqual(ids, alerts.map((a) => a.id).reverse())
  await page.selectOption('select[name="severity"]', 'critical')
  await page.click('form[data-testid="alert-filters"] button[type="submit"]')
  await page.waitForFunction(() =>
    /of 9$/.test(document.querySelector('[data-testid="alerts-range"]')?.textContent ?? ''),
  )
  const shown = await page.$$eval('[data-testid="alert"] .badge[class*="severity-"]', (b) =>
    b.map((x) => x.textContent),
  )
  assert.deepEqual(shown, Array(9).fill('critical'))
  await page.selectOption('select[name="severity"]', '')
  await page.fill('input[name="entity"]', 'user_0417')
  await page.click('form[data-testid="alert-filters"] button[type="submit"]')
  await page.waitForFunction(() =>
    /of 1$/.test(document.querySelector('[data-testid="alerts-range"]')?.textContent ?? ''),
  )
  await page.fill('input[name="entity"]', '')
  await page.click('form[data-testid="alert-filters"] button[type="submit"]')
  await page.waitForFunction(() =>
    /of 24$/.test(document.querySelector('[data-testid="alerts-range"]')?.textContent ?? ''),
  )
})

test('acknowledge: refused without the token, done with it, with who and the comment in the audit trail', async () => {
  const id = alerts[20]!.id
  await page.fill('input[name="analyst"]', 'Ana Analyst')
  await openAlert(id)
  await page.fill('textarea[name="comment"]', 'calling the customer')
  await page.click('[data-testid="alert-detail"] button[data-action="acknowledge"]')
  await page.waitForFunction(() =>
    /^failed/.test(document.querySelector('[data-testid="action-status"]')?.textContent ?? ''),
  )
  assert.match((await page.textContent('[data-testid="action-status"]'))!, /needs the console token/)
  assert.equal((await stored(id)).state, 'open', 'nothing changed without the token')

  await page.fill('input[aria-label="console token"]', token)
  await page.click('text=Use token')
  await page.waitForFunction(
    () => document.querySelector('[data-testid="token-state"]')?.textContent === 'write access',
  )
  await page.click('[data-testid="alert-detail"] button[data-action="acknowledge"]')
  await page.waitForFunction(() =>
    /done$/.test(document.querySelector('[data-testid="action-status"]')?.textContent ?? ''),
  )
  assert.match((await page.textContent('[data-testid="alert-state"]'))!, /acknowledged/)
  await page.waitForSelector('[data-testid="audit"] tbody tr')
  const trail = await page.textContent('[data-testid="audit"] tbody tr')
  assert.match(trail!, /Ana Analyst.*Acknowledge.*open → acknowledged.*calling the customer/)
  assert.equal(await page.isDisabled('[data-testid="alert-detail"] button[data-action="acknowledge"]'), true)
  const after_ = await stored(id)
  assert.equal(after_.state, 'acknowledged')
  assert.deepEqual(
    after_.actions.map((a) => [a.action, a.by, a.comment]),
    [['acknowledge', 'Ana Analyst', 'calling the customer']],
  )
})

test('a false-positive mark in the page is a label record on the labels topic', async () => {
  const alert = byId(alerts[23]!.id)
  await openAlert(alert.id)
  await page.fill('textarea[name="comment"]', 'customer confirmed: travelling')
  await page.click('[data-testid="alert-detail"] button[data-action="false_positive"]')
  await page.waitForFunction(() =>
    /done$/.test(document.querySelector('[data-testid="action-status"]')?.textContent ?? ''),
  )
  assert.match((await page.textContent('[data-testid="alert-state"]'))!, /resolved.*false positive/)
  const records = await readTopic(topicName(context.topicPrefix, 'labels'), { count: 1, timeoutMs: 20_000 })
  assert.equal(records.length, 1)
  assert.equal(records[0]!.key, alert.entity)
  const label = decodeLabel(records[0]!.value)
  assert.deepEqual(
    { ...label, at: undefined },
    {
      eventId: alert.id,
      entity: 'user_0417',
      label: 0,
      by: 'Ana Analyst',
      at: undefined,
      alertId: alert.id,
      comment: 'customer confirmed: travelling',
    },
  )
  assert.ok(Math.abs(Date.parse(label.at) - Date.now()) < 60_000)
  await page.screenshot({ path: resolve(shots.dir, 'alerts.png') })
})

test('a selection is resolved at once; the refused ones are named', async () => {
  await page.selectOption('select[name="state"]', 'open,acknowledged')
  await page.selectOption('select[name="severity"]', 'medium')
  await page.click('form[data-testid="alert-filters"] button[type="submit"]')
  await page.waitForFunction(() =>
    /of 5$/.test(document.querySelector('[data-testid="alerts-range"]')?.textContent ?? ''),
  )
  const ids = await page.$$eval('[data-testid="alert"]', (rows) => rows.map((r) => r.getAttribute('data-id')!))
  await page.check('input[aria-label="select all shown"]')
  await page.waitForFunction(
    () => document.querySelector('[data-testid="selected-count"]')?.textContent === '5 selected',
  )
  // one of them is resolved elsewhere meanwhile: the bulk action names it and does the others
  const response = await fetch(`${base}/api/alerts/${ids[0]}/actions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ action: 'resolve', by: 'Bo' }),
  })
  assert.equal(response.status, 200)
  await page.fill('input[name="bulk-comment"]', 'night batch job, known')
  await page.click('.bulk button[data-action="resolve"]')
  await page.waitForFunction(() =>
    /^Resolve: 4 done/.test(document.querySelector('[data-testid="bulk-status"]')?.textContent ?? ''),
  )
  assert.match(
    (await page.textContent('[data-testid="bulk-status"]'))!,
    new RegExp(`refused: ${ids[0]} \\(cannot resolve`),
  )
  for (const id of ids.slice(1)) {
    const after_ = await stored(id)
    assert.equal(after_.state, 'resolved', id)
    assert.deepEqual(after_.actions.at(-1), {
      ...after_.actions.at(-1),
      by: 'Ana Analyst',
      comment: 'night batch job, known',
    })
  }
  await page.waitForFunction(() =>
    /of 0$/.test(document.querySelector('[data-testid="alerts-range"]')?.textContent ?? ''),
  )
})
