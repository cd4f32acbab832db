// The service registry and the generic runner, without a broker: names, the HTTP server, health,
// and what a failed start closes.
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { test } from 'node:test'
import { loadConfig } from '../../src/config/load.ts'
import { type Config, settings } from '../../src/config/settings.ts'
import { ErrorCodes, LookoutError } from '../../src/errors.ts'
import { kafkaContext } from '../../src/kafka/context.ts'
import { serviceDefinitions, serviceNames } from '../../src/services/index.ts'
import { serviceDefinition, startService } from '../../src/services/run.ts'
import type { ServiceDefinition, ServiceHealth } from '../../src/services/service.ts'
import { countService, testServices } from './fixtures/count-service.ts'

/** Settings for a service under test, with a port for the test-only services. */
function testConfig(ports: Record<string, number> = {}): Config {
  const config = loadConfig({ env: {}, flags: { 'alert.console': 'false', 'kafka.connectAttempts': 1 } })
  return { ...config, 'ping.port': 0, 'count.port': 0, ...ports } as Config
}

/** Nothing listens here: a runtime that tries to connect fails at once. */
const unreachable = () => kafkaContext(testConfig(), ['127.0.0.1:1'])

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return typeof address === 'object' && address ? address.port : 0
}

/** True when nothing listens on `port` any more (we can take it). */
async function portIsFree(port: number): Promise<boolean> {
  const server = createServer()
  const free = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => resolve(true))
  })
  if (free) await new Promise<void>((resolve) => server.close(() => resolve()))
  return free
}

function usageNaming(names: string, given = 'nosuch'): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof LookoutError)
    assert.equal(error.code, ErrorCodes.USAGE)
    assert.equal(error.message, `unknown service "${given}"`)
    assert.equal(error.hint, `use one of: ${names}`)
    return true
  }
}

test('the pipeline services are listed once, in start order, each with its own port setting', () => {
  assert.deepEqual(serviceNames, ['enrich', 'score', 'alert', 'drift', 'train', 'aggregate', 'console'])
  assert.equal(new Set(serviceDefinitions.map((service) => service.name)).size, serviceDefinitions.length)
  for (const service of serviceDefinitions) {
    assert.ok(Object.hasOwn(settings, `${service.section}.port`), `${service.name}: no ${service.section}.port setting`)
    assert.ok(service.description.length > 0)
    assert.equal(serviceDefinition(service.name), service)
  }
})

test('an unknown service name is a usage error naming the services there are', async () => {
  assert.throws(
    () => serviceDefinition('nosuch'),
    usageNaming('enrich, score, alert, drift, train, aggregate, console'),
  )
  assert.throws(
    () => serviceDefinition('nosuch', testServices),
    usageNaming('enrich, score, alert, drift, train, aggregate, console, count'),
  )
  await assert.rejects(
    startService('nosuch', testConfig(), unreachable()),
    usageNaming('enrich, score, alert, drift, train, aggregate, console'),
  )
  // a service of another list is not a pipeline service
  assert.throws(
    () => serviceDefinition(countService.name),
    usageNaming('enrich, score, alert, drift, train, aggregate, console', 'count'),
  )
})

test('a service without runtimes is served on /health and /metrics; its own health answers 503 with the reason', async () => {
  let health: ServiceHealth = { ok: true, sessions: 2 }
  const ping: ServiceDefinition = {
    name: 'ping',
    description: 'answers /health (a test-only service)',
    section: 'ping',
    async start() {
      return { health: () => health }
    },
  }
  const running = await startService('ping', testConfig(), unreachable(), { definitions: [ping] })
  const url = `http://127.0.0.1:${running.port}`
  try {
    const ok = await fetch(`${url}/health`)
    assert.equal(ok.status, 200)
    const body = (await ok.json()) as Record<string, unknown>
    assert.equal(body.service, 'ping')
    assert.equal(body.ok, true)
    assert.equal(body.sessions, 2)
    assert.equal(body.instances, 0)

    health = { ok: false, reason: 'the upstream is gone' }
    const failing = await fetch(`${url}/health`)
    assert.equal(failing.status, 503)
    assert.deepEqual(
      { ...((await failing.json()) as Record<string, unknown>), uptimeSeconds: 0 },
      { service: 'ping', uptimeSeconds: 0, ok: false, reason: 'the upstream is gone', instances: 0, processed: 0 },
    )
    assert.deepEqual(running.health().reason, 'the upstream is gone')

    const metrics = await fetch(`${url}/metrics`)
    assert.equal(metrics.status, 200)
    assert.match(await metrics.text(), /process_cpu_user_seconds_total\{service="ping"\}/)
  } finally {
    await running.stop()
  }
  assert.ok(await portIsFree(running.port), 'the HTTP server is closed on stop')
})

test('a failed start closes what it opened, newest first, and the HTTP server', async () => {
  const port = await freePort()
  const closed: string[] = []
  let healthDuringStart = 0
  const broken: ServiceDefinition = {
    name: 'ping',
    description: 'fails to start (a test-only service)',
    section: 'ping',
    async start(context) {
      context.onStop(async () => void closed.push('consumer'))
      context.onStop(async () => void closed.push('dispatcher'))
      // the HTTP server is up before the service starts
      healthDuringStart = (await fetch(`http://127.0.0.1:${port}/health`)).status
      throw new Error('cannot open the sink')
    },
  }
  await assert.rejects(
    startService('ping', testConfig({ 'ping.port': port }), unreachable(), { definitions: [broken] }),
    /cannot open the sink/,
  )
  assert.equal(healthDuringStart, 200)
  assert.deepEqual(closed, ['dispatcher', 'consumer'])
  assert.ok(await portIsFree(port), 'the HTTP server is closed after the failed start')
})

test('a runtime that cannot start (no broker there) closes the service and its HTTP server', async () => {
  const port = await freePort()
  const closed: string[] = []
  const withClose: ServiceDefinition = {
    ...countService,
    async start(context) {
      context.onStop(async () => void closed.push('opened before the runtimes'))
      return countService.start(context)
    },
  }
  await assert.rejects(
    startService('count', testConfig({ 'count.port': port }), unreachable(), {
      definitions: [withClose],
      instances: 2,
    }),
  )
  assert.deepEqual(closed, ['opened before the runtimes'])
  assert.ok(await portIsFree(port), 'the HTTP server is closed after the failed start')
})

test('a taken port stops start-up before the service starts, naming the setting', async () => {
  const taken = createServer()
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()))
  const address = taken.address()
  const port = typeof address === 'object' && address ? address.port : 0
  let started = false
  const ping: ServiceDefinition = {
    name: 'ping',
    description: 'never starts (a test-only service)',
    section: 'ping',
    async start() {
      started = true
      return {}
    },
  }
  try {
    await assert.rejects(
      startService('ping', testConfig({ 'ping.port': port }), unreachable(), { definitions: [ping] }),
      (error: unknown) => {
        assert.ok(error instanceof LookoutError)
        assert.equal(error.code, ErrorCodes.PORT_IN_USE)
        assert.match(error.message, new RegExp(`port ${port} for the ping service`))
        assert.match(error.hint ?? '', /ping\.port \(--ping-port\)/)
        return true
      },
    )
    assert.equal(started, false)
  } finally {
    taken.close()
  }
})
