// `helix migrate`: applies the migrations of every plugin the role loads, then exits. With the server
// entry, a composition root: it reads the plugin manifest.
import { pino } from 'pino'
import { loadConfig } from '../../config/index.js'
import { manifest } from '../../plugins/index.js'
import { createDatabase } from '../db/index.js'
import { pluginsForRoles } from '../plugin.js'
import { parseOptions, type Command } from './command.js'

const help = `Usage: helix migrate

Applies the pending database migrations of every plugin HELIX_ROLE loads, prints what it applied,
and exits. The server also migrates at boot; replicas take turns on PostgreSQL, so running this
beside running servers is safe.

The database: DATABASE_URL (PostgreSQL), or SQLite at $HELIX_DATA_DIR/helix.sqlite without it.

Options:
  -h, --help   show this help
`

/** Where the database is, without the password a URL may carry. */
function describeDatabase(databaseUrl: string | null, dataDir: string): string {
  if (!databaseUrl) return `SQLite database ${dataDir}/helix.sqlite`
  const url = new URL(databaseUrl)
  return `PostgreSQL database ${url.hostname}:${url.port || 5432}${url.pathname}`
}

export const migrateCommand: Command = {
  help,
  async run(args) {
    parseOptions(args, {})
    const config = loadConfig(process.env, manifest)
    // Stdout says what was applied; the log (stderr) adds only warnings unless LOG_LEVEL asks for more.
    const log = pino({ level: process.env.LOG_LEVEL ? config.logLevel : 'warn' }, pino.destination(2))
    const db = createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log })
    const where = describeDatabase(config.databaseUrl, config.dataDir)
    try {
      const applied = await db.migrate(pluginsForRoles(manifest, config.roles).flatMap((p) => p.migrations ?? []))
      console.log(applied.length === 0 ? `${where} is up to date` : `applied to ${where}: ${applied.join(', ')}`)
    } catch (err) {
      throw new Error(`${where}: ${(err as Error).message}`, { cause: err })
    } finally {
      await db.close().catch(() => undefined)
    }
  }
}
