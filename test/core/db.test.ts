// Migrations from empty on SQLite and PostgreSQL; a second run is a no-op.
import { pino } from 'pino'
import t from 'tap'
import { createDatabase, type Database } from '../../core/db/index.js'
import { tempDir } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { probePlugin } from '../fixtures/probe-plugin.js'

const log = pino({ level: 'silent' })
const migrations = probePlugin.migrations!

async function columns(db: Database): Promise<string[]> {
  const described = await db.sequelize.getQueryInterface().describeTable('probe_items')
  return Object.keys(described).sort()
}

t.test('sqlite under HELIX_DATA_DIR', async (t) => {
  const dataDir = tempDir(t)
  const db = createDatabase({ databaseUrl: null, dataDir, log })
  t.teardown(() => db.close())
  t.equal(db.dialect, 'sqlite')
  t.same(await db.migrate(migrations), ['probe-0001-items', 'probe-0002-items-note'])
  t.same(await columns(db), ['id', 'name', 'note'])
  t.same(await db.migrate(migrations), [], 'second run applies nothing')
  t.ok(await db.isReady())
  await db.close()
  const reopened = createDatabase({ databaseUrl: null, dataDir, log })
  t.teardown(() => reopened.close())
  t.same(await reopened.migrate(migrations), [], 'state survives a restart')
})

t.test('postgres from DATABASE_URL', async (t) => {
  const url = await createTestDatabase(t, 'dbtest')
  const db = createDatabase({ databaseUrl: url, dataDir: tempDir(t), log })
  t.teardown(() => db.close())
  t.equal(db.dialect, 'postgres')
  t.same(await db.migrate(migrations), ['probe-0001-items', 'probe-0002-items-note'])
  t.same(await columns(db), ['id', 'name', 'note'])
  t.same(await db.migrate(migrations), [])
})

t.test('two replicas migrating at once apply each migration once', async (t) => {
  const url = await createTestDatabase(t, 'dbrace')
  const a = createDatabase({ databaseUrl: url, dataDir: tempDir(t), log })
  const b = createDatabase({ databaseUrl: url, dataDir: tempDir(t), log })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const [ra, rb] = await Promise.all([a.migrate(migrations), b.migrate(migrations)])
  t.same([...ra, ...rb].sort(), ['probe-0001-items', 'probe-0002-items-note'])
})

t.test('isReady is false when the server is unreachable', async (t) => {
  const db = createDatabase({ databaseUrl: 'postgres://postgres@127.0.0.1:1/none', dataDir: tempDir(t), log })
  t.teardown(() => db.close())
  t.equal(await db.isReady(), false)
})
