import type { Config } from '../config/settings.ts'
import { ensureCatalogue } from '../kafka/admin.ts'
import { kafkaContext } from '../kafka/context.ts'
import { logger } from '../log.ts'
import { consoleUrl } from '../services/console.ts'
import { serviceNames } from '../services/index.ts'
import { type RunningService, startService } from '../services/run.ts'
import { resolveCluster } from './cluster.ts'

const log = logger('up')

/** Waits for SIGINT or SIGTERM once; later signals during shutdown are ignored. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    // signal listeners alone do not keep the event loop alive
    const keepAlive = setInterval(() => {}, 1 << 30)
    const onSignal = (signal: NodeJS.Signals) => {
      clearInterval(keepAlive)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      process.on('SIGINT', () => log.warn('already stopping'))
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })
}

/** Something `up` started and stops on the way out, in reverse order. */
export interface Stoppable {
  name: string
  stop(): Promise<void>
}

/** `lookout up`: broker (when none configured), topics, every service; all stopped on Ctrl-C. */
export async function runUp(
  config: Config,
  extras: ((context: ReturnType<typeof kafkaContext>) => Promise<Stoppable>)[] = [],
): Promise<void> {
  const cluster = await resolveCluster(config, { startLocal: true })
  const started: Stoppable[] = []
  try {
    const context = kafkaContext(config, cluster.brokers)
    await ensureCatalogue(context)
    for (const name of serviceNames) {
      const service: RunningService = await startService(name, config, context)
      started.push(service)
      if (name === 'console') process.stdout.write(`Console: ${consoleUrl(config['console.host'], service.port)}\n`)
    }
    for (const start of extras) started.push(await start(context))
    log.info('Lookout is up; press Ctrl-C to stop', {
      brokers: cluster.brokers.join(','),
      running: started.map((s) => s.name).join(','),
    })
    const signal = await untilSignal()
    log.info(`received ${signal}, stopping`)
  } finally {
    for (const service of started.reverse()) {
      await service.stop().catch((error) => log.error(`stopping ${service.name} failed`, { error: String(error) }))
    }
    await cluster.stop()
  }
  log.info('stopped')
}

/** The phased source as part of `up`, so the pipeline has events from the first second. */
export function phasedSourceInUp(config: Config): (context: ReturnType<typeof kafkaContext>) => Promise<Stoppable> {
  return async (context) => {
    const { phasedSource } = await import('../sources/phased.ts')
    const { runSourceCommand } = await import('../sources/source.ts')
    const controller = new AbortController()
    const running = runSourceCommand(phasedSource, config, {
      brokers: async () => context.brokers,
      signal: controller.signal,
      write: (text) => log.info(text.trim()),
    }).catch((error) => {
      log.error('the phased source stopped', { error: error instanceof Error ? error.message : String(error) })
    })
    return {
      name: 'produce-phased',
      async stop() {
        controller.abort()
        await running
      },
    }
  }
}
