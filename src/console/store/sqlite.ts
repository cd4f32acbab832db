// The alert store's embedded database: SQLite through Node's built-in node:sqlite, one file
// under the data directory. Its calls are synchronous; they are queued one at a time, so a
// transaction that awaits (publishing a label before it commits) never takes in another
// caller's statements.
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite'
import { type Row, type SqlDatabase, type SqlQuery, StoreUnavailable } from './database.ts'

// SQLite result codes that say the file cannot be used now, not that a statement is wrong:
// BUSY, LOCKED, NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, NOTADB
const unavailableCodes = new Set([5, 6, 7, 8, 10, 11, 13, 14, 26])

export class SqliteDatabase implements SqlDatabase {
  readonly dialect = 'sqlite' as const
  readonly description: string
  readonly #db: DatabaseSync
  readonly #statements = new Map<string, StatementSync>()
  #queue: Promise<unknown> = Promise.resolve()

  constructor(path: string) {
    this.description = `SQLite at ${path}`
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    try {
      this.#db = new DatabaseSync(path)
      // another process (a second console on the same data directory) waits for the lock instead of failing
      this.#db.exec('PRAGMA busy_timeout = 5000; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON')
    } catch (error) {
      throw this.#classify(error)
    }
  }

  query<T extends Row = Row>(sql: string, params: readonly unknown[] = []): Promise<T[]> {
    return this.#exclusive(async () => this.#run<T>(sql, params))
  }

  transaction<T>(work: (tx: SqlQuery) => Promise<T>): Promise<T> {
    return this.#exclusive(async () => {
      this.#run('BEGIN IMMEDIATE')
      try {
        const result = await work({
          query: async <R extends Row>(sql: string, params: readonly unknown[] = []) => this.#run<R>(sql, params),
        })
        this.#run('COMMIT')
        return result
      } catch (error) {
        if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
        throw error
      }
    })
  }

  async close(): Promise<void> {
    await this.#queue
    if (this.#db.isOpen) this.#db.close()
  }

  #run<T extends Row>(sql: string, params: readonly unknown[] = []): T[] {
    try {
      let statement = this.#statements.get(sql)
      if (!statement) {
        statement = this.#db.prepare(sql)
        this.#statements.set(sql, statement)
      }
      return statement.all(...params.map((value) => (value === undefined ? null : value) as SQLInputValue)) as T[]
    } catch (error) {
      throw this.#classify(error)
    }
  }

  #classify(error: unknown): unknown {
    const code = (error as { errcode?: number }).errcode
    if (typeof code === 'number' && unavailableCodes.has(code & 0xff))
      return new StoreUnavailable(`the alert store (${this.description}) cannot be used: ${(error as Error).message}`, {
        cause: error,
      })
    return error
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work)
    this.#queue = run.catch(() => {})
    return run
  }
}
