// The start-up log: the few lines a person reads on a terminal (where Helix listens, what it runs and
// on what, how to open the dashboard); each boot step logs at debug.
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config/index.js'
import { version } from './version.js'

/** Host, port and database of a URL, never the password it may carry. */
function hostOf(url: string): string {
  const parsed = new URL(url)
  return `${parsed.host}${parsed.pathname.length > 1 ? parsed.pathname : ''}`
}

/** A path relative to the working directory when it is below it, as a user would type it. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file)
  return relative && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file
}

/** The text of Fastify's "listening" line, once per bound address. */
export function listeningLine(config: Config, address: string): string {
  return `Helix ${version} (role ${config.roles.join(',')}) listening on ${address}, public URL ${config.publicUrl}`
}

/** What this process runs and on what: its plugins and who owns them, the bus, the database, the flags. */
export function setupLine(app: FastifyInstance, config: Config): string {
  const { gate, plugins } = app.helix
  const names = plugins.map(({ descriptor }) => {
    if (gate.owns(descriptor)) return descriptor.name
    return `${descriptor.name} (served by ${gate.ownerOf(descriptor) === 'all' ? 'the monolith' : 'its dedicated service'})`
  })
  const bus = config.redisUrl ? `Redis ${hostOf(config.redisUrl)}` : 'in-process'
  const database = config.databaseUrl ? `PostgreSQL ${hostOf(config.databaseUrl)}` : `SQLite ${shown(path.resolve(config.dataDir, 'helix.sqlite'))}`
  const overrides = Object.entries(config.flagEnv).map(([name, on]) => `${name}=${on ? 'on' : 'off'}`)
  const flags = (config.unleash.url ? `Unleash ${hostOf(config.unleash.url)}` : config.flagsBootstrap) + (overrides.length > 0 ? ` with ${overrides.join(', ')}` : '')
  return `plugins ${names.join(', ') || 'none'}; bus ${bus}; database ${database}; flags ${flags}`
}

/** Outside production without HELIX_JWT_SECRET: which secret signs, and a link that opens the dashboard as admin. */
export function localAdminLines(app: FastifyInstance, config: Config): string[] {
  const source = app.helix.jwtSecretSource
  if (source.kind === 'env' || config.nodeEnv === 'production') return []
  const secret = source.kind === 'file'
    ? `No HELIX_JWT_SECRET: signing with the development secret ${source.created ? 'made now and ' : ''}kept in ${shown(source.path)}, which \`npx helix token\` uses too`
    : `No HELIX_JWT_SECRET: this boot made up its own secret (NODE_ENV=${config.nodeEnv})`
  const token = app.auth.sign({ sub: 'local-admin', scopes: ['admin'], ttlSeconds: 7 * 86400 })
  return [secret, `Open the dashboard as admin: ${config.publicUrl}/?token=${token}`]
}
