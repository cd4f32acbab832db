import { Counter, type Registry } from 'prom-client'
import type { Config } from '../config/settings.ts'
import { type AlertPolicy, decideAlert, type EntityAlertState } from '../core/alerts.ts'
import { decodeWithLabels, type WithLabels } from '../core/feedback-join.ts'
import { decodeScored, type ScoredEvent } from '../core/pipeline/events.ts'
import {
  applyMark,
  countSuppressed,
  type FeedbackSuppression,
  isSuppressed,
  type SuppressionPolicy,
  suppressionRecord,
} from '../core/suppression.ts'
import type { OutputRecord, Processor } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'
import type { ServiceDefinition } from './service.ts'
import { consoleSink, type Sink, SinkDispatcher, slackBotSink, slackWebhookSink, webhookSink } from './sinks.ts'

export interface AlertMetrics {
  suppressedByFeedback: Counter
  suppressionsStarted: Counter
}

/** The alert service's feedback metrics in `registry`. */
export function alertMetrics(registry?: Registry): AlertMetrics {
  const registers = registry ? [registry] : []
  return {
    suppressedByFeedback: new Counter({
      name: 'alert_suppressed_by_feedback_total',
      help: 'anomalies that raised no alert because their entity is suppressed after false-positive marks',
      registers,
    }),
    suppressionsStarted: new Counter({
      name: 'alert_feedback_suppressions_total',
      help: 'suppressions started by false-positive marks (alert.suppressAfterFalsePositives)',
      registers,
    }),
  }
}

const suppressionKey = (entity: string) => `suppression:${entity}`

/**
 * alert: anomalies and labels → de-duplicated, rate-limited alerts with severity and reasons.
 * The labels (analyst marks, co-partitioned with the anomalies by entity) count each entity's
 * false positives in the same store; an entity suppressed by them raises no alert until its
 * suppression ends, and every start and every alert held back is published to
 * `alert-suppressions` (keyed by entity) in the same transaction.
 */
export function alertProcessor(
  topicPrefix: string,
  policy: AlertPolicy,
  suppression: SuppressionPolicy = { afterFalsePositives: 0, forMs: 0 },
  metrics?: AlertMetrics,
): Processor<WithLabels<ScoredEvent>> {
  const alerts = topicName(topicPrefix, 'alerts')
  const suppressions = topicName(topicPrefix, 'alertSuppressions')
  const published = (entity: string, state: FeedbackSuppression, what: 'started' | 'alert'): OutputRecord => ({
    topic: suppressions,
    key: entity,
    value: JSON.stringify(suppressionRecord(entity, state)),
    headers: { 'lookout.suppression': what },
  })
  return {
    name: 'alert',
    decode: decodeWithLabels(topicName(topicPrefix, 'labels'), (value) => decodeScored(value.toString())),
    process(records, { store }) {
      const outputs: OutputRecord[] = []
      for (const record of records) {
        if ('label' in record.value) {
          const { label } = record.value
          const key = suppressionKey(label.entity)
          const marked = applyMark(store.get<FeedbackSuppression>(key), label, suppression)
          store.put(key, marked.state)
          if (marked.started) outputs.push(published(label.entity, marked.state, 'started'))
          continue
        }
        const scored = record.value.event
        const held = store.get<FeedbackSuppression>(suppressionKey(scored.entity))
        if (held && isSuppressed(held, record.timestamp)) {
          const next = countSuppressed(held)
          store.put(suppressionKey(scored.entity), next)
          outputs.push(published(scored.entity, next, 'alert'))
          continue
        }
        const { alert, nextState } = decideAlert(scored, store.get<EntityAlertState>(scored.entity), policy)
        store.put(scored.entity, nextState)
        if (alert) outputs.push({ topic: alerts, key: alert.entity, value: JSON.stringify(alert) })
      }
      return outputs
    },
    afterCommit(outputs) {
      if (!metrics) return
      for (const output of outputs) {
        const what = output.topic === suppressions ? output.headers?.['lookout.suppression'] : undefined
        if (what === 'alert') metrics.suppressedByFeedback.inc()
        else if (what === 'started') metrics.suppressionsStarted.inc()
      }
    },
  }
}

/** The sinks the settings turn on: console, webhook, Slack webhook, Slack bot. */
export function configuredSinks(config: Config): Sink[] {
  const sinks: Sink[] = []
  if (config['alert.console']) sinks.push(consoleSink())
  if (config['alert.webhookUrl']) sinks.push(webhookSink(config['alert.webhookUrl']))
  if (config['alert.slackWebhookUrl']) sinks.push(slackWebhookSink(config['alert.slackWebhookUrl']))
  if (config['alert.slackToken'] && config['alert.slackChannel'])
    sinks.push(slackBotSink(config['alert.slackApiUrl'], config['alert.slackToken'], config['alert.slackChannel']))
  return sinks
}

export const alertService: ServiceDefinition = {
  name: 'alert',
  description:
    'anomalies → de-duplicated, rate-limited alerts, delivered to the configured sinks; labels → suppression after false-positive marks',
  section: 'alert',
  async start(context) {
    const { config, kafka } = context
    const policy = {
      dedupWindowMs: config['alert.dedupWindowSeconds'] * 1000,
      maxPerEntityPerHour: config['alert.maxPerEntityPerHour'],
    }
    const suppression = {
      afterFalsePositives: config['alert.suppressAfterFalsePositives'],
      forMs: config['alert.suppressForSeconds'] * 1000,
    }
    const metrics = alertMetrics(context.registry)
    const runtimes = context.processorRuntimes(['anomalies', 'labels'], () =>
      alertProcessor(kafka.topicPrefix, policy, suppression, metrics),
    )
    for (const sink of configuredSinks(config)) {
      const dispatcher = new SinkDispatcher(kafka, sink, {
        retryMaxMs: config['alert.retryMaxMs'],
        registry: context.registry,
      })
      context.onStop(() => dispatcher.stop())
      await dispatcher.start()
    }
    return { runtimes }
  },
}
