// The console's HTTP API (fastify): every parameter validated by a JSON schema (bad input is a
// 4xx with a message, never a 500), live updates by server-sent events, the alert workflow
// (alerts.ts), a token for every action that changes something, a restrictive Content-Security-Policy on every response, and the
// built front end (console/dist) served as static files.

import { timingSafeEqual } from 'node:crypto'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { extname, join, resolve } from 'node:path'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { decodeScored } from '../core/pipeline/events.ts'
import { logger } from '../log.ts'
import { type AlertRoutesOptions, actionError, alertRoutes } from './alerts.ts'
import { FilterError, type FilterNode, parseFilter } from './filter.ts'
import { BadRequest, type ConsoleKafka, NotFound, partitionForKey } from './kafka.ts'
import type { Live } from './live.ts'
import { currentSuppressions } from './suppressions.ts'

const log = logger('console')

export const securityHeaders: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

/** Where the built front end is (console/dist at the repository or package root). */
export const webRoot = resolve(import.meta.dirname, '../../console/dist')

export interface ConsoleServerOptions {
  kafka: ConsoleKafka
  live: Live
  token: string
  /** Most records one browse, filter or find-by-key request may scan. */
  maxScan: number
  /** Directory of the built front end; none = the API only. */
  webRoot?: string
  /** The alert store and the label publisher of the alert workflow. */
  alerts: Omit<AlertRoutesOptions, 'requireToken'>
  /** More pages' API routes, registered after the built-in ones. */
  routes?: readonly ConsoleRoutes[]
}

/** Registers a page's API routes; `requireToken` is the preHandler of every action that changes something. */
export type ConsoleRoutes = (
  app: FastifyInstance,
  tools: { requireToken: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> },
) => void

const topicParam = {
  type: 'object',
  required: ['topic'],
  properties: { topic: { type: 'string', minLength: 1, maxLength: 249, pattern: '^[A-Za-z0-9._-]+$' } },
} as const

const recordParams = {
  type: 'object',
  required: ['topic', 'partition', 'offset'],
  properties: {
    topic: topicParam.properties.topic,
    partition: { type: 'integer', minimum: 0, maximum: 1_000_000 },
    offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  },
} as const

function tokenMatches(given: string | undefined, token: string): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (typeof header !== 'string') return undefined
  const match = /^Bearer\s+(\S+)$/i.exec(header)
  return match?.[1]
}

function parseFilterParam(text: string | undefined): FilterNode | undefined {
  if (text === undefined || text === '') return undefined
  return parseFilter(text)
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
}

function loadStatic(root: string): Map<string, { type: string; body: Buffer }> {
  const files = new Map<string, { type: string; body: Buffer }>()
  if (!existsSync(root)) return files
  const walk = (dir: string, prefix: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name)
      if (statSync(full).isDirectory()) walk(full, `${prefix}${name}/`)
      else
        files.set(`/${prefix}${name}`, {
          type: contentTypes[extname(name)] ?? 'application/octet-stream',
          body: readFileSync(full),
        })
    }
  }
  walk(root, '')
  return files
}

/**
 * Builds the console's fastify app without listening: `handle` serves a Node request (the
 * service runner's HTTP server hands it every path but /health and /metrics).
 */
export async function consoleApp(options: ConsoleServerOptions): Promise<{
  app: FastifyInstance
  handle: (request: IncomingMessage, response: ServerResponse) => void
}> {
  let handler: ((request: IncomingMessage, response: ServerResponse) => void) | undefined
  const app = Fastify({
    logger: false,
    bodyLimit: 1024 * 1024,
    serverFactory: (handle) => {
      handler = handle
      return createServer()
    },
    ajv: { customOptions: { removeAdditional: true, coerceTypes: true, allErrors: false } },
  })
  const { kafka, live } = options
  const files = loadStatic(options.webRoot ?? webRoot)

  app.addHook('onSend', async (_request, reply, payload) => {
    for (const [name, value] of Object.entries(securityHeaders)) reply.header(name, value)
    return payload
  })

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const context = error.validationContext ?? 'request'
      return reply.code(400).send({ error: `invalid ${context}: ${error.message}` })
    }
    if (error instanceof NotFound) return reply.code(404).send({ error: error.message })
    if (error instanceof BadRequest) return reply.code(400).send({ error: error.message })
    if (error instanceof FilterError) return reply.code(400).send({ error: `invalid filter: ${error.message}` })
    const failedAction = actionError(error)
    if (failedAction) return reply.code(failedAction.status).send(failedAction.body)
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500)
      return reply.code(error.statusCode).send({ error: error.message })
    log.warn('console request failed', { url: request.url, error: error.message })
    return reply.code(502).send({ error: `the Kafka request failed: ${error.message}` })
  })

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!
    if (request.method === 'GET' && !path.startsWith('/api/')) {
      const file = files.get(path === '/' ? '/index.html' : path)
      if (file) {
        return reply
          .code(200)
          .header('content-type', file.type)
          .header('cache-control', path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
          .send(file.body)
      }
      if (path === '/' || path === '/index.html')
        return reply
          .code(503)
          .type('text/plain')
          .send('the console front end is not built: run `npm install` (or `npx vite build console`)')
    }
    return reply.code(404).send({ error: `no such path: ${request.method} ${path}` })
  })

  const requireToken = async (request: FastifyRequest, reply: FastifyReply) => {
    const given = bearer(request)
    if (given === undefined)
      return reply.code(401).send({ error: 'this action needs the console token (Authorization: Bearer <token>)' })
    if (!tokenMatches(given, options.token)) return reply.code(403).send({ error: 'wrong console token' })
  }

  app.get('/api/topics', async () => ({ topics: await kafka.listTopics() }))

  app.get('/api/topics/:topic', { schema: { params: topicParam } }, async (request) => {
    const { topic } = request.params as { topic: string }
    return kafka.describeTopic(topic)
  })

  app.get(
    '/api/topics/:topic/messages',
    {
      schema: {
        params: topicParam,
        querystring: {
          type: 'object',
          properties: {
            partition: { type: 'integer', minimum: 0, maximum: 1_000_000 },
            offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            timestamp: { type: 'integer', minimum: 0, maximum: 8_640_000_000_000_000 },
            position: { type: 'string', enum: ['beginning', 'end'] },
            limit: { type: 'integer', minimum: 1, maximum: 500 },
            key: { type: 'string', minLength: 1, maxLength: 1_000 },
            filter: { type: 'string', maxLength: 1_000 },
            scan: { type: 'integer', minimum: 1, maximum: options.maxScan },
          },
        },
      },
    },
    async (request) => {
      const { topic } = request.params as { topic: string }
      const query = request.query as {
        partition?: number
        offset?: number
        timestamp?: number
        position?: 'beginning' | 'end'
        limit?: number
        key?: string
        filter?: string
        scan?: number
      }
      if (query.offset !== undefined && query.timestamp !== undefined)
        throw new BadRequest('give either offset or timestamp, not both')
      const filter = parseFilterParam(query.filter)
      const limit = query.limit ?? 50
      const scan = query.scan ?? Math.min(options.maxScan, 10_000)
      if (query.key !== undefined)
        return kafka.findByKey(topic, query.key, { limit, scan, ...(filter ? { filter } : {}) })
      return kafka.browse(topic, {
        ...(query.partition !== undefined ? { partition: query.partition } : {}),
        ...(query.offset !== undefined ? { offset: BigInt(query.offset) } : {}),
        ...(query.timestamp !== undefined ? { timestamp: query.timestamp } : {}),
        position: query.position ?? (query.offset !== undefined || query.timestamp !== undefined ? 'beginning' : 'end'),
        limit,
        scan,
        ...(filter ? { filter } : {}),
      })
    },
  )

  app.get('/api/topics/:topic/messages/:partition/:offset', { schema: { params: recordParams } }, async (request) => {
    const { topic, partition, offset } = request.params as { topic: string; partition: number; offset: number }
    const record = await kafka.record(topic, partition, BigInt(offset))
    if (!record) throw new NotFound(`no committed record at ${topic} partition ${partition} offset ${offset}`)
    return record
  })

  app.get(
    '/api/partition',
    {
      schema: {
        querystring: {
          type: 'object',
          required: ['topic', 'key'],
          properties: { topic: topicParam.properties.topic, key: { type: 'string', minLength: 1, maxLength: 1_000 } },
        },
      },
    },
    async (request) => {
      const { topic, key } = request.query as { topic: string; key: string }
      const partitions = await kafka.partitionCount(topic)
      return { topic, key, partitions, partition: partitionForKey(key, partitions) }
    },
  )

  app.post(
    '/api/topics/:topic/messages/:partition/:offset/reproduce',
    {
      preHandler: requireToken,
      schema: {
        params: recordParams,
        body: {
          type: ['object', 'null'],
          properties: {
            topic: topicParam.properties.topic,
            partition: { type: 'integer', minimum: 0, maximum: 1_000_000 },
          },
        },
      },
    },
    async (request) => {
      const { topic, partition, offset } = request.params as { topic: string; partition: number; offset: number }
      const body = (request.body ?? {}) as { topic?: string; partition?: number }
      const record = await kafka.record(topic, partition, BigInt(offset))
      if (!record) throw new NotFound(`no committed record at ${topic} partition ${partition} offset ${offset}`)
      const target = body.topic ?? topic
      if (body.partition !== undefined) {
        const count = await kafka.partitionCount(target)
        if (body.partition >= count)
          throw new BadRequest(`partition ${body.partition} does not exist: topic "${target}" has ${count} partitions`)
      }
      const written = await kafka.produce(target, record, body.partition)
      log.info('re-produced a record', {
        from: `${topic}/${partition}/${offset}`,
        to: `${written.topic}/${written.partition}`,
      })
      return { source: { topic, partition, offset: String(offset) }, written }
    },
  )

  app.post('/api/auth', { preHandler: requireToken }, async () => ({ ok: true }))

  alertRoutes(app, { ...options.alerts, requireToken })

  app.get('/api/groups', async () => ({ groups: await kafka.groups() }))

  app.get(
    '/api/groups/:group/lag',
    {
      schema: {
        params: {
          type: 'object',
          required: ['group'],
          properties: { group: { type: 'string', minLength: 1, maxLength: 255 } },
        },
      },
    },
    async (request) => {
      const { group } = request.params as { group: string }
      const history = live.lagHistory(group)
      if (history.records.length === 0) {
        const groups = await kafka.groups()
        if (!groups.some((g) => g.id === group)) throw new NotFound(`consumer group "${group}" does not exist`)
      }
      return { group, ...history }
    },
  )

  app.get(
    '/api/anomalies',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', minimum: 1, maximum: 1_000 } },
        },
      },
    },
    async (request) => {
      const { limit } = request.query as { limit?: number }
      return { anomalies: live.anomalies(limit ?? 100) }
    },
  )

  app.get(
    '/api/anomalies/:partition/:offset/source',
    {
      schema: {
        params: {
          type: 'object',
          required: ['partition', 'offset'],
          properties: { partition: recordParams.properties.partition, offset: recordParams.properties.offset },
        },
      },
    },
    async (request) => {
      const { partition, offset } = request.params as { partition: number; offset: number }
      const topic = live.anomalyTopic
      const record = await kafka.record(topic, partition, BigInt(offset))
      if (!record || record.value === null)
        throw new NotFound(`no anomaly at ${topic} partition ${partition} offset ${offset}`)
      try {
        decodeScored(record.value)
      } catch (error) {
        throw new BadRequest(
          `the record at ${topic} partition ${partition} offset ${offset} is not a scored event: ${(error as Error).message}`,
        )
      }
      const [source, features] = await Promise.all([live.sourceOf(record.value), live.featuresOf(record.value)])
      return { anomaly: record, ...source, features }
    },
  )

  const stream = (request: FastifyRequest, reply: FastifyReply, events: readonly string[], first?: unknown) => {
    reply.hijack()
    const response = reply.raw
    response.writeHead(200, {
      ...securityHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    })
    response.write('retry: 2000\n\n')
    if (first !== undefined) response.write(`event: ${events[0]}\ndata: ${JSON.stringify(first)}\n\n`)
    const unsubscribe = live.subscribe((event, data) => {
      if (events.includes(event)) response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    })
    const heartbeat = setInterval(() => response.write(': keep-alive\n\n'), 15_000)
    const close = () => {
      clearInterval(heartbeat)
      unsubscribe()
    }
    request.raw.on('close', close)
    response.on('error', close)
  }

  app.get('/api/suppressions', async () => ({ suppressions: await currentSuppressions(kafka), at: Date.now() }))
  app.get('/api/anomalies/stream', (request, reply) => stream(request, reply, ['anomalies']))
  app.get('/api/overview', async () => live.overview(true))
  app.get('/api/overview/stream', (request, reply) => stream(request, reply, ['overview'], live.overview(false)))
  for (const routes of options.routes ?? []) routes(app, { requireToken })

  await app.ready()
  if (!handler) throw new Error('fastify did not hand over its request handler')
  const handle = handler
  return { app, handle }
}
