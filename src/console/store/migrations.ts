// The alert store's schema, as versioned migrations applied at start-up. SQLite and PostgreSQL
// run the same migrations; the few words their SQL spells differently come from `dialect`.
import { ErrorCodes, LookoutError } from '../../errors.ts'
import type { Dialect, SqlDatabase } from './database.ts'

export interface Migration {
  readonly version: number
  readonly name: string
  statements(dialect: Dialect): readonly string[]
}

const words = {
  sqlite: { serial: 'INTEGER PRIMARY KEY AUTOINCREMENT', real: 'REAL' },
  postgres: { serial: 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY', real: 'DOUBLE PRECISION' },
} as const

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'alerts and their audit trail',
    statements: (dialect) => [
      `CREATE TABLE alerts (
        id TEXT PRIMARY KEY,
        entity TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        score ${words[dialect].real} NOT NULL,
        event_id TEXT NOT NULL,
        event_time BIGINT NOT NULL,
        raised_at BIGINT NOT NULL,
        alert TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'open',
        verdict TEXT,
        updated_at BIGINT NOT NULL
      )`,
      'CREATE INDEX alerts_raised ON alerts (raised_at DESC, id)',
      'CREATE INDEX alerts_entity ON alerts (entity, raised_at DESC)',
      'CREATE INDEX alerts_state ON alerts (state, raised_at DESC)',
      `CREATE TABLE alert_actions (
        id ${words[dialect].serial},
        alert_id TEXT NOT NULL REFERENCES alerts (id),
        action TEXT NOT NULL,
        actor TEXT NOT NULL,
        at BIGINT NOT NULL,
        comment TEXT NOT NULL DEFAULT '',
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        verdict TEXT
      )`,
      'CREATE INDEX alert_actions_alert ON alert_actions (alert_id, id)',
    ],
  },
]

// one number for every Lookout that migrates this database ("Look"): concurrent starts take turns
const migrationLock = 0x4c6f6f6b

/**
 * Brings the database to the newest version: in one transaction, creates the migrations table
 * when there is none and applies every migration newer than the database. Returns the
 * versions applied. A database newer than these migrations is refused (an older Lookout must not
 * write to a schema it does not know).
 */
export async function migrate(db: SqlDatabase, list: readonly Migration[] = migrations): Promise<number[]> {
  return db.transaction(async (tx) => {
    if (db.dialect === 'postgres') await tx.query('SELECT pg_advisory_xact_lock(?)', [migrationLock])
    await tx.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)',
    )
    const [row] = await tx.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations')
    const current = Number(row?.version ?? 0)
    const newest = list.at(-1)?.version ?? 0
    if (current > newest)
      throw new LookoutError(
        ErrorCodes.CONFIG_INVALID,
        `the alert store (${db.description}) has schema version ${current}, newer than this Lookout knows (${newest})`,
        { hint: 'run the Lookout version that wrote it, or point console.databaseUrl at another database' },
      )
    const applied: number[] = []
    for (const migration of list) {
      if (migration.version <= current) continue
      for (const statement of migration.statements(db.dialect)) await tx.query(statement)
      await tx.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        migration.version,
        migration.name,
        Date.now(),
      ])
      applied.push(migration.version)
    }
    return applied
  })
}
