// Alert suppression by analyst feedback through the real alert service: false-positive marks on
// the labels topic suppress the entity's next alerts for the period, counted; then they flow
// again; a malformed label is a dead letter with its reason.
import assert from 'node:assert/strict'
import { after, test } from 'node:test'
import { encodeLabel } from '../../src/core/feedback.ts'
import type { SuppressionRecord } from '../../src/core/suppression.ts'
import { topicName } from '../../src/kafka/topics.ts'
import { startService } from '../../src/services/run.ts'
import { anomalyOf, eventually, falsePositive, metric, send } from '../helpers/feedback.ts'
import { deleteTopicsWithPrefix, readTopic, testContext } from '../helpers/kafka.ts'
import { ensurePipelineTopics, serviceConfig } from '../helpers/pipeline.ts'

const context = testContext()
after(() => deleteTopicsWithPrefix(context.topicPrefix))

test('N false-positive marks suppress the entity’s next alerts for the period, counted; then alerts flow again', async () => {
  await ensurePipelineTopics(context)
  const periodSeconds = 10
  const config = serviceConfig({
    'topics.prefix': context.topicPrefix,
    'alert.dedupWindowSeconds': 0,
    'alert.maxPerEntityPerHour': 100_000,
    'alert.suppressAfterFalsePositives': 3,
    'alert.suppressForSeconds': periodSeconds,
  })
  const alertService = await startService('alert', config, context)
  const alertsTopic = topicName(context.topicPrefix, 'alerts')
  const readAlerts = () => readTopic(alertsTopic, { timeoutMs: 1_500 })
  const ids = (records: { value: string }[]) => records.map((r) => JSON.parse(r.value).id as string)
  try {
    // three alerts for the entity, and one for another
    await send(context, 'anomalies', [
      ['noisy', JSON.stringify(anomalyOf('noisy', 'n1'))],
      ['noisy', JSON.stringify(anomalyOf('noisy', 'n2'))],
      ['noisy', JSON.stringify(anomalyOf('noisy', 'n3'))],
      ['quiet', JSON.stringify(anomalyOf('quiet', 'q1'))],
    ])
    let alerts = await eventually(readAlerts, (r) => r.length >= 4)
    assert.deepEqual(new Set(ids(alerts)), new Set(['n1', 'n2', 'n3', 'q1']))

    // an analyst marks the three false positive (one of them twice); and two malformed labels
    const marks = ['n1', 'n2', 'n2', 'n3'].map((id) => falsePositive('noisy', id))
    await send(context, 'labels', [
      ...marks.map((mark): [string, string] => ['noisy', encodeLabel(mark)]),
      ['noisy', JSON.stringify({ ...falsePositive('noisy', 'n1'), label: 'wrong' })],
      ['someone-else', encodeLabel(falsePositive('quiet', 'q1'))],
    ])
    const suppressionsTopic = topicName(context.topicPrefix, 'alertSuppressions')
    const started = await eventually(
      () => readTopic(suppressionsTopic, { timeoutMs: 1_000 }),
      (r) => r.length >= 1,
    )
    assert.equal(started.length, 1, 'one suppression started')
    assert.equal(started[0]!.key, 'noisy')
    assert.equal(started[0]!.headers.get('lookout.suppression'), 'started')
    const suppression = JSON.parse(started[0]!.value) as SuppressionRecord
    assert.equal(suppression.falsePositives, 3)
    assert.deepEqual(suppression.eventIds, ['n1', 'n2', 'n3'])
    assert.equal(suppression.since, marks[3]!.at, 'from the mark that made the count')
    assert.equal(Date.parse(suppression.until) - Date.parse(suppression.since), periodSeconds * 1000)

    // the entity's next anomalies raise no alert, the other entity's do
    await send(context, 'anomalies', [
      ['noisy', JSON.stringify(anomalyOf('noisy', 'n4'))],
      ['noisy', JSON.stringify(anomalyOf('noisy', 'n5'))],
      ['quiet', JSON.stringify(anomalyOf('quiet', 'q2'))],
    ])
    alerts = await eventually(readAlerts, (r) => r.length >= 5)
    const counted = await eventually(
      () => readTopic(suppressionsTopic, { timeoutMs: 1_000 }),
      (r) => r.length >= 3,
    )
    assert.ok(Date.now() < Date.parse(suppression.until), 'still within the period (else the test proves nothing)')
    assert.deepEqual(ids(alerts).sort(), ['n1', 'n2', 'n3', 'q1', 'q2'])
    assert.deepEqual(
      counted.map((r) => [r.headers.get('lookout.suppression'), JSON.parse(r.value).suppressedAlerts]),
      [
        ['started', 0],
        ['alert', 1],
        ['alert', 2],
      ],
    )
    assert.equal(await metric(alertService.port, 'alert_suppressed_by_feedback_total'), 2)
    assert.equal(await metric(alertService.port, 'alert_feedback_suppressions_total'), 1)

    // after the period the entity's alerts flow again
    await new Promise((r) => setTimeout(r, Date.parse(suppression.until) - Date.now() + 200))
    await send(context, 'anomalies', [['noisy', JSON.stringify(anomalyOf('noisy', 'n6'))]])
    alerts = await eventually(readAlerts, (r) => r.length >= 6)
    assert.deepEqual(ids(alerts).sort(), ['n1', 'n2', 'n3', 'n6', 'q1', 'q2'])
    assert.equal(await metric(alertService.port, 'alert_suppressed_by_feedback_total'), 2)

    // the malformed labels are dead letters with their reasons and where they came from
    const deadLetters = await readTopic(topicName(context.topicPrefix, 'deadLetters'), { count: 2, timeoutMs: 20_000 })
    assert.deepEqual(deadLetters.map((r) => r.headers.get('lookout.reason')).sort(), [
      'invalid label: its key "someone-else" is not its entity "quiet"',
      'invalid label: label must be 0 (false positive) or 1 (true positive)',
    ])
    assert.ok(
      deadLetters.every((r) => r.headers.get('lookout.source.topic') === topicName(context.topicPrefix, 'labels')),
    )
    assert.ok(deadLetters.every((r) => r.headers.get('lookout.processor') === 'alert'))
  } finally {
    await alertService.stop()
  }
})
