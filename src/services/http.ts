import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { ErrorCodes, LookoutError } from '../errors.ts'
import { logger } from '../log.ts'

const log = logger('http')

export interface ServiceServerOptions {
  service: string
  port: number
  host?: string
  registry: Registry
  /** The setting that chooses the port, named in the error when it is taken. */
  portSetting?: string
  /** Extra fields for /health; `ok: false` answers 503. */
  health?: () => { ok: boolean; [field: string]: unknown }
  /** Serves every other path (the service's own pages and API), once it has one. */
  handler?: () => ((request: IncomingMessage, response: ServerResponse) => void) | undefined
}

/** A registry with the process's default metrics (memory, CPU, event loop lag) and a service label. */
export function serviceRegistry(service: string): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  collectDefaultMetrics({ register: registry })
  return registry
}

/** Serves GET /health (JSON) and GET /metrics (Prometheus text format) for one service. */
export async function startServiceServer(options: ServiceServerOptions): Promise<Server> {
  const started = Date.now()
  const server = createServer(async (request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    const other = path === '/health' || path === '/metrics' ? undefined : options.handler?.()
    if (other) {
      other(request, response)
      return
    }
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end()
      return
    }
    if (path === '/health') {
      const extra = options.health?.() ?? { ok: true }
      const body = { service: options.service, uptimeSeconds: Math.round((Date.now() - started) / 1000), ...extra }
      response.writeHead(extra.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      return
    }
    if (path === '/metrics') {
      try {
        const text = await options.registry.metrics()
        response.writeHead(200, { 'content-type': options.registry.contentType }).end(text)
      } catch (error) {
        response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error))
      }
      return
    }
    response
      .writeHead(404, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: 'not found', paths: ['/health', '/metrics'] }))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new LookoutError(
              ErrorCodes.PORT_IN_USE,
              `port ${options.port} for the ${options.service} service's /health and /metrics is already in use`,
              {
                hint: `stop the process using it (\`ss -ltnp 'sport = :${options.port}'\` shows it), or set ${options.portSetting ?? 'its port setting'} to another port (0 = any free port)`,
              },
            )
          : error,
      )
    })
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve())
  })
  const address = server.address()
  log.info(`${options.service} serves /health and /metrics`, {
    port: typeof address === 'object' && address ? address.port : options.port,
  })
  return server
}
