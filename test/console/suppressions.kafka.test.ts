// The whole feedback loop of alert suppression, seen in a real browser (playwright-core driving
// Debian's Chromium): anomalies → the alert service raises alerts → the console stores them →
// an analyst marks three of one entity's alerts false positive through the console (labels
// topic) → the alert service suppresses the entity → its next anomaly raises no alert, counted
// → the console's suppressions API and the panel on the Live anomalies page show the entity.
// Screenshot: docs/console/suppressions.png (with LOOKOUT_UPDATE_SCREENSHOTS=1).
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { resolve } from 'node:path'
import { after, test } from 'node:test'
import type { SuppressionRecord } from '../../src/core/suppression.ts'
import { type RunningService, startService } from '../../src/services/run.ts'
import { launchBrowser, screenshots } from '../helpers/browser.ts'
import { anomalyOf, eventually, metric, send } from '../helpers/feedback.ts'
import { deleteTopicsWithPrefix, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'

declare const document: {
  querySelectorAll(
    selector: string,
  ): Iterable<{ textContent: string | null; lastElementChild: { textContent: string | null } | null }>
}

const shots = screenshots('suppression')
const context = testContext()
const token = 'suppression-test-token-0123456789'
const dataDir = mkdtempSync(resolve(tmpdir(), 'lookout-suppressions-'))
after(async () => {
  await deleteTopicsWithPrefix(context.topicPrefix)
  rmSync(dataDir, { recursive: true, force: true })
  shots.remove()
})

test('false-positive marks made in the console suppress the entity, and the console shows it', async () => {
  await ensurePipelineTopics(context)
  const config = serviceConfig({
    'topics.prefix': context.topicPrefix,
    dataDir,
    'console.port': 0,
    'console.token': token,
    'alert.dedupWindowSeconds': 0,
    'alert.maxPerEntityPerHour': 1_000,
    'alert.suppressAfterFalsePositives': 3,
    'alert.suppressForSeconds': 3_600,
  })
  const services: RunningService[] = []
  const browser = await launchBrowser()
  try {
    for (const name of ['alert', 'console'] as const) services.push(await startService(name, config, context))
    const [alert, console_] = services as [RunningService, RunningService]
    const base = `http://127.0.0.1:${console_.port}`
    const entity = 'user_0731'
    await send(context, 'anomalies', [
      ...['tx-1', 'tx-2', 'tx-3'].map((id): [string, string] => [entity, JSON.stringify(anomalyOf(entity, id))]),
      ['user_0100', JSON.stringify(anomalyOf('user_0100', 'tx-4'))],
    ])
    // the alerts reach the console's store
    const stored = await eventually(
      async () => ((await (await fetch(`${base}/api/alerts?entity=${entity}`)).json()) as { total: number }).total,
      (total) => total === 3,
    )
    assert.equal(stored, 3)
    const none = (await (await fetch(`${base}/api/suppressions`)).json()) as { suppressions: SuppressionRecord[] }
    assert.deepEqual(none.suppressions, [])

    // an analyst marks the three false positive, through the console (each mark a label record)
    const marked = await fetch(`${base}/api/alerts/actions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        ids: ['tx-1', 'tx-2', 'tx-3'],
        action: 'false_positive',
        by: 'ana',
        comment: 'known merchant',
      }),
    })
    assert.equal(marked.status, 200)
    assert.equal(((await marked.json()) as { done: number }).done, 3)

    const suppressions = await eventually(
      async () =>
        ((await (await fetch(`${base}/api/suppressions`)).json()) as { suppressions: SuppressionRecord[] })
          .suppressions,
      (list) => list.length > 0,
    )
    assert.equal(suppressions.length, 1)
    const [suppression] = suppressions as [SuppressionRecord]
    assert.equal(suppression.entity, entity)
    assert.equal(suppression.falsePositives, 3)
    assert.deepEqual([...suppression.eventIds].sort(), ['tx-1', 'tx-2', 'tx-3'])
    assert.equal(Date.parse(suppression.until) - Date.parse(suppression.since), 3_600_000)

    // the entity's next anomaly raises no alert; it is counted
    await send(context, 'anomalies', [[entity, JSON.stringify(anomalyOf(entity, 'tx-5'))]])
    await eventually(
      () => metric(alert.port, 'alert_suppressed_by_feedback_total'),
      (count) => count === 1,
    )
    assert.equal(await metric(alert.port, 'alert_suppressed_by_feedback_total'), 1)

    // the Live anomalies page lists the suppression
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 800 } })).newPage()
    page.setDefaultTimeout(60_000)
    await page.goto(`${base}/#/anomalies`)
    const row = page.getByTestId('suppression').filter({ hasText: entity })
    await row.waitFor()
    // refreshed every 5 s: it comes to show the alert held back
    await page.waitForFunction(
      (name) =>
        [...document.querySelectorAll('[data-testid="suppression"]')].some(
          (tr) => tr.textContent?.includes(name) && tr.lastElementChild?.textContent === '1',
        ),
      entity,
    )
    const cells = await row.locator('td').allTextContents()
    assert.deepEqual(cells, [
      entity,
      suppression.since.replace('T', ' ').slice(0, 19),
      suppression.until.replace('T', ' ').slice(0, 19),
      '3',
      '1',
    ])
    assert.equal(await page.getByTestId('suppression').count(), 1, 'only the marked entity')
    await page.getByTestId('suppressions').screenshot({ path: resolve(shots.dir, 'suppressions.png') })
  } finally {
    await browser.close()
    for (const service of services.reverse()) await service.stop()
  }
})
