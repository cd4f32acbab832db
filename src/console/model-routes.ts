// The drift and models page's API: the timeline, the model list, promote and roll back (token),
// and the windows page's: the latest window aggregates.

import { isEventKind } from '../core/features/index.ts'
import { builtInKinds } from '../core/kinds.ts'
import { BadRequest } from './kafka.ts'
import type { ConsoleRoutes } from './server.ts'
import type { Timeline } from './timeline.ts'
import type { WindowsView } from './windows.ts'

const versionParam = {
  type: 'object',
  required: ['version'],
  properties: { version: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:-]+$' } },
} as const

export function modelRoutes(timeline: Timeline): ConsoleRoutes {
  return (app, { requireToken }) => {
    app.get(
      '/api/timeline',
      {
        schema: {
          querystring: {
            type: 'object',
            properties: { minutes: { type: 'integer', minimum: 1, maximum: 60 } },
          },
        },
      },
      async (request) => {
        const { minutes } = request.query as { minutes?: number }
        return timeline.view(Date.now() - (minutes ?? 60) * 60_000)
      },
    )

    app.get('/api/models', async () => timeline.models())

    app.get('/api/models/:version', { schema: { params: versionParam } }, async (request) => {
      const { version } = request.params as { version: string }
      return timeline.model(version)
    })

    app.post(
      '/api/models/:version/promote',
      { preHandler: requireToken, schema: { params: versionParam } },
      async (request) => {
        const { version } = request.params as { version: string }
        return { model: await timeline.promote(version, 'console promote') }
      },
    )

    app.post(
      '/api/models/rollback',
      {
        preHandler: requireToken,
        schema: {
          body: {
            type: 'object',
            required: ['kind'],
            properties: { kind: { type: 'string', minLength: 1, maxLength: 100 } },
          },
        },
      },
      async (request) => {
        const { kind } = request.body as { kind: string }
        if (!isEventKind(kind))
          throw new BadRequest(
            `unknown kind "${kind}": use one of ${builtInKinds.join(', ')} or a declared schema's name`,
          )
        return { model: await timeline.rollback(kind, 'console rollback') }
      },
    )
  }
}

export function windowRoutes(windows: WindowsView): ConsoleRoutes {
  const limit = { type: 'integer', minimum: 1, maximum: 1_000 } as const
  return (app) => {
    app.get('/api/windows', { schema: { querystring: { type: 'object', properties: { limit } } } }, async (request) => {
      const query = request.query as { limit?: number }
      return windows.view(query.limit ?? 20)
    })

    app.get(
      '/api/windows/:aggregation',
      {
        schema: {
          params: {
            type: 'object',
            required: ['aggregation'],
            properties: { aggregation: { type: 'string', minLength: 1, maxLength: 200 } },
          },
          querystring: {
            type: 'object',
            properties: { limit, windowStart: { type: 'integer', minimum: 0, maximum: 8_640_000_000_000_000 } },
          },
        },
      },
      async (request) => {
        const { aggregation } = request.params as { aggregation: string }
        const query = request.query as { limit?: number; windowStart?: number }
        return windows.aggregation(aggregation, query.limit ?? 100, query.windowStart)
      },
    )
  }
}
