import type { Config } from '../config/settings.ts'
import { type AlertPolicy, decideAlert, type EntityAlertState } from '../core/alerts.ts'
import { decodeScored, type ScoredEvent } from '../core/pipeline/events.ts'
import type { OutputRecord, Processor } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'
import type { ServiceDefinition } from './service.ts'
import { consoleSink, type Sink, SinkDispatcher, slackBotSink, slackWebhookSink, webhookSink } from './sinks.ts'

/** alert: anomalies → de-duplicated, rate-limited alerts with severity and reasons. */
export function alertProcessor(topicPrefix: string, policy: AlertPolicy): Processor<ScoredEvent> {
  const alerts = topicName(topicPrefix, 'alerts')
  return {
    name: 'alert',
    decode: (value) => decodeScored(value.toString()),
    process(records, { store }) {
      const outputs: OutputRecord[] = []
      for (const record of records) {
        const scored = record.value
        const { alert, nextState } = decideAlert(scored, store.get<EntityAlertState>(scored.entity), policy)
        store.put(scored.entity, nextState)
        if (alert) outputs.push({ topic: alerts, key: alert.entity, value: JSON.stringify(alert) })
      }
      return outputs
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
  description: 'anomalies → de-duplicated, rate-limited alerts, delivered to the configured sinks',
  section: 'alert',
  async start(context) {
    const { config, kafka } = context
    const policy = {
      dedupWindowMs: config['alert.dedupWindowSeconds'] * 1000,
      maxPerEntityPerHour: config['alert.maxPerEntityPerHour'],
    }
    const runtimes = context.processorRuntimes('anomalies', () => alertProcessor(kafka.topicPrefix, policy))
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
