// `helix apikey create|list|revoke`: manages the Zapier API keys (DESIGN section 11) straight in the
// database the server uses, as POST/GET/DELETE /admin/apikeys do. A composition root: it reads the plugin.
import { pino } from 'pino'
import { loadConfig } from '../../config/index.js'
import { manifest } from '../../plugins/index.js'
import { ApiKeyStore } from '../../plugins/zapier/api-keys.js'
import { zapierPlugin } from '../../plugins/zapier/index.js'
import { Sql } from '../../plugins/zapier/sql.js'
import { createDatabase } from '../db/index.js'
import { parseOptions, UsageError, type Command } from './command.js'

const help = `Usage: helix apikey create --name <name> [--json]
       helix apikey list [--json]
       helix apikey revoke --id <id>

Manages the API keys Zapier sends as X-API-Key. A new key is printed once: only its hash is kept.

Commands:
  create --name <name>   make a key (e.g. --name zapier-prod) and print it
  list                   the keys: id, name, first characters, created, last used, revoked
  revoke --id <id>       revoke a key at once (a revoked key answers 401)

Options:
  --json       print JSON instead of text
  -h, --help   show this help

The database: DATABASE_URL (PostgreSQL), or SQLite at $HELIX_DATA_DIR/helix.sqlite without it.
`

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export const apikeyCommand: Command = {
  help,
  async run([action, ...args]) {
    if (action !== 'create' && action !== 'list' && action !== 'revoke') throw new UsageError(`expected create, list or revoke, not ${JSON.stringify(action ?? '')}`)
    const options = parseOptions(args, { name: { type: 'string' }, id: { type: 'string' }, json: { type: 'boolean' } })
    if (action === 'create' && !options.name?.trim()) throw new UsageError('create needs --name, e.g. --name zapier')
    if (action === 'revoke' && !UUID.test(options.id ?? '')) throw new UsageError('revoke needs --id <the key id>, as helix apikey list shows it')
    const config = loadConfig(process.env, manifest)
    const log = pino({ level: process.env.LOG_LEVEL ? config.logLevel : 'warn' }, pino.destination(2))
    const db = createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log })
    const sql = new Sql(db.sequelize, config.databaseUrl, log)
    try {
      await db.migrate(zapierPlugin.migrations ?? [])
      const keys = new ApiKeyStore(sql)
      if (action === 'create') {
        const created = await keys.create(options.name!.trim().slice(0, 100))
        console.log(options.json ? JSON.stringify(created) : `${created.key}\n(id ${created.id}; shown once: store it now)`)
      } else if (action === 'list') {
        const list = await keys.list()
        if (options.json) console.log(JSON.stringify(list))
        else for (const k of list) console.log(`${k.id}  ${k.prefix}…  ${k.name}  created ${k.createdAt}${k.revokedAt ? `  revoked ${k.revokedAt}` : ''}`)
      } else {
        if (!(await keys.revoke(options.id!))) throw new Error(`no API key ${options.id}`)
        console.log(`revoked ${options.id}`)
      }
    } finally {
      await sql.close().catch(() => undefined)
      await db.close().catch(() => undefined)
    }
  }
}
