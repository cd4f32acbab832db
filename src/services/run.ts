import type { Server } from 'node:http'
import type { Config } from '../config/settings.ts'
import type { KafkaContext } from '../kafka/context.ts'
import { ProcessorRuntime } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'
import { alertProcessor } from './alert.ts'
import { enrichProcessor } from './enrich.ts'
import { serviceRegistry, startServiceServer } from './http.ts'
import { ModelRegistry } from './models.ts'
import { scoreProcessor } from './score.ts'
import { consoleSink, type Sink, SinkDispatcher, slackBotSink, slackWebhookSink, webhookSink } from './sinks.ts'

const log = logger('service')

export const pipelineServices = ['enrich', 'score', 'alert'] as const
export type PipelineService = (typeof pipelineServices)[number]

export interface RunningService {
  name: string
  port: number
  runtimes: ProcessorRuntime<unknown>[]
  stop(): Promise<void>
}

export function configuredSinks(config: Config): Sink[] {
  const sinks: Sink[] = []
  if (config['alert.console']) sinks.push(consoleSink())
  if (config['alert.webhookUrl']) sinks.push(webhookSink(config['alert.webhookUrl']))
  if (config['alert.slackWebhookUrl']) sinks.push(slackWebhookSink(config['alert.slackWebhookUrl']))
  if (config['alert.slackToken'] && config['alert.slackChannel'])
    sinks.push(slackBotSink(config['alert.slackApiUrl'], config['alert.slackToken'], config['alert.slackChannel']))
  return sinks
}

/**
 * Starts one pipeline service with `instances` processor instances in this process (they join
 * one consumer group, as separate processes would), plus its /health and /metrics server.
 */
export async function startService(
  name: PipelineService,
  config: Config,
  context: KafkaContext,
  options: { instances?: number; instanceIds?: string[] } = {},
): Promise<RunningService> {
  const registry = serviceRegistry(name)
  const instances = options.instances ?? 1
  const runtimeOptions = {
    maxBatchRecords: config['processor.maxBatch'],
    maxBatchWaitMs: config['processor.maxWaitMs'],
    registry,
  }
  const runtimes: ProcessorRuntime<unknown>[] = []
  const stops: (() => Promise<void>)[] = []
  const prefix = context.topicPrefix
  const instanceId = (i: number) => options.instanceIds?.[i] ?? `${process.pid}-${i}`

  if (name === 'enrich') {
    for (let i = 0; i < instances; i++) {
      runtimes.push(
        new ProcessorRuntime(context, enrichProcessor(prefix), {
          ...runtimeOptions,
          inputTopics: [topicName(prefix, 'rawTransactions')],
          instanceId: instanceId(i),
        }) as ProcessorRuntime<unknown>,
      )
    }
  } else if (name === 'score') {
    const models = new ModelRegistry(context)
    await models.start()
    stops.push(() => models.stop())
    for (let i = 0; i < instances; i++) {
      const processor = scoreProcessor({
        topicPrefix: prefix,
        threshold: config['score.threshold'],
        checkpointEvents: config['score.checkpointEvents'],
        models: (kind) => models.liveModel(kind),
      })
      runtimes.push(
        new ProcessorRuntime(context, processor, {
          ...runtimeOptions,
          inputTopics: [topicName(prefix, 'enrichedFeatures')],
          instanceId: instanceId(i),
        }) as ProcessorRuntime<unknown>,
      )
    }
  } else {
    const policy = {
      dedupWindowMs: config['alert.dedupWindowSeconds'] * 1000,
      maxPerEntityPerHour: config['alert.maxPerEntityPerHour'],
    }
    for (let i = 0; i < instances; i++) {
      runtimes.push(
        new ProcessorRuntime(context, alertProcessor(prefix, policy), {
          ...runtimeOptions,
          inputTopics: [topicName(prefix, 'anomalies')],
          instanceId: instanceId(i),
        }) as ProcessorRuntime<unknown>,
      )
    }
    for (const sink of configuredSinks(config)) {
      const dispatcher = new SinkDispatcher(context, sink, { retryMaxMs: config['alert.retryMaxMs'], registry })
      await dispatcher.start()
      stops.push(() => dispatcher.stop())
    }
  }

  for (const runtime of runtimes) await runtime.start()
  const port = config[`${name}.port`]
  const server: Server = await startServiceServer({
    service: name,
    port,
    registry,
    health: () => ({
      ok: true,
      instances: runtimes.length,
      processed: runtimes.reduce((sum, r) => sum + r.processed, 0),
    }),
  })
  const address = server.address()
  log.info(`${name} running`, { instances })
  return {
    name,
    port: typeof address === 'object' && address ? address.port : port,
    runtimes,
    async stop() {
      await Promise.all(runtimes.map((runtime) => runtime.stop()))
      for (const stop of stops) await stop()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      log.info(`${name} stopped`)
    },
  }
}
