// The console end to end in a real browser (playwright-core driving Debian's Chromium): the
// phased source through enrich → score → alert on the real broker; the overview shows
// throughput, anomalies arrive live, one opened leads to its source message, a topic is browsed
// and a message found by key, a hostile message renders as inert text, re-produce needs the
// token. It takes a screenshot of each page (docs/console/ with LOOKOUT_UPDATE_SCREENSHOTS=1).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { resolve } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { createProducer } from '../../src/kafka/producer.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { phasedSource } from '../../src/sources/phased.ts'
import { runSourceCommand } from '../../src/sources/source.ts'
import { launchBrowser, screenshots } from '../helpers/browser.ts'
import { deleteTopicsWithPrefix, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'

// the page's globals, used by the functions that run in the browser
declare const document: {
  querySelector(selector: string): { textContent: string | null } | null
  querySelectorAll(selector: string): { length: number }
}
declare const window: { __pwned?: number }

// the README's screenshots are refreshed with LOOKOUT_UPDATE_SCREENSHOTS=1; other runs keep theirs in a temporary directory
const shots = screenshots('console')
const context = testContext()
// the console's alert store (SQLite) and the trainer's models live here
const dataDir = mkdtempSync(resolve(tmpdir(), 'lookout-console-browser-'))
const token = 'browser-test-token-0123456789'
const raw = topicName(context.topicPrefix, 'rawTransactions')
const evilKey = 'evil-user'
const evilValue = JSON.stringify({
  kind: 'note',
  note: '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">',
})

const services: RunningService[] = []
let consoleService: RunningService
let browser: Browser
let page: Page
let base = ''
const source = new AbortController()
let sourceRun: Promise<unknown> | undefined
const dialogs: string[] = []
const violations: string[] = []

before(async () => {
  browser = await launchBrowser()
  await ensurePipelineTopics(context)
  const base_ = { 'topics.prefix': context.topicPrefix, 'source.port': 0, dataDir }
  const pipelineConfig = serviceConfig(base_)
  for (const name of ['enrich', 'score', 'alert'] as const)
    services.push(await startService(name, pipelineConfig, context))
  const ports = Object.fromEntries(services.map((s) => [`${s.name}.port`, s.port]))
  const consoleConfig = serviceConfig({ ...base_, ...ports, 'console.port': 0, 'console.token': token })
  consoleService = await startService('console', consoleConfig, context)
  base = `http://127.0.0.1:${consoleService.port}`

  const producer = createProducer(context, { name: 'browser-test' })
  await producer.send({
    messages: [
      { topic: raw, key: Buffer.from(evilKey), value: Buffer.from(evilValue), headers: { origin: '<b>bold</b>' } },
    ],
  })
  await producer.close()
  const sourceConfig = serviceConfig({ ...base_, 'source.rate': 400, 'source.seed': 5 })
  sourceRun = runSourceCommand(phasedSource, sourceConfig, {
    brokers: async () => context.brokers,
    signal: source.signal,
    write: () => {},
  })

  const browserContext = await browser.newContext({ viewport: { width: 1400, height: 900 } })
  await browserContext.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
  page = await browserContext.newPage()
  // the machine may be busy with other suites: waits are generous, the run is still ~30 s when it is not
  page.setDefaultTimeout(60_000)
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text())
  })
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message())
    void dialog.dismiss()
  })
})

after(async () => {
  await browser?.close()
  source.abort()
  await sourceRun?.catch(() => {})
  await consoleService?.stop()
  for (const service of services.reverse()) await service.stop()
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
  shots.remove()
})

const number = (text: string | null) => Number((text ?? '').replace(/[^0-9.]/g, '') || 'NaN')

test('the overview shows throughput, latency, the phase and every service up', async () => {
  await page.goto(base)
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="input-rate"]')?.textContent?.replace(/[^0-9.]/g, '')) > 0,
    undefined,
    { timeout: 60_000 },
  )
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="services"] li.up').length >= 3, undefined, {
    timeout: 60_000,
  })
  await page.waitForSelector('[data-testid="throughput-chart"] canvas')
  // for the screenshot: scores flowing and a few throughput samples
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="scored-rate"]')?.textContent?.replace(/[^0-9.]/g, '')) > 0,
    undefined,
    { timeout: 60_000 },
  )
  await new Promise((done) => setTimeout(done, 6_000))
  assert.equal(await page.textContent('[data-testid="phase"]'), 'normal')
  await page.screenshot({ path: resolve(shots.dir, 'overview.png'), fullPage: true })
})

test('anomalies arrive live; one opened shows its features and leads to its source message', async () => {
  await page.goto(`${base}/#/anomalies`)
  // an anomaly that arrived over the stream (the page's update latency is measured on arrival)
  await page.waitForFunction(
    () => /\d/.test(document.querySelector('[data-testid="update-latency"]')?.textContent ?? ''),
    undefined,
    { timeout: 60_000 },
  )
  const latency = number(await page.textContent('[data-testid="update-latency"]'))
  assert.ok(latency < 5_000, `page updated ${latency} ms after scoring`)
  await page.click('[data-testid="anomaly"]')
  await page.waitForSelector('[data-testid="source-link"]')
  await page.waitForSelector('[data-testid="features"] tbody tr')
  await page.screenshot({ path: resolve(shots.dir, 'anomalies.png') })
  const id = (await page.textContent('[data-testid="anomaly-detail"] h2'))!.split(' ')[1]!
  await page.click('[data-testid="source-link"]')
  await page.waitForSelector('.message.highlighted [data-testid="message-value"]')
  const value = await page.textContent('.message.highlighted [data-testid="message-value"]')
  assert.equal(JSON.parse(value!).transaction_id, id)
})

test('topics are listed; a topic is browsed, filtered and searched by key; a hostile message stays text', async () => {
  await page.goto(`${base}/#/topics`)
  await page.waitForSelector(`[data-testid="topics"] a[href="#/topics/${raw}"]`)
  await page.screenshot({ path: resolve(shots.dir, 'topics.png') })
  await page.click(`[data-testid="topics"] a[href="#/topics/${raw}"]`)
  await page.waitForSelector('[data-testid="partitions"] tbody tr')
  await page.waitForSelector('[data-testid="message"]')

  await page.fill('input[name="filter"]', 'amount >')
  await page.click('form.browse button[type="submit"] >> text=Browse')
  await page.waitForSelector('[data-testid="browse-error"]')
  assert.match((await page.textContent('[data-testid="browse-error"]'))!, /invalid filter/)
  await page.fill('input[name="filter"]', 'amount > 100 and kind == "transaction"')
  await page.click('form.browse button[type="submit"] >> text=Browse')
  await page.waitForSelector('[data-testid="searched"]')
  await page.waitForFunction(() => document.querySelector('[data-testid="browse-error"]') === null)
  const values = await page.$$eval('[data-testid="message-value"]', (nodes) => nodes.map((n) => n.textContent ?? ''))
  assert.ok(values.length > 0, (await page.textContent('[data-testid="searched"]')) ?? '')
  assert.ok(
    values.every((v) => JSON.parse(v).amount > 100),
    values.map((v) => JSON.parse(v).amount).join(','),
  )

  await page.fill('input[name="filter"]', '')
  await page.fill('input[name="key"]', evilKey)
  await page.click('text=Find by key')
  await page.waitForFunction(
    () => document.querySelector('[data-testid="searched"]')?.textContent?.includes('hashes to partition') === true,
  )
  const searched = (await page.textContent('[data-testid="searched"]'))!
  assert.match(searched, /1 found/)
  const shown = await page.textContent('[data-testid="message-value"]')
  assert.ok(shown!.includes('<script>window.__pwned = 1</script>'), shown!)
  assert.ok(shown!.includes('<img src=x onerror='))
  assert.equal(await page.$$eval('[data-testid="messages"] img, [data-testid="messages"] script', (n) => n.length), 0)
  assert.equal(await page.evaluate(() => window.__pwned), undefined)
  assert.match((await page.textContent('.message .headers'))!, /<b>bold<\/b>/)
  assert.deepEqual(dialogs, [])
  assert.deepEqual(violations, [], 'the page itself needs nothing the Content-Security-Policy refuses')
  await page.screenshot({ path: resolve(shots.dir, 'messages.png'), fullPage: false })

  // re-produce: refused without the token, done with it
  await page.click('[data-testid="reproduce"]')
  await page.waitForFunction(() =>
    /failed/.test(document.querySelector('[data-testid="message-status"]')?.textContent ?? ''),
  )
  assert.match((await page.textContent('[data-testid="message-status"]'))!, /needs the console token/)
  await page.fill('input[aria-label="console token"]', token)
  await page.click('text=Use token')
  await page.waitForFunction(
    () => document.querySelector('[data-testid="token-state"]')?.textContent === 'write access',
  )
  await page.click('[data-testid="reproduce"]')
  await page.waitForFunction(() =>
    /re-produced to/.test(document.querySelector('[data-testid="message-status"]')?.textContent ?? ''),
  )
  // the original and its copy: searched again until the copy is readable (a search is a
  // snapshot of the partition; under load it can run before the copy's commit is visible)
  const deadline = Date.now() + 60_000
  for (;;) {
    await page.click('text=Find by key')
    const found = await page
      .waitForFunction(() => /2 found/.test(document.querySelector('[data-testid="searched"]')?.textContent ?? ''), {
        timeout: 5_000,
      })
      .then(() => true)
      .catch(() => false)
    if (found) break
    assert.ok(Date.now() < deadline, (await page.textContent('[data-testid="searched"]')) ?? '')
  }
})

test('consumer groups show lag per partition in records and seconds', async () => {
  await page.goto(`${base}/#/groups`)
  await page.waitForSelector('[data-testid="groups"] tbody tr')
  const ids = await page.$$eval('[data-testid="groups"] tbody tr td:first-child', (n) => n.map((x) => x.textContent))
  assert.ok(
    ids.some((id) => id?.includes('enrich')),
    ids.join(','),
  )
  await page.click('[data-testid="groups"] tbody tr:has-text("enrich")')
  await page.waitForSelector('table.inner tbody tr')
  await page.screenshot({ path: resolve(shots.dir, 'groups.png') })
})
