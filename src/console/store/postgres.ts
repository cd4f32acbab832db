// The alert store on PostgreSQL (console.databaseUrl), through the `pg` driver's pool. A lost
// server makes every call fail fast as StoreUnavailable; the pool reconnects when it is back.
import pg from 'pg'
import { logger } from '../../log.ts'
import { type Row, type SqlDatabase, type SqlQuery, StoreUnavailable } from './database.ts'

const log = logger('alert-store')

// BIGINT (the store's millisecond times, counts) as a number: every value it holds is below 2^53
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
}

/** `?` placeholders → `$1, $2, …` (the store's statements have no `?` inside literals). */
function numbered(sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

/** The URL for messages: no password. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password) parsed.password = '***'
    return parsed.toString()
  } catch {
    return '(not a URL)'
  }
}

/**
 * Connection failures, the server shutting down or refusing connections, and failures without
 * an SQLSTATE (a socket that closed) mean the database is away, not that the statement is wrong.
 */
export function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code
  if (typeof code !== 'string' || !/^[0-9A-Z]{5}$/.test(code)) return true
  return code.startsWith('08') || code.startsWith('57P') || code.startsWith('53')
}

export class PostgresDatabase implements SqlDatabase {
  readonly dialect = 'postgres' as const
  readonly description: string
  readonly #pool: pg.Pool

  constructor(url: string) {
    this.description = `PostgreSQL at ${redactedUrl(url)}`
    this.#pool = new pg.Pool({
      connectionString: url,
      max: 4,
      connectionTimeoutMillis: 5_000,
      query_timeout: 15_000,
      application_name: 'lookout-console',
      types,
    })
    // an idle connection the server dropped: the pool discards it and opens a new one when needed
    this.#pool.on('error', (error) => log.warn('an idle alert-store connection failed', { error: error.message }))
  }

  async query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    try {
      return (await this.#pool.query<T>(numbered(sql), [...params])).rows
    } catch (error) {
      throw this.#classify(error)
    }
  }

  async transaction<T>(work: (tx: SqlQuery) => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      throw this.#classify(error)
    }
    let broken = false
    const run = async <R extends Row>(sql: string, params: readonly unknown[] = []) => {
      try {
        return (await client.query<R>(numbered(sql), [...params])).rows
      } catch (error) {
        broken ||= isUnavailable(error)
        throw this.#classify(error)
      }
    }
    try {
      await run('BEGIN')
      const result = await work({ query: run })
      await run('COMMIT')
      return result
    } catch (error) {
      if (!broken) await client.query('ROLLBACK').catch(() => {})
      throw error
    } finally {
      client.release(broken)
    }
  }

  async close(): Promise<void> {
    await this.#pool.end()
  }

  #classify(error: unknown): unknown {
    if (error instanceof StoreUnavailable || !isUnavailable(error)) return error
    return new StoreUnavailable(`the alert store (${this.description}) is unreachable: ${(error as Error).message}`, {
      cause: error,
    })
  }
}
