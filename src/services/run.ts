// The generic service runner: the HTTP server (/health, /metrics), the service's own start,
// its processor runtimes, and one stop that closes all of it, also after a failed start.

import type { Server } from 'node:http'
import { flagName } from '../config/load.ts'
import { type Config, type SettingKey, settings } from '../config/settings.ts'
import { ErrorCodes, LookoutError } from '../errors.ts'
import type { KafkaContext } from '../kafka/context.ts'
import { ProcessorRuntime } from '../kafka/processor.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'
import { serviceRegistry, startServiceServer } from './http.ts'
import { serviceDefinitions } from './index.ts'
import type { ServiceContext, ServiceDefinition, ServiceHealth, StartedService } from './service.ts'

const log = logger('service')

export interface RunningService {
  readonly name: string
  /** The port its /health and /metrics listen on. */
  readonly port: number
  readonly runtimes: readonly ProcessorRuntime<unknown>[]
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
  const portKey = `${definition.section}.port`
  const port = (config as Readonly<Record<string, unknown>>)[portKey]
  if (typeof port !== 'number')
    throw new LookoutError(ErrorCodes.CONFIG_INVALID, `the ${definition.name} service has no port setting ${portKey}`)

  let started: StartedService = {}
  let runtimes: readonly ProcessorRuntime<unknown>[] = []
  const health = (): ServiceHealth => ({
    ...combinedHealth(runtimes, started),
    instances: runtimes.length,
    processed: runtimes.reduce((sum, runtime) => sum + runtime.processed, 0),
  })
  const server = await startServiceServer({
    service: definition.name,
    port,
    portSetting: `${portKey} (--${Object.hasOwn(settings, portKey) ? flagName(portKey as SettingKey) : portKey.replaceAll('.', '-')})`,
    registry,
    health,
  })
  const closes: (() => Promise<void>)[] = [() => closeServer(server)]
  // runtimes first, then what start opened (newest first), the HTTP server last; every step
  // runs even when an earlier one fails, and the first failure is thrown
  let stopping: Promise<void> | undefined
  const stop = () => {
    stopping ??= (async () => {
      const results = await Promise.allSettled(runtimes.map((runtime) => runtime.stop()))
      for (const close of [...closes].reverse()) results.push(...(await Promise.allSettled([close()])))
      const failed = results.find((result) => result.status === 'rejected')
      if (failed) throw failed.reason
    })()
    return stopping
  }

  const instances = options.instances ?? 1
  const context: ServiceContext = {
    config,
    kafka,
    registry,
    instances,
    processorRuntimes: (input, processor) =>
      Array.from(
        { length: instances },
        (_, i) =>
          new ProcessorRuntime(kafka, processor(i), {
            inputTopics: [topicName(kafka.topicPrefix, input)],
            instanceId: options.instanceIds?.[i] ?? `${process.pid}-${i}`,
            maxBatchRecords: config['processor.maxBatch'],
            maxBatchWaitMs: config['processor.maxWaitMs'],
            registry,
          }) as ProcessorRuntime<unknown>,
      ),
    onStop: (close) => {
      closes.push(close)
    },
  }
  try {
    started = await definition.start(context)
    runtimes = [...(started.runtimes ?? [])]
    for (const runtime of runtimes) await runtime.start()
  } catch (error) {
    await stop().catch((closing: unknown) =>
      log.error(`closing ${definition.name} after its failed start failed too`, { error: String(closing) }),
    )
    throw error
  }

  const address = server.address()
  log.info(`${definition.name} running`, { instances })
  return {
    name: definition.name,
    port: typeof address === 'object' && address ? address.port : port,
    runtimes,
    health,
    async stop() {
      await stop()
      log.info(`${definition.name} stopped`)
    },
  }
}

/** Not ok when any runtime or the service itself is not, with every reason. */
function combinedHealth(runtimes: readonly ProcessorRuntime<unknown>[], started: StartedService): ServiceHealth {
  const reasons: string[] = []
  for (const runtime of runtimes) {
    const result = runtime.health()
    if (!result.ok) reasons.push(result.reason ?? `${runtime.groupId} cannot make progress`)
  }
  const own = started.health?.() ?? { ok: true }
  if (!own.ok) reasons.push(own.reason ?? 'not healthy')
  return reasons.length > 0 ? { ...own, ok: false, reason: reasons.join('; ') } : { ...own, ok: true }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()))
}
