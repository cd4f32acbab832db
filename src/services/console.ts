// The web console as a service: its API, live updates and pages are served on console.port
// (the runner's HTTP server answers /health and /metrics there and hands every other path to
// the console's fastify app). It runs no processor; it reads the cluster with its own admin
// client and throw-away consumers, and writes only when a token-holding user re-produces a record
// or promotes or rolls back a model.

import { randomBytes } from 'node:crypto'
import { ConsoleKafka } from '../console/kafka.ts'
import { Live } from '../console/live.ts'
import { modelRoutes, windowRoutes } from '../console/model-routes.ts'
import { consoleApp } from '../console/server.ts'
import { openAlertStore } from '../console/store/alerts.ts'
import { Timeline } from '../console/timeline.ts'
import { WindowsView } from '../console/windows.ts'
import { encodeLabel } from '../core/feedback.ts'
import { connectAdmin } from '../kafka/admin.ts'
import { topicName } from '../kafka/topics.ts'
import { logger } from '../log.ts'
import type { ServiceDefinition } from './service.ts'
import { SinkDispatcher } from './sinks.ts'

const log = logger('console')

/** Longest wait between attempts to write an alert while the alert store's database is away. */
const storeRetryMaxMs = 5_000

export const consoleService: ServiceDefinition = {
  name: 'console',
  description:
    'the web console: topics, messages, consumer groups and lag, the live pipeline and anomalies, the alert workflow, drift and models, windows',
  section: 'console',
  async start(context) {
    const { config } = context
    // the alert store first: a database that cannot be used stops start-up, naming its setting
    const store = await openAlertStore({ databaseUrl: config['console.databaseUrl'], dataDir: config.dataDir })
    context.onStop(() => store.close())
    log.info('alert store open', { store: store.description })
    // every raised alert into the store: the writer follows `alerts` (read_committed) and commits
    // its position only after the row is written, so while the database is away alerts wait in
    // Kafka, and are written when it is back; a redelivered alert is the same row
    const writer = new SinkDispatcher(
      context.kafka,
      { name: 'store', deliver: async (alert, raisedAt) => void (await store.insert(alert, raisedAt)) },
      { retryBaseMs: 250, retryMaxMs: storeRetryMaxMs, registry: context.registry },
    )
    context.onStop(() => writer.stop())
    await writer.start()
    const admin = await connectAdmin(context.kafka)
    const kafka = new ConsoleKafka(context.kafka, admin)
    context.onStop(() => kafka.close())
    const configured = config['console.token']
    const token = configured || randomBytes(24).toString('base64url')
    // every other service's /health, on the ports the config gives them (0 = unknown port)
    const settings = config as Readonly<Record<string, unknown>>
    // imported here: index.ts imports this file, and a static import back would read its list
    // before it is initialised whenever this file is loaded first (src/cli/run.ts does)
    const { serviceDefinitions } = await import('./index.ts')
    const services = serviceDefinitions
      .filter((service) => service.name !== 'console')
      .map((service) => ({ name: service.name, port: settings[`${service.section}.port`] }))
      .filter(
        (service): service is { name: string; port: number } => typeof service.port === 'number' && service.port > 0,
      )
    const live = new Live(kafka, config, services)
    await live.start()
    context.onStop(() => live.stop())
    const labels = topicName(context.kafka.topicPrefix, 'labels')
    const timeline = new Timeline(kafka, config)
    await timeline.start()
    context.onStop(() => timeline.stop())
    const windows = new WindowsView(kafka, config)
    windows.start()
    context.onStop(() => windows.stop())
    const { app, handle } = await consoleApp({
      kafka,
      live,
      token,
      maxScan: config['console.maxScan'],
      alerts: {
        store,
        publishLabel: (label) =>
          kafka.produce(labels, { key: label.entity, value: encodeLabel(label), encoding: 'utf8', headers: [] }),
      },
      routes: [modelRoutes(timeline), windowRoutes(windows)],
    })
    context.onStop(() => app.close())
    if (!configured)
      log.info('console token for actions that change something (set console.token to choose one)', { token })
    return {
      handle,
      health: () =>
        writer.retrying
          ? {
              ok: false,
              reason: `the alert store (${store.description}) cannot be written; new alerts wait in Kafka`,
              streams: live.subscribers,
            }
          : { ok: true, streams: live.subscribers },
    }
  },
}

/** The console's address for people: its host (a wildcard shown as 127.0.0.1) and port. */
export function consoleUrl(host: string, port: number): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host
  return `http://${shown}:${port}/`
}
