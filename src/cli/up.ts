import type { Config } from '../config/settings.ts'
import { catalogueTopics, connectAdmin, ensureTopics } from '../kafka/admin.ts'
import { kafkaContext } from '../kafka/context.ts'
import { logger } from '../log.ts'
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

/** `lookout up`: broker (when none configured), topics, every service; all stopped on Ctrl-C. */
export async function runUp(config: Config): Promise<void> {
  const cluster = await resolveCluster(config, { startLocal: true })
  try {
    const context = kafkaContext(config, cluster.brokers)
    const admin = await connectAdmin(context)
    try {
      await ensureTopics(admin, catalogueTopics(context))
    } finally {
      await admin.close()
    }
    log.info('Lookout is up; press Ctrl-C to stop', { brokers: cluster.brokers.join(',') })
    const signal = await untilSignal()
    log.info(`received ${signal}, stopping`)
  } finally {
    await cluster.stop()
  }
  log.info('stopped')
}
