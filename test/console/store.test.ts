// The alert store against both of its real databases: SQLite (a file in a temporary directory)
// and a PostgreSQL server started for the test. Migrations, idempotent inserts, filters and
// paging, the workflow's transitions and the audit trail.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import {
  AlertNotFound,
  type AlertStore,
  openAlertStore,
  SqlAlertStore,
  sqlitePath,
} from '../../src/console/store/alerts.ts'
import type { SqlDatabase } from '../../src/console/store/database.ts'
import { type Migration, migrate, migrations } from '../../src/console/store/migrations.ts'
import { PostgresDatabase } from '../../src/console/store/postgres.ts'
import { SqliteDatabase } from '../../src/console/store/sqlite.ts'
import { InvalidTransition } from '../../src/core/alert-workflow.ts'
import type { AlertSeverity } from '../../src/core/alerts.ts'
import { LookoutError } from '../../src/errors.ts'
import { testAlert } from '../helpers/alerts.ts'
import { startPostgres, type TestPostgres } from '../helpers/postgres.ts'

const dir = mkdtempSync(join(tmpdir(), 'lookout-store-'))
let postgres: TestPostgres

before(async () => {
  postgres = await startPostgres()
})

after(async () => {
  await postgres?.destroy()
  rmSync(dir, { recursive: true, force: true })
})

// each test gets a database of its own: a new SQLite file, a new PostgreSQL database
let databases = 0
const kinds = {
  sqlite: async () => new SqliteDatabase(join(dir, `test-${++databases}.db`)),
  postgres: async () => {
    const name = `test_${++databases}`
    const admin = new PostgresDatabase(postgres.url)
    await admin.query(`CREATE DATABASE ${name}`)
    await admin.close()
    return new PostgresDatabase(postgres.url.replace(/\/postgres$/, `/${name}`))
  },
} satisfies Record<string, () => Promise<SqlDatabase>>

for (const [kind, open] of Object.entries(kinds)) {
  describe(kind, () => {
    const migrated = async (): Promise<AlertStore> => {
      const db = await open()
      await migrate(db)
      return new SqlAlertStore(db)
    }

    test('migrations: applied once in order, recorded, a later one applied on top; a newer database is refused', async () => {
      const db = await open()
      try {
        const first: Migration[] = [
          { version: 1, name: 'one', statements: () => ['CREATE TABLE things (id TEXT PRIMARY KEY)'] },
        ]
        assert.deepEqual(await migrate(db, first), [1])
        await db.query("INSERT INTO things (id) VALUES ('kept')")
        assert.deepEqual(await migrate(db, first), [], 'nothing applied twice')
        const second: Migration[] = [
          ...first,
          {
            version: 2,
            name: 'two',
            statements: () => ["ALTER TABLE things ADD COLUMN note TEXT NOT NULL DEFAULT 'x'"],
          },
        ]
        assert.deepEqual(await migrate(db, second), [2])
        assert.deepEqual(
          (await db.query('SELECT id, note FROM things')).map((r) => ({ ...r })),
          [{ id: 'kept', note: 'x' }],
        )
        const recorded = await db.query('SELECT version, name FROM schema_migrations ORDER BY version')
        assert.deepEqual(
          recorded.map((r) => [Number(r.version), r.name]),
          [
            [1, 'one'],
            [2, 'two'],
          ],
        )
        await assert.rejects(migrate(db, first), (error: unknown) => {
          assert.ok(error instanceof LookoutError)
          assert.match(error.message, /schema version 2, newer than this Lookout knows \(1\)/)
          return true
        })
        // a failing migration leaves nothing half-done
        const broken: Migration[] = [
          ...second,
          { version: 3, name: 'broken', statements: () => ['CREATE TABLE more (id TEXT)', 'THIS IS NOT SQL'] },
        ]
        await assert.rejects(migrate(db, broken))
        assert.equal(Number((await db.query('SELECT MAX(version) AS v FROM schema_migrations'))[0]?.v), 2)
        assert.deepEqual(await migrate(db, second), [])
      } finally {
        await db.close()
      }
    })

    test('the store schema: every migration applied on a new database, none on the next start', async () => {
      const db = await open()
      try {
        assert.deepEqual(
          await migrate(db),
          migrations.map((m) => m.version),
        )
        assert.deepEqual(await migrate(db), [])
      } finally {
        await db.close()
      }
    })

    test('an alert delivered twice is one row; filters by severity, state, entity and time; paging', async () => {
      const store = await migrated()
      try {
        assert.equal(await store.insert(testAlert('a1'), 1_000), true)
        assert.equal(await store.insert(testAlert('a1', { score: 0.1 }), 2_000), false, 'a redelivery changes nothing')
        const severities: AlertSeverity[] = ['medium', 'high', 'critical']
        for (let i = 2; i <= 30; i++)
          await store.insert(
            testAlert(`a${i}`, { entity: `user_${i % 3}`, severity: severities[i % 3]! }),
            1_000 + i * 100,
          )
        const all = await store.list({ limit: 10, offset: 0 })
        assert.equal(all.total, 30)
        assert.deepEqual(
          all.alerts.map((a) => a.id),
          Array.from({ length: 10 }, (_, i) => `a${30 - i}`),
          'newest first',
        )
        const one = await store.get('a1')
        assert.equal(one.score, 0.9996)
        assert.equal(one.raisedAt, 1_000)
        assert.equal(one.eventId, 'a1')
        assert.equal(one.state, 'open')
        assert.equal(one.verdict, null)
        assert.deepEqual(one.alert, testAlert('a1'))
        assert.deepEqual(one.actions, [])

        const page3 = await store.list({ limit: 10, offset: 20 })
        assert.deepEqual(
          page3.alerts.map((a) => a.id),
          Array.from({ length: 10 }, (_, i) => `a${10 - i}`),
        )
        const critical = await store.list({ severity: ['critical'], limit: 100, offset: 0 })
        assert.equal(critical.total, 10)
        assert.ok(critical.alerts.every((a) => a.severity === 'critical'))
        const entity = await store.list({ entity: 'user_1', severity: ['high', 'critical'], limit: 100, offset: 0 })
        assert.deepEqual(
          entity.alerts.map((a) => a.id).sort(),
          ['a1', 'a10', 'a13', 'a16', 'a19', 'a22', 'a25', 'a28', 'a4', 'a7'].sort(),
        )
        const window = await store.list({ from: 1_500, to: 2_000, limit: 100, offset: 0 })
        assert.deepEqual(
          window.alerts.map((a) => a.id),
          ['a9', 'a8', 'a7', 'a6', 'a5'],
        )
        await store.act('a5', { action: 'acknowledge', by: 'ana', comment: '' })
        await store.act('a6', { action: 'false_positive', by: 'ana', comment: '' })
        const open_ = await store.list({ state: ['open'], from: 1_500, to: 2_000, limit: 100, offset: 0 })
        assert.deepEqual(
          open_.alerts.map((a) => a.id),
          ['a9', 'a8', 'a7'],
        )
        const unmarked = await store.list({ verdict: ['none'], from: 1_500, to: 2_000, limit: 100, offset: 0 })
        assert.equal(unmarked.total, 4)
        const marked = await store.list({ verdict: ['false_positive'], limit: 100, offset: 0 })
        assert.deepEqual(
          marked.alerts.map((a) => a.id),
          ['a6'],
        )
      } finally {
        await store.close()
      }
    })

    test('transitions: acknowledge, resolve, a verdict; an invalid one refused with the current state; the audit trail', async () => {
      const store = await migrated()
      try {
        await store.insert(testAlert('t1'), 1)
        await store.insert(testAlert('t2'), 2)
        const acked = await store.act('t1', { action: 'acknowledge', by: 'ana', comment: 'looking' })
        assert.equal(acked.state, 'acknowledged')
        await assert.rejects(store.act('t1', { action: 'acknowledge', by: 'bo', comment: '' }), (error: unknown) => {
          assert.ok(error instanceof InvalidTransition)
          assert.equal(error.message, 'cannot acknowledge alert t1: it is acknowledged')
          assert.deepEqual(error.current, { state: 'acknowledged', verdict: null })
          return true
        })
        const resolved = await store.act('t1', { action: 'resolve', by: 'bo', comment: 'card blocked' })
        assert.equal(resolved.state, 'resolved')
        await assert.rejects(store.act('t1', { action: 'resolve', by: 'bo', comment: '' }), /already resolved/)
        await assert.rejects(store.act('t1', { action: 'acknowledge', by: 'bo', comment: '' }), /it is resolved/)
        const marked = await store.act('t1', { action: 'true_positive', by: 'cy', comment: 'confirmed fraud' })
        assert.equal(marked.verdict, 'true_positive')
        await assert.rejects(
          store.act('t1', { action: 'false_positive', by: 'cy', comment: '' }),
          /already marked true positive/,
        )
        assert.deepEqual(
          marked.actions.map((a) => [a.action, a.by, a.comment, a.fromState, a.toState, a.verdict]),
          [
            ['acknowledge', 'ana', 'looking', 'open', 'acknowledged', null],
            ['resolve', 'bo', 'card blocked', 'acknowledged', 'resolved', null],
            ['true_positive', 'cy', 'confirmed fraud', 'resolved', 'resolved', 'true_positive'],
          ],
        )
        assert.ok(marked.actions.every((a) => a.at > 1_700_000_000_000))
        // a verdict on an open alert resolves it
        const fp = await store.act('t2', { action: 'false_positive', by: 'ana', comment: 'known traveller' })
        assert.deepEqual([fp.state, fp.verdict], ['resolved', 'false_positive'])
        assert.deepEqual(
          (await store.get('t2')).actions.map((a) => [a.fromState, a.toState]),
          [['open', 'resolved']],
        )
      } finally {
        await store.close()
      }
    })

    test('an unknown alert is AlertNotFound; a failing step before commit changes nothing', async () => {
      const store = await migrated()
      try {
        await assert.rejects(store.get('nope'), AlertNotFound)
        await assert.rejects(
          store.act('nope', { action: 'resolve', by: 'ana', comment: '' }),
          /no alert with id "nope"/,
        )
        await store.insert(testAlert('r1'), 1)
        await assert.rejects(
          store.act('r1', { action: 'false_positive', by: 'ana', comment: '' }, async (changed) => {
            assert.equal(changed.verdict, 'false_positive', 'the step sees the changed alert')
            throw new Error('the label could not be published')
          }),
          /could not be published/,
        )
        const after_ = await store.get('r1')
        assert.deepEqual([after_.state, after_.verdict, after_.actions.length], ['open', null, 0])
        // the store works on after a rolled-back action
        assert.equal((await store.act('r1', { action: 'acknowledge', by: 'ana', comment: '' })).state, 'acknowledged')
      } finally {
        await store.close()
      }
    })

    test('concurrent actions on one alert: exactly one wins, the other is refused', async () => {
      const store = await migrated()
      try {
        await store.insert(testAlert('c1'), 1)
        const results = await Promise.allSettled(
          ['ana', 'bo', 'cy', 'di'].map((by) => store.act('c1', { action: 'resolve', by, comment: '' })),
        )
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1)
        assert.ok(
          results.every((r) => r.status === 'fulfilled' || r.reason instanceof InvalidTransition),
          String(results.map((r) => (r.status === 'rejected' ? r.reason : 'ok'))),
        )
        assert.equal((await store.get('c1')).actions.length, 1)
      } finally {
        await store.close()
      }
    })
  })
}

test('openAlertStore: SQLite under dataDir by default; an unreachable PostgreSQL names console.databaseUrl', async () => {
  const dataDir = join(dir, 'data')
  const store = await openAlertStore({ databaseUrl: '', dataDir })
  assert.equal(store.description, `SQLite at ${sqlitePath(dataDir)}`)
  await store.insert(testAlert('s1'), 1)
  await store.close()
  const again = await openAlertStore({ databaseUrl: '', dataDir })
  assert.equal((await again.get('s1')).id, 's1', 'the file keeps its alerts')
  await again.close()

  const pg = await openAlertStore({ databaseUrl: postgres.url, dataDir })
  assert.match(pg.description, /^PostgreSQL at postgres:\/\/lookout@127\.0\.0\.1:\d+\/postgres$/)
  await pg.close()

  await assert.rejects(
    openAlertStore({ databaseUrl: 'postgres://lookout:secret@127.0.0.1:9/lookout', dataDir }),
    (error: unknown) => {
      assert.ok(error instanceof LookoutError)
      assert.equal(error.code, 'LOOKOUT_DATABASE_UNREACHABLE')
      assert.match(
        error.message,
        /PostgreSQL at postgres:\/\/lookout:\*\*\*@127\.0\.0\.1:9\/lookout \(console\.databaseUrl\)/,
      )
      assert.match(error.message, /ECONNREFUSED/)
      assert.doesNotMatch(error.message, /secret/)
      assert.match(error.describe(), /console\.databaseUrl/)
      return true
    },
  )
})
