// The drift and models page and the windows page in a real browser (playwright-core driving
// Debian's Chromium) over the real broker: the phased source through enrich → score, payments
// through aggregate, two model versions from the trainer's code. Promote is refused without the
// token and with a wrong one, then done with it, and the promotion appears on the timeline; the
// rollback too. The windows page shows the aggregate service's results as the API gives them.
// Screenshots of both pages (docs/console/ with LOOKOUT_UPDATE_SCREENSHOTS=1).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, test } from 'node:test'
import type { Browser, Page } from 'playwright-core'
import { type RunningService, startService } from '../../src/services/run.ts'
import { paymentsSource } from '../../src/sources/payments.ts'
import { phasedSource } from '../../src/sources/phased.ts'
import { runSourceCommand } from '../../src/sources/source.ts'
import { launchBrowser, screenshots } from '../helpers/browser.ts'
import { deleteTopicsWithPrefix, testContext } from '../helpers/kafka.ts'
import { publishTwoModels } from '../helpers/models.ts'
import { ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'

// the page's globals, used by the functions that run in the browser
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(name: string): string | null } | null
  querySelectorAll(selector: string): { length: number }
}

const context = testContext()
const token = 'models-browser-token-0123456789'
const dataDir = mkdtempSync(join(tmpdir(), 'lookout-console-models-'))
const shots = screenshots('models')
const services: RunningService[] = []
const source = new AbortController()
let sourceRun: Promise<unknown> | undefined
let browser: Browser
let page: Page
let base = ''
const violations: string[] = []
const pageErrors: string[] = []

before(async () => {
  browser = await launchBrowser()
  await ensurePipelineTopics(context)
  const config = serviceConfig({
    'topics.prefix': context.topicPrefix,
    dataDir,
    'aggregate.port': 0,
    'source.port': 0,
    'models.shadowMinLabelled': 10_000_000,
  })
  for (const name of ['enrich', 'score', 'aggregate'] as const) services.push(await startService(name, config, context))
  await publishTwoModels(context, dataDir)
  await runSourceCommand(
    paymentsSource,
    serviceConfig({ ...config, 'source.rate': 1_000, 'source.count': 1_000, 'source.seed': 4 }),
    { brokers: async () => context.brokers, write: () => {} },
  )
  sourceRun = runSourceCommand(phasedSource, serviceConfig({ ...config, 'source.rate': 300, 'source.seed': 6 }), {
    brokers: async () => context.brokers,
    signal: source.signal,
    write: () => {},
  })
  const ports = Object.fromEntries(services.map((s) => [`${s.name}.port`, s.port]))
  services.push(
    await startService(
      'console',
      serviceConfig({ ...config, ...ports, 'console.port': 0, 'console.token': token }),
      context,
    ),
  )
  base = `http://127.0.0.1:${services.at(-1)!.port}`
  page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage()
  page.setDefaultTimeout(60_000)
  page.on('pageerror', (error) => {
    pageErrors.push(error.message)
    process.stderr.write(`page error: ${error.message}\n`)
  })
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) violations.push(message.text())
  })
})

after(async () => {
  await browser?.close()
  source.abort()
  await sourceRun?.catch(() => {})
  for (const service of services.reverse()) await service.stop()
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
  shots.remove()
})

const rowState = (version: string) =>
  page.getAttribute(`[data-testid="models"] tr[data-version="${version}"]`, 'data-state')

/** Waits until the models table shows `version` in `state` (the table refreshes after an action's answer). */
const waitForRow = (version: string, state: string) =>
  page.waitForSelector(`[data-testid="models"] tr[data-version="${version}"][data-state="${state}"]`)

const waitForEvent = (type: string, text: string) =>
  page.waitForSelector(`[data-testid="timeline-events"] tr[data-type="${type}"]:has-text("${text}")`)

test('drift and models: promote refused without the token, done with it, rolled back; both on the timeline', async () => {
  await page.goto(`${base}/#/models`)
  await page.waitForSelector('[data-testid="models"] tr[data-version="transaction-v2"][data-state="shadow"]')
  assert.equal(await rowState('transaction-v1'), 'live')
  await waitForEvent('version', 'transaction-v2 trained')
  await waitForEvent('shadow', 'transaction-v2 scores in shadow')
  await waitForEvent('promotion', 'transaction-v1 promoted to live')
  // the score timeline fills as the phased source is scored
  await page.waitForFunction(
    () => Number(document.querySelector('[data-testid="score-timeline"]')?.getAttribute('data-points') ?? 0) >= 2,
  )
  const eventsBefore = Number(await page.getAttribute('[data-testid="timeline-events"]', 'data-count'))

  // without the token: refused, nothing changes
  await page.click('[data-testid="promote-transaction-v2"]')
  await page.waitForSelector('[data-testid="model-action-status"]:has-text("needs the console token")')
  assert.match((await page.textContent('[data-testid="model-action-status"]'))!, /\(401\)/)
  assert.equal(await rowState('transaction-v2'), 'shadow')
  // a wrong token: refused too
  await page.fill('input[aria-label="console token"]', 'not-the-token-0123456789')
  await page.click('text=Use token')
  await page.waitForSelector('[data-testid="token-state"]:has-text("wrong token")')
  await page.click('[data-testid="promote-transaction-v2"]')
  await page.waitForSelector('[data-testid="model-action-status"]:has-text("wrong console token (403)")')
  assert.equal(await rowState('transaction-v2'), 'shadow')

  await page.fill('input[aria-label="console token"]', token)
  await page.click('text=Use token')
  await page.waitForSelector('[data-testid="token-state"]:has-text("write access")')
  await page.click('[data-testid="promote-transaction-v2"]')
  await page.waitForSelector('[data-testid="model-action-status"]:has-text("transaction-v2 is live for transaction")')
  await waitForRow('transaction-v2', 'live')
  await waitForRow('transaction-v1', 'inactive')
  await waitForEvent('promotion', 'transaction-v2 promoted to live (console promote)')
  assert.ok(Number(await page.getAttribute('[data-testid="timeline-events"]', 'data-count')) > eventsBefore)
  assert.ok(Number(await page.getAttribute('[data-testid="score-timeline"]', 'data-markers')) > eventsBefore)
  await page.screenshot({ path: resolve(shots.dir, 'models.png'), fullPage: true })

  await page.click('[data-testid="rollback-transaction"]')
  await page.waitForSelector(
    '[data-testid="model-action-status"]:has-text("rolled back: transaction-v1 is live for transaction")',
  )
  await waitForRow('transaction-v1', 'live')
  await waitForRow('transaction-v2', 'inactive')
  await waitForEvent('rollback', 'rolled back: transaction-v1 live again (console rollback)')
  // nothing earlier to roll back to: the page says why
  await page.click('[data-testid="rollback-transaction"]')
  await page.waitForSelector('[data-testid="model-action-status"]:has-text("no earlier live transaction model")')
  assert.deepEqual([...violations, ...pageErrors], [])
})

test('windows: the page shows the aggregate service results the API gives', async () => {
  const api = (await (await fetch(`${base}/api/windows/merchant-payments?limit=15`)).json()) as {
    window: { rows: { key: string; values: { count: number; sum: number } }[] } | null
  }
  assert.ok(api.window && api.window.rows.length > 0, 'the aggregate service wrote merchant-payments windows')
  await page.goto(`${base}/#/windows`)
  const rows = '[data-testid="window-rows-merchant-payments"] tbody tr'
  await page.waitForSelector(rows)
  const first = api.window.rows[0]!
  const cells = await page.$$eval(`${rows}:first-child td`, (tds) => tds.map((td) => td.textContent))
  assert.equal(cells[0], first.key)
  assert.equal(cells[1], first.values.count.toLocaleString('en-US'))
  for (const name of ['merchant-payments', 'category-revenue', 'customer-velocity'])
    await page.waitForSelector(`[data-testid="aggregation-${name}"]`)
  await page.waitForSelector('[data-testid="aggregation-category-revenue"] .chart canvas')
  await page.screenshot({ path: resolve(shots.dir, 'windows.png'), fullPage: false })
  assert.deepEqual([...violations, ...pageErrors], [])
})
