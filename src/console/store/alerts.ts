// The alert store: every alert raised, its workflow state and verdict, and the audit trail of
// what analysts did to it, in a real database: SQLite under the data directory by default,
// PostgreSQL when console.databaseUrl is set. One implementation over both (database.ts).
import { resolve } from 'node:path'
import {
  type AlertAction,
  type AlertActionRecord,
  type AlertDetail,
  type AlertState,
  type StoredAlert,
  transition,
  type Verdict,
  type WorkflowPosition,
} from '../../core/alert-workflow.ts'
import type { Alert, AlertSeverity } from '../../core/alerts.ts'
import { ErrorCodes, LookoutError } from '../../errors.ts'
import { type Row, type SqlDatabase, type SqlQuery, StoreUnavailable } from './database.ts'
import { migrate } from './migrations.ts'
import { PostgresDatabase, redactedUrl } from './postgres.ts'
import { SqliteDatabase } from './sqlite.ts'

export interface AlertQuery {
  severity?: readonly AlertSeverity[]
  state?: readonly AlertState[]
  /** `none`: alerts without a verdict. */
  verdict?: readonly (Verdict | 'none')[]
  entity?: string
  /** Raised at or after (ms since the epoch). */
  from?: number
  /** Raised before (ms since the epoch). */
  to?: number
  limit: number
  offset: number
}

export interface ActionRequest {
  action: AlertAction
  by: string
  comment: string
}

export class AlertNotFound extends Error {
  constructor(id: string) {
    super(`no alert with id "${id}"`)
    this.name = 'AlertNotFound'
  }
}

export interface AlertStore {
  readonly description: string
  /** Stores a raised alert; a second insert of the same id changes nothing. True when the row is new. */
  insert(alert: Alert, raisedAt: number): Promise<boolean>
  list(query: AlertQuery): Promise<{ alerts: StoredAlert[]; total: number }>
  /** One alert with its audit trail; AlertNotFound when there is none. */
  get(id: string): Promise<AlertDetail>
  /**
   * Applies an analyst's action in one transaction: AlertNotFound, or InvalidTransition with the
   * current state, when it cannot. `beforeCommit` runs inside the transaction with the changed
   * alert; when it throws, nothing changes (a verdict's label that could not be published).
   */
  act(id: string, request: ActionRequest, beforeCommit?: (changed: AlertDetail) => Promise<void>): Promise<AlertDetail>
  close(): Promise<void>
}

const columns = 'id, entity, kind, severity, score, event_id, event_time, raised_at, alert, state, verdict, updated_at'

function toAlert(row: Row): StoredAlert {
  return {
    id: String(row.id),
    entity: String(row.entity),
    kind: String(row.kind),
    severity: row.severity as AlertSeverity,
    score: Number(row.score),
    eventId: String(row.event_id),
    eventTime: Number(row.event_time),
    raisedAt: Number(row.raised_at),
    state: row.state as AlertState,
    verdict: (row.verdict ?? null) as Verdict | null,
    updatedAt: Number(row.updated_at),
    alert: JSON.parse(String(row.alert)) as Alert,
  }
}

function toAction(row: Row): AlertActionRecord {
  return {
    action: row.action as AlertAction,
    by: String(row.actor),
    at: Number(row.at),
    comment: String(row.comment),
    fromState: row.from_state as AlertState,
    toState: row.to_state as AlertState,
    verdict: (row.verdict ?? null) as Verdict | null,
  }
}

export class SqlAlertStore implements AlertStore {
  readonly #db: SqlDatabase

  constructor(db: SqlDatabase) {
    this.#db = db
  }

  get description(): string {
    return this.#db.description
  }

  async insert(alert: Alert, raisedAt: number): Promise<boolean> {
    const rows = await this.#db.query(
      `INSERT INTO alerts (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', NULL, ?)
       ON CONFLICT (id) DO NOTHING RETURNING id`,
      [
        alert.id,
        alert.entity,
        alert.kind,
        alert.severity,
        alert.score,
        // an alert is about one scored event, whose id it carries
        alert.id,
        alert.eventTime,
        raisedAt,
        JSON.stringify(alert),
        raisedAt,
      ],
    )
    return rows.length === 1
  }

  async list(query: AlertQuery): Promise<{ alerts: StoredAlert[]; total: number }> {
    const where: string[] = []
    const params: unknown[] = []
    const oneOf = (column: string, values: readonly string[] | undefined) => {
      if (!values?.length) return
      where.push(`${column} IN (${values.map(() => '?').join(', ')})`)
      params.push(...values)
    }
    oneOf('severity', query.severity)
    oneOf('state', query.state)
    if (query.verdict?.length) {
      const given = query.verdict.filter((v) => v !== 'none')
      const parts = given.length ? [`verdict IN (${given.map(() => '?').join(', ')})`] : []
      if (query.verdict.includes('none')) parts.push('verdict IS NULL')
      where.push(`(${parts.join(' OR ')})`)
      params.push(...given)
    }
    if (query.entity !== undefined) {
      where.push('entity = ?')
      params.push(query.entity)
    }
    if (query.from !== undefined) {
      where.push('raised_at >= ?')
      params.push(query.from)
    }
    if (query.to !== undefined) {
      where.push('raised_at < ?')
      params.push(query.to)
    }
    const filter = where.length ? ` WHERE ${where.join(' AND ')}` : ''
    const [rows, counted] = await Promise.all([
      this.#db.query(`SELECT ${columns} FROM alerts${filter} ORDER BY raised_at DESC, id DESC LIMIT ? OFFSET ?`, [
        ...params,
        query.limit,
        query.offset,
      ]),
      this.#db.query<{ total: number }>(`SELECT COUNT(*) AS total FROM alerts${filter}`, params),
    ])
    return { alerts: rows.map(toAlert), total: Number(counted[0]?.total ?? 0) }
  }

  async get(id: string): Promise<AlertDetail> {
    return this.#detail(this.#db, id)
  }

  act(
    id: string,
    request: ActionRequest,
    beforeCommit?: (changed: AlertDetail) => Promise<void>,
  ): Promise<AlertDetail> {
    return this.#db.transaction(async (tx) => {
      const lock = this.#db.dialect === 'postgres' ? ' FOR UPDATE' : ''
      const [row] = await tx.query(`SELECT state, verdict FROM alerts WHERE id = ?${lock}`, [id])
      if (!row) throw new AlertNotFound(id)
      const from = { state: row.state, verdict: row.verdict ?? null } as WorkflowPosition
      const to = transition(id, from, request.action)
      const at = Date.now()
      await tx.query('UPDATE alerts SET state = ?, verdict = ?, updated_at = ? WHERE id = ?', [
        to.state,
        to.verdict,
        at,
        id,
      ])
      await tx.query(
        'INSERT INTO alert_actions (alert_id, action, actor, at, comment, from_state, to_state, verdict) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [id, request.action, request.by, at, request.comment, from.state, to.state, to.verdict],
      )
      const changed = await this.#detail(tx, id)
      await beforeCommit?.(changed)
      return changed
    })
  }

  close(): Promise<void> {
    return this.#db.close()
  }

  async #detail(db: SqlQuery, id: string): Promise<AlertDetail> {
    const [row] = await db.query(`SELECT ${columns} FROM alerts WHERE id = ?`, [id])
    if (!row) throw new AlertNotFound(id)
    const actions = await db.query('SELECT * FROM alert_actions WHERE alert_id = ? ORDER BY id', [id])
    return { ...toAlert(row), actions: actions.map(toAction) }
  }
}

/** The file of the embedded store. */
export function sqlitePath(dataDir: string): string {
  return resolve(dataDir, 'alerts.db')
}

/**
 * Opens the configured store and brings its schema up to date: PostgreSQL at `databaseUrl` when
 * given, else SQLite under `dataDir`. A database that cannot be reached or used stops start-up
 * with an error naming the setting.
 */
export async function openAlertStore(options: { databaseUrl: string; dataDir: string }): Promise<AlertStore> {
  const { databaseUrl, dataDir } = options
  const where = databaseUrl
    ? { setting: 'console.databaseUrl', text: `PostgreSQL at ${redactedUrl(databaseUrl)} (console.databaseUrl)` }
    : { setting: 'dataDir', text: `SQLite at ${sqlitePath(dataDir)} (under dataDir)` }
  let db: SqlDatabase | undefined
  try {
    db = databaseUrl ? new PostgresDatabase(databaseUrl) : new SqliteDatabase(sqlitePath(dataDir))
    await migrate(db)
    return new SqlAlertStore(db)
  } catch (error) {
    await db?.close().catch(() => {})
    if (error instanceof LookoutError) throw error
    const reason = error instanceof StoreUnavailable && error.cause instanceof Error ? error.cause : (error as Error)
    throw new LookoutError(
      ErrorCodes.DATABASE_UNREACHABLE,
      `the alert store database, ${where.text}, cannot be used: ${reason.message}`,
      {
        cause: error,
        hint: databaseUrl
          ? 'start PostgreSQL there, or correct console.databaseUrl (postgres://user:password@host:port/database; empty = the embedded SQLite store)'
          : `make ${where.setting} a writable directory`,
      },
    )
  }
}
