import type { Server } from 'node:http'
import type { Config } from '../config/settings.ts'
import type { EventKind } from '../core/features/index.ts'
import { ShadowJudge } from '../core/pipeline/shadow.ts'
import type { KafkaContext } from '../kafka/context.ts'
import { ProcessorRuntime } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'
import { alertProcessor } from './alert.ts'
import { driftProcessor } from './drift.ts'
import { enrichProcessor } from './enrich.ts'
import { serviceRegistry, startServiceServer } from './http.ts'
import { ModelRegistry, promotionRecords, publishRegistryRecords } from './models.ts'
import { scoreProcessor } from './score.ts'
import { consoleSink, type Sink, SinkDispatcher, slackBotSink, slackWebhookSink, webhookSink } from './sinks.ts'
import { TrainService } from './train.ts'

const log = logger('service')

export const pipelineServices = ['enrich', 'score', 'alert', 'drift', 'train'] as const
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
  const runtimes: ProcessorRuntime<unknown>[] = []
  // the HTTP server first: a taken port fails start-up before anything else runs
  const port = config[`${name}.port`]
  const server: Server = await startServiceServer({
    service: name,
    port,
    portSetting: `${name}.port (--${name}-port)`,
    registry,
    health: () => ({
      ok: true,
      instances: runtimes.length,
      processed: runtimes.reduce((sum, r) => sum + r.processed, 0),
    }),
  })
  const instances = options.instances ?? 1
  const runtimeOptions = {
    maxBatchRecords: config['processor.maxBatch'],
    maxBatchWaitMs: config['processor.maxWaitMs'],
    registry,
  }
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
    const judges = new Map<EventKind, ShadowJudge>()
    const deciding = new Set<string>()
    const onShadowScore = (
      kind: EventKind,
      shadowVersion: string,
      live: number | undefined,
      shadow: number,
      label: 0 | 1 | undefined,
    ) => {
      let judge = judges.get(kind)
      if (judge?.shadowVersion !== shadowVersion) {
        judge = new ShadowJudge(shadowVersion, {
          minLabelled: config['models.shadowMinLabelled'],
          promoteAfterEvents: config['models.shadowPromoteAfterEvents'],
        })
        judges.set(kind, judge)
      }
      if (deciding.has(shadowVersion)) return
      const verdict = judge.observe(live, shadow, label)
      if (!verdict) return
      deciding.add(shadowVersion)
      log.info(`shadow model ${verdict.decision === 'promote' ? 'promoted' : 'rejected'}`, {
        version: shadowVersion,
        reason: verdict.reason,
      })
      // another instance may decide too: the records say the same, so the race is harmless
      const records =
        verdict.decision === 'promote'
          ? promotionRecords(models, kind, shadowVersion, `shadow: ${verdict.reason}`)
          : [{ key: `shadow:${kind}`, value: null }]
      void publishRegistryRecords(context, records).catch((error: unknown) => {
        deciding.delete(shadowVersion)
        log.error('cannot publish the shadow verdict', { version: shadowVersion, error: String(error) })
      })
    }
    for (let i = 0; i < instances; i++) {
      const processor = scoreProcessor({
        topicPrefix: prefix,
        threshold: config['score.threshold'],
        checkpointEvents: config['score.checkpointEvents'],
        models: (kind) => models.liveModel(kind),
        shadow: (kind) => models.shadowModel(kind),
        onShadowScore,
      })
      runtimes.push(
        new ProcessorRuntime(context, processor, {
          ...runtimeOptions,
          inputTopics: [topicName(prefix, 'enrichedFeatures')],
          instanceId: instanceId(i),
        }) as ProcessorRuntime<unknown>,
      )
    }
  } else if (name === 'drift') {
    for (let i = 0; i < instances; i++) {
      const processor = driftProcessor({
        topicPrefix: prefix,
        monitor: {
          threshold: config['score.threshold'],
          cooldownEvents: config['drift.cooldownEvents'],
          trainWindowEvents: config['drift.trainWindowEvents'],
        },
      })
      runtimes.push(
        new ProcessorRuntime(context, processor, {
          ...runtimeOptions,
          inputTopics: [topicName(prefix, 'anomalyScores')],
          instanceId: instanceId(i),
        }) as ProcessorRuntime<unknown>,
      )
    }
  } else if (name === 'train') {
    const models = new ModelRegistry(context)
    await models.start()
    const trainer = new TrainService(context, models, {
      dataDir: config.dataDir,
      windowEvents: config['train.windowEvents'],
    })
    await trainer.start()
    stops.push(async () => {
      await trainer.stop()
      await models.stop()
    })
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
