// What the alert store needs of a SQL database, so one store runs on SQLite and PostgreSQL.
// Statements are written once with `?` placeholders; each database turns them into its own.

export type Dialect = 'sqlite' | 'postgres'

export type Row = Record<string, unknown>

export interface SqlQuery {
  query<T extends Row = Row>(sql: string, params?: readonly unknown[]): Promise<T[]>
}

export interface SqlDatabase extends SqlQuery {
  readonly dialect: Dialect
  /** For messages: which database this is (no password). */
  readonly description: string
  /**
   * Runs `work` in one transaction that holds the database's write lock (SQLite) or the rows it
   * selects `FOR UPDATE` (PostgreSQL): committed when `work` resolves, rolled back when it throws.
   */
  transaction<T>(work: (tx: SqlQuery) => Promise<T>): Promise<T>
  close(): Promise<void>
}

/** The database cannot be reached or used now (an HTTP 503); trying again later may work. */
export class StoreUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'StoreUnavailable'
  }
}
