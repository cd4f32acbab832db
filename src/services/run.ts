// The generic service runner: the HTTP server (/health, /metrics), the service's own start,
// its processor runtimes, and one stop that closes all of it, also after a failed start.

import type { Server } from 'node:http'
import type { Registry } from 'prom-client'
import { flagName } from '../config/load.ts'
import { type Config, type SettingKey, settings } from '../config/settings.ts'
import { registerSchemas } from '../core/schemas/index.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import type { KafkaContext } from '../kafka/context.ts'
import { ProcessorRuntime } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'
import { serviceRegistry, startServiceServer } from './http.ts'
import { serviceDefinitions } from './index.ts'
import type { ServiceContext, ServiceDefinition, ServiceHealth, ServiceInput, StartedService } from './service.ts'

const log = logger('service')

export interface RunningService {
  readonly name: string
  /** The port its /health and /metrics listen on. */
  readonly port: number
  readonly runtimes: readonly ProcessorRuntime<unknown>[]
  /** The metrics its /metrics serves. */
  readonly registry: Registry
  /** What /health answers (503 when `ok` is false). */
  health(): ServiceHealth
  stop(): Promise<void>
}

export interface StartServiceOptions {
  /** Processor instances in this process (one consumer group, as separate processes would be). */
  instances?: number
  /** Instance ids (transactional id suffixes) by index; `<pid>-<index>` otherwise. */
  instanceIds?: readonly string[]
  /** The services to choose from; the pipeline's own list unless given. */
  definitions?: readonly ServiceDefinition[]
}

/** The definition of `name`; an unknown name is a usage error naming the services there are. */
export function serviceDefinition(
  name: string,
  definitions: readonly ServiceDefinition[] = serviceDefinitions,
): ServiceDefinition {
  const definition = definitions.find((service) => service.name === name)
  if (definition) return definition
  throw new LookoutError(ErrorCodes.USAGE, `unknown service "${name}"`, {
    hint: `use one of: ${definitions.map((service) => service.name).join(', ')}`,
  })
}

/**
 * Starts one service: its /health and /metrics server first (a taken port fails start-up before
 * anything else runs), then its own `start`, then its processor runtimes. When any step fails,
 * whatever was opened is closed again, the HTTP server included, and the error is thrown.
 */
export async function startService(
  name: string,
  config: Config,
  kafka: KafkaContext,
  options: StartServiceOptions = {},
): Promise<RunningService> {
  const definition = serviceDefinition(name, options.definitions)
  const registry = serviceRegistry(definition.name)
  let started: StartedService = {}
  const health = () => serviceHealth(started)
  const server = await startServiceServer({
    ...servicePort(definition, config),
    service: name,
    registry,
    health,
    handler: () => started.handle?.bind(started),
  })
  const closes: (() => Promise<void>)[] = [() => closeServer(server)]
  const stop = once(() => stopAll(started.runtimes ?? [], closes))
  try {
    // the event schemas declared in the config file join the kind registry of every service
    registerSchemas(config.schemas)
    started = await definition.start(serviceContext(config, kafka, registry, closes, options))
    for (const runtime of started.runtimes ?? []) await runtime.start()
  } catch (error) {
    await stop().catch((closing: unknown) =>
      log.error(`closing ${name} after its failed start failed too`, { error: String(closing) }),
    )
    throw error
  }
  const address = server.address()
  log.info(`${name} running`, { instances: options.instances ?? 1 })
  return {
    name,
    port: typeof address === 'object' && address ? address.port : 0,
    runtimes: started.runtimes ?? [],
    registry,
    health,
    async stop() {
      await stop()
      log.info(`${name} stopped`)
    },
  }
}

/** The port of the service's /health and /metrics, `<section>.port`, and how to change it. */
function servicePort(
  definition: ServiceDefinition,
  config: Config,
): { port: number; portSetting: string; host?: string } {
  const key = `${definition.section}.port`
  const port = (config as Readonly<Record<string, unknown>>)[key]
  const host = (config as Readonly<Record<string, unknown>>)[`${definition.section}.host`]
  if (typeof port !== 'number')
    throw new LookoutError(ErrorCodes.CONFIG_INVALID, `the ${definition.name} service has no port setting ${key}`)
  const flag = Object.hasOwn(settings, key) ? flagName(key as SettingKey) : key.replaceAll('.', '-')
  return { port, portSetting: `${key} (--${flag})`, ...(typeof host === 'string' ? { host } : {}) }
}

function serviceContext(
  config: Config,
  kafka: KafkaContext,
  registry: Registry,
  closes: (() => Promise<void>)[],
  options: StartServiceOptions,
): ServiceContext {
  const instances = options.instances ?? 1
  return {
    config,
    kafka,
    registry,
    instances,
    processorRuntimes: (input, processor) =>
      Array.from(
        { length: instances },
        (_, i) =>
          new ProcessorRuntime(kafka, processor(i), {
            inputTopics: (Array.isArray(input) ? input : [input]).map((one: ServiceInput) =>
              typeof one === 'string' ? topicName(kafka.topicPrefix, one) : one.topic,
            ),
            instanceId: options.instanceIds?.[i] ?? `${process.pid}-${i}`,
            maxBatchRecords: config['processor.maxBatch'],
            maxBatchWaitMs: config['processor.maxWaitMs'],
            slowBatchMs: config['processor.slowBatchMs'],
            registry,
          }) as ProcessorRuntime<unknown>,
      ),
    onStop: (close) => {
      closes.push(close)
    },
  }
}

/**
 * The runtimes first, then what `start` opened (newest first), the HTTP server last. Every step
 * runs even when an earlier one fails; the first failure is thrown.
 */
async function stopAll(runtimes: readonly ProcessorRuntime<unknown>[], closes: (() => Promise<void>)[]) {
  const results = await Promise.allSettled(runtimes.map((runtime) => runtime.stop()))
  for (const close of [...closes].reverse()) results.push(...(await Promise.allSettled([close()])))
  const failed = results.find((result) => result.status === 'rejected')
  if (failed) throw failed.reason
}

/** What /health answers: not ok when any runtime or the service itself is not, with every reason. */
function serviceHealth(started: StartedService): ServiceHealth {
  const runtimes = started.runtimes ?? []
  const reasons: string[] = []
  for (const runtime of runtimes) {
    const result = runtime.health()
    if (!result.ok) reasons.push(result.reason ?? `${runtime.groupId} cannot make progress`)
  }
  const own = started.health?.() ?? { ok: true }
  if (!own.ok) reasons.push(own.reason ?? 'not healthy')
  return {
    ...own,
    ok: reasons.length === 0,
    ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
    instances: runtimes.length,
    processed: runtimes.reduce((sum, runtime) => sum + runtime.processed, 0),
  }
}

function once(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined
  return () => {
    running ??= run()
    return running
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
