// `helix token --sub alice --scope "agents:read stream:read" --ttl 1h`: mints an access token with the
// secret the server signs with (HELIX_JWT_SECRET's first, or the development secret in HELIX_DATA_DIR).
import { randomUUID } from 'node:crypto'
import { createSigner } from 'fast-jwt'
import { loadConfig, type Config } from '../../config/index.js'
import { SCOPES, parseTtl } from '../auth/index.js'
import { devSecretPath, readDevSecret } from '../dev-secret.js'
import { parseOptions, UsageError, type Command } from './command.js'

const help = `Usage: helix token --sub <subject> --scope <scopes> [--ttl <duration>] [--json]

Mints an access token (an HS256 JWT) and prints it on stdout.

Options:
  --sub <subject>    who the token is for, e.g. alice or ops (required)
  --scope <scopes>   the scopes it grants, separated by spaces or commas (required):
                     ${SCOPES.join(' ')}
                     (admin holds every scope)
  --ttl <duration>   how long it is valid, with a unit: 45s, 30m, 1h, 7d (default 1h)
  --json             print {"token","jti","sub","scope","exp"}: the jti is what
                     POST /admin/tokens/revoke takes to revoke the token
  -h, --help         show this help

The secret is HELIX_JWT_SECRET when set (the first one while it lists two). Without it (development), the one the server made at its
first start and keeps in $HELIX_DATA_DIR/jwt-secret (./data/jwt-secret), so run this from the
directory the server runs in. NODE_ENV=production requires HELIX_JWT_SECRET.

Examples:
  helix token --sub alice --scope "agents:read stream:read"
  ADMIN_TOKEN=$(helix token --sub ops --scope admin --ttl 1h)
`

function scopesFrom(value: string | undefined): string[] {
  const scopes = [...new Set((value ?? '').split(/[\s,]+/).filter(Boolean))]
  if (scopes.length === 0) throw new UsageError(`--scope is required, e.g. --scope "agents:read stream:read"; known scopes: ${SCOPES.join(' ')}`)
  const unknown = scopes.filter((s) => !(SCOPES as readonly string[]).includes(s))
  if (unknown.length > 0) throw new UsageError(`unknown scope ${unknown.map((s) => JSON.stringify(s)).join(', ')}; known scopes: ${SCOPES.join(' ')}`)
  return scopes
}

function ttlFrom(value: string): number {
  try {
    return parseTtl(value)
  } catch (err) {
    throw new UsageError(`--ttl ${(err as Error).message}`)
  }
}

/** The server's secret: the variable, else the development secret the server keeps. */
function signingSecret(config: Config): string {
  const secret = config.jwtSecret ?? readDevSecret(config.dataDir)
  if (!secret) {
    throw new Error(`no HELIX_JWT_SECRET, and no development secret in ${devSecretPath(config.dataDir)} yet: start the server once from this directory (npm start), or set HELIX_JWT_SECRET to the server's secret`)
  }
  return secret
}

export const tokenCommand: Command = {
  help,
  async run(args) {
    const options = parseOptions(args, { sub: { type: 'string' }, scope: { type: 'string' }, ttl: { type: 'string', default: '1h' }, json: { type: 'boolean', default: false } })
    const sub = options.sub?.trim()
    if (!sub) throw new UsageError('--sub is required: who the token is for, e.g. --sub alice')
    const scopes = scopesFrom(options.scope)
    const ttlSeconds = ttlFrom(options.ttl)
    const sign = createSigner({ key: signingSecret(loadConfig()), algorithm: 'HS256' })
    const claims = { sub, scope: scopes.join(' '), exp: Math.floor(Date.now() / 1000) + ttlSeconds, jti: randomUUID() }
    const token = sign(claims)
    process.stdout.write(options.json ? `${JSON.stringify({ token, ...claims })}\n` : `${token}\n`)
  }
}
