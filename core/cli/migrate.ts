// `npm run migrate`: applies the migrations of every plugin the role loads, then exits.
import { pino } from 'pino'
import { ConfigError, loadConfig } from '../../config/index.js'
import { manifest } from '../../plugins/index.js'
import { createDatabase } from '../db/index.js'
import { pluginsForRoles } from '../plugin.js'

try {
  const config = loadConfig()
  const log = pino({ level: config.logLevel })
  const db = createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log })
  const applied = await db.migrate(pluginsForRoles(manifest, config.roles).flatMap((p) => p.migrations ?? []))
  console.log(applied.length === 0 ? `migrate: ${db.dialect} database is up to date` : `migrate: applied ${applied.join(', ')}`)
  await db.close()
} catch (err) {
  console.error(`migrate: ${err instanceof ConfigError ? err.message : (err as Error).stack}`)
  process.exit(1)
}
