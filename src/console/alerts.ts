// The alert workflow on the console's API: the stored alerts with filters and paging, one alert
// with its audit trail, and the analysts' actions (token): acknowledge, resolve, mark true or
// false positive, one alert or a list. A verdict is also a label on the `labels` topic, published
// before the verdict commits: when Kafka does not take it, the action fails and nothing changes.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import {
  type AlertAction,
  type AlertDetail,
  alertActions,
  alertStates,
  InvalidTransition,
  isVerdict,
  verdicts,
} from '../core/alert-workflow.ts'
import { alertSeverities } from '../core/alerts.ts'
import type { LabelRecord } from '../core/feedback.ts'
import { logger } from '../log.ts'
import { AlertNotFound, type AlertStore } from './store/alerts.ts'
import { StoreUnavailable } from './store/database.ts'

const log = logger('console')

/** Publishes one label to the `labels` topic (keyed by its entity); throws when Kafka does not take it. */
export type LabelPublisher = (
  label: LabelRecord,
) => Promise<{ topic: string; partition: number | null; offset: string | null }>

/** A verdict whose label Kafka did not take: nothing was changed (HTTP 502). */
export class LabelNotPublished extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'LabelNotPublished'
  }
}

const list = (values: readonly string[]) => `^(${values.join('|')})(,(${values.join('|')}))*$`

const alertId = { type: 'string', minLength: 1, maxLength: 200 } as const

const actionBody = {
  action: { type: 'string', enum: alertActions },
  by: { type: 'string', minLength: 1, maxLength: 100, pattern: '\\S' },
  comment: { type: 'string', maxLength: 2_000 },
} as const

export interface AlertRoutesOptions {
  store: AlertStore
  publishLabel: LabelPublisher
  requireToken: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>
}

interface ActionInput {
  action: AlertAction
  by: string
  comment?: string
}

/** The answer for a failed action, as its HTTP status and body (the bulk action lists one per id). */
export function actionError(error: unknown): { status: number; body: Record<string, unknown> } | undefined {
  if (error instanceof AlertNotFound) return { status: 404, body: { error: error.message } }
  if (error instanceof InvalidTransition)
    return { status: 409, body: { error: error.message, state: error.current.state, verdict: error.current.verdict } }
  if (error instanceof StoreUnavailable) return { status: 503, body: { error: error.message } }
  if (error instanceof LabelNotPublished) return { status: 502, body: { error: error.message } }
  return undefined
}

export function alertRoutes(app: FastifyInstance, options: AlertRoutesOptions): void {
  const { store, publishLabel } = options

  const act = (id: string, input: ActionInput): Promise<AlertDetail> => {
    const request = { action: input.action, by: input.by.trim(), comment: input.comment?.trim() ?? '' }
    const verdict = input.action
    if (!isVerdict(verdict)) return store.act(id, request)
    return store.act(id, request, async (changed) => {
      const mark = changed.actions.at(-1)!
      const label: LabelRecord = {
        eventId: changed.eventId,
        entity: changed.entity,
        label: verdict === 'true_positive' ? 1 : 0,
        by: mark.by,
        at: new Date(mark.at).toISOString(),
        alertId: changed.id,
        ...(mark.comment ? { comment: mark.comment } : {}),
      }
      try {
        const written = await publishLabel(label)
        log.info('published a label', { alert: changed.id, label: label.label, by: label.by, ...written })
      } catch (error) {
        throw new LabelNotPublished(
          `the verdict was not saved: its label could not be published to Kafka (${(error as Error).message}); try again`,
          { cause: error },
        )
      }
    })
  }

  app.get(
    '/api/alerts',
    {
      schema: {
        querystring: {
          type: 'object',
          properties: {
            severity: { type: 'string', pattern: list(alertSeverities) },
            state: { type: 'string', pattern: list(alertStates) },
            verdict: { type: 'string', pattern: list([...verdicts, 'none']) },
            entity: { type: 'string', minLength: 1, maxLength: 1_000 },
            from: { type: 'integer', minimum: 0, maximum: 8_640_000_000_000_000 },
            to: { type: 'integer', minimum: 0, maximum: 8_640_000_000_000_000 },
            limit: { type: 'integer', minimum: 1, maximum: 500 },
            offset: { type: 'integer', minimum: 0, maximum: 10_000_000 },
          },
        },
      },
    },
    async (request) => {
      const query = request.query as Record<string, string | number | undefined>
      const split = <T extends string>(value: unknown) =>
        typeof value === 'string' ? (value.split(',') as T[]) : undefined
      const limit = Number(query.limit ?? 50)
      const offset = Number(query.offset ?? 0)
      const found = await store.list({
        ...(query.severity ? { severity: split(query.severity) } : {}),
        ...(query.state ? { state: split(query.state) } : {}),
        ...(query.verdict ? { verdict: split(query.verdict) } : {}),
        ...(query.entity !== undefined ? { entity: String(query.entity) } : {}),
        ...(query.from !== undefined ? { from: Number(query.from) } : {}),
        ...(query.to !== undefined ? { to: Number(query.to) } : {}),
        limit,
        offset,
      })
      return { ...found, limit, offset }
    },
  )

  app.get(
    '/api/alerts/:id',
    { schema: { params: { type: 'object', required: ['id'], properties: { id: alertId } } } },
    async (request) => store.get((request.params as { id: string }).id),
  )

  app.post(
    '/api/alerts/:id/actions',
    {
      preHandler: options.requireToken,
      schema: {
        params: { type: 'object', required: ['id'], properties: { id: alertId } },
        body: { type: 'object', required: ['action', 'by'], properties: actionBody },
      },
    },
    async (request) => act((request.params as { id: string }).id, request.body as ActionInput),
  )

  app.post(
    '/api/alerts/actions',
    {
      preHandler: options.requireToken,
      schema: {
        body: {
          type: 'object',
          required: ['ids', 'action', 'by'],
          properties: {
            ids: { type: 'array', items: alertId, minItems: 1, maxItems: 500, uniqueItems: true },
            ...actionBody,
          },
        },
      },
    },
    async (request) => {
      const { ids, ...input } = request.body as ActionInput & { ids: string[] }
      const results = []
      // one after another, each in its own transaction: one refused alert does not hold back the others
      for (const id of ids) {
        try {
          results.push({ id, status: 200, alert: await act(id, input) })
        } catch (error) {
          const answer = actionError(error)
          if (!answer) throw error
          results.push({ id, status: answer.status, ...answer.body })
        }
      }
      return { results, done: results.filter((r) => r.status === 200).length }
    },
  )
}
