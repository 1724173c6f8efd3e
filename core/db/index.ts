// The database: PostgreSQL when DATABASE_URL is set, SQLite under HELIX_DATA_DIR otherwise, both
// through Sequelize; umzug runs the migrations of the kernel and of every loaded plugin.
import { mkdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import type { Logger } from 'pino'
import { Sequelize, type QueryInterface } from 'sequelize'
import { SequelizeStorage, Umzug } from 'umzug'
import { StartupError } from '../errors.js'

export interface MigrationContext {
  queryInterface: QueryInterface
  sequelize: Sequelize
}

/** A migration; names are global, so plugins prefix theirs (`orchestrator-0001-agents`). */
export interface Migration {
  name: string
  up(context: MigrationContext): Promise<void>
  down?(context: MigrationContext): Promise<void>
}

export interface Database {
  readonly dialect: 'postgres' | 'sqlite'
  readonly sequelize: Sequelize
  /** Applies pending migrations in order; returns the names applied (none on a second run). */
  migrate(migrations: readonly Migration[]): Promise<string[]>
  isReady(): Promise<boolean>
  close(): Promise<void>
}

/** Replicas booting together on PostgreSQL take turns, so each migration runs once. */
async function withMigrationLock<T>(databaseUrl: string | null, run: () => Promise<T>): Promise<T> {
  if (!databaseUrl) return run()
  const lock = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS })
  // A connection the server ends mid-migration fails the query below; the event must not end the process.
  lock.on('error', () => undefined)
  await lock.connect()
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY])
    return await run()
  } finally {
    await lock.end()
  }
}

const MIGRATION_LOCK_KEY = 0x48454c49 // "HELI"

/** A connection PostgreSQL does not accept by then fails, so a request answers 503 instead of hanging. */
const CONNECT_TIMEOUT_MS = 2000

/**
 * SQLite creates its file and journals in the data dir. A directory that cannot be written (a
 * read-only filesystem, a volume owned by another user, a path under a file) fails here in one line;
 * found later, it would leave the driver waiting forever.
 */
function ensureWritableDataDir(dataDir: string): void {
  const dir = path.resolve(dataDir)
  const probe = path.join(dir, `.helix-write-test-${process.pid}`)
  try {
    mkdirSync(dir, { recursive: true })
    writeFileSync(probe, '')
    unlinkSync(probe)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new StartupError(`HELIX_DATA_DIR=${dataDir} is not a writable directory (${code} on ${dir}): point HELIX_DATA_DIR at a directory this user can write (e.g. a mounted volume), or set DATABASE_URL`)
  }
  const file = path.join(dir, 'helix.sqlite')
  const stat = statSync(file, { throwIfNoEntry: false })
  if (stat && !stat.isFile()) throw new StartupError(`${file} is not a file: remove it or point HELIX_DATA_DIR elsewhere`)
}

export function createDatabase(options: { databaseUrl: string | null; dataDir: string; log: Logger }): Database {
  const { log } = options
  const logging = (sql: string) => log.trace({ sql }, 'sql')
  let sequelize: Sequelize
  if (options.databaseUrl) {
    sequelize = new Sequelize(options.databaseUrl, {
      dialect: 'postgres',
      logging,
      dialectOptions: { connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
      pool: { max: 10, min: 0, idle: 10_000, acquire: 10_000 }
    })
  } else {
    ensureWritableDataDir(options.dataDir)
    sequelize = new Sequelize({
      dialect: 'sqlite',
      storage: path.join(options.dataDir, 'helix.sqlite'),
      logging,
      // One connection: SQLite serialises writers anyway, and this avoids SQLITE_BUSY between pool members.
      pool: { max: 1, min: 0, idle: 60_000 }
    })
  }
  const dialect = options.databaseUrl ? 'postgres' : 'sqlite'
  let closed = false

  return {
    dialect,
    sequelize,
    async migrate(migrations) {
      const umzug = new Umzug<MigrationContext>({
        migrations: migrations.map((m) => ({
          name: m.name,
          up: ({ context }) => m.up(context),
          down: m.down ? ({ context }) => m.down!(context) : undefined
        })),
        context: { queryInterface: sequelize.getQueryInterface(), sequelize },
        storage: new SequelizeStorage({ sequelize, tableName: 'helix_migrations' }),
        logger: undefined
      })
      const applied = await withMigrationLock(options.databaseUrl, () => umzug.up())
      // One line, names in the message: pretty-printed fields would take a line per migration.
      if (applied.length > 0) log.info(`migrations applied: ${applied.map((m) => m.name).join(', ')}`)
      return applied.map((m) => m.name)
    },
    async isReady() {
      try {
        await sequelize.query('SELECT 1')
        return true
      } catch {
        return false
      }
    },
    async close() {
      if (closed) return
      closed = true
      await sequelize.close()
    }
  }
}
