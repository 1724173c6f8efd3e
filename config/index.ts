// Parses the environment once at boot into a frozen Config. A bad value becomes a ConfigError whose
// message is one line: the variable, what is wrong, and an example of a good value.
import { Value } from 'typebox/value'
import { envSpec, FLAG_ENV_PREFIX, type EnvVar } from './env.js'
import { isRole, type Role } from './roles.js'

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export interface Config {
  port: number
  host: string
  roles: readonly Role[]
  /** The process runs every plugin (role `all`). */
  monolith: boolean
  nodeEnv: 'development' | 'production' | 'test'
  logLevel: string
  redisUrl: string | null
  /** Prefix of every Redis key and channel (`helix:`). */
  redisPrefix: string
  databaseUrl: string | null
  dataDir: string
  jwtSecret: string | null
  serviceUrls: Readonly<Record<string, string>>
  publicUrl: string
  publicUrls: Readonly<Record<string, string>>
  historyLen: number
  metricsToken: string | null
  bodyLimit: number
  unleash: { url: string | null; apiToken: string | null; refreshMs: number; instanceId: string | null }
  flagsBootstrap: string
  /** `HELIX_FLAG_HELIX_VOICE_DEDICATED=on` becomes `{"helix.voice.dedicated": true}`. */
  flagEnv: Readonly<Record<string, boolean>>
  stream: { maxBuffer: number; connectRate: number }
  orchestrator: { commandTimeoutMs: number }
}

type Env = Record<string, string | undefined>

function fail(name: string, spec: EnvVar, raw: string, problem: string): never {
  const shown = spec.secret ? `(${raw.length} characters, value hidden)` : JSON.stringify(raw)
  throw new ConfigError(`Invalid ${name}=${shown}: ${problem}; expected ${spec.expect}, e.g. ${name}=${spec.example}`)
}

const PROBLEMS: Record<string, string> = {
  type: 'is not a whole number',
  minimum: 'is too small',
  maximum: 'is too large',
  minLength: 'is too short',
  pattern: 'has the wrong form',
  const: 'is not one of the allowed values',
  anyOf: 'is not one of the allowed values'
}

function read(env: Env, name: keyof typeof envSpec): unknown {
  const spec: EnvVar = envSpec[name]
  const raw = env[name]
  if (raw === undefined || raw === '') {
    return spec.default === undefined ? undefined : Value.Convert(spec.schema, spec.default)
  }
  const value = Value.Convert(spec.schema, raw.trim())
  if (!Value.Check(spec.schema, value)) {
    const [first] = Value.Errors(spec.schema, value)
    fail(name, spec, raw, PROBLEMS[first?.keyword ?? ''] ?? 'is not valid')
  }
  return value
}

function parseUrlMap(env: Env, name: 'HELIX_SERVICE_URLS' | 'HELIX_PUBLIC_URLS'): Record<string, string> {
  const value = read(env, name) as string | undefined
  if (!value) return {}
  const map: Record<string, string> = {}
  for (const pair of value.split(',')) {
    const [plugin, url] = pair.trim().split(/=(.*)/s) as [string, string]
    map[plugin] = url.replace(/\/+$/, '')
  }
  return map
}

function parseRoles(env: Env): Role[] {
  const raw = env.HELIX_ROLE ?? ''
  const names = (raw.trim() === '' ? 'all' : raw).split(',').map((r) => r.trim().toLowerCase())
  const unknown = names.filter((n) => !isRole(n))
  if (unknown.length > 0 || names.length === 0) {
    fail('HELIX_ROLE', envSpec.HELIX_ROLE, raw, `unknown role ${unknown.map((u) => JSON.stringify(u)).join(', ')}`)
  }
  return [...new Set(names)] as Role[]
}

const FLAG_VALUES: Record<string, boolean> = { on: true, true: true, '1': true, yes: true, off: false, false: false, '0': false, no: false }

function parseFlagEnv(env: Env): Record<string, boolean> {
  const flags: Record<string, boolean> = {}
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith(FLAG_ENV_PREFIX) || raw === undefined) continue
    const value = FLAG_VALUES[raw.trim().toLowerCase()]
    if (value === undefined) {
      throw new ConfigError(`Invalid ${key}=${JSON.stringify(raw)}: not a flag value; expected on or off, e.g. ${key}=on`)
    }
    flags[key.slice(FLAG_ENV_PREFIX.length).toLowerCase().replaceAll('_', '.')] = value
  }
  return flags
}

export function loadConfig(env: Env = process.env): Config {
  const roles = parseRoles(env)
  const port = read(env, 'PORT') as number
  const nodeEnv = read(env, 'NODE_ENV') as Config['nodeEnv']
  const jwtSecret = (read(env, 'HELIX_JWT_SECRET') as string | undefined) ?? null
  if (nodeEnv === 'production' && !jwtSecret) {
    throw new ConfigError('Missing HELIX_JWT_SECRET: required when NODE_ENV=production; expected at least 32 characters, e.g. HELIX_JWT_SECRET=$(openssl rand -hex 32)')
  }
  const redisUrl = (read(env, 'REDIS_URL') as string | undefined) ?? null
  const databaseUrl = (read(env, 'DATABASE_URL') as string | undefined) ?? null
  const monolith = roles.includes('all')
  if (!monolith && !redisUrl) {
    throw new ConfigError(`Missing REDIS_URL: role ${roles.join(',')} shares state with other services through Redis; expected a redis URL, e.g. REDIS_URL=redis://127.0.0.1:6379`)
  }
  if (!monolith && !databaseUrl && (roles.includes('orchestrator') || roles.includes('zapier'))) {
    throw new ConfigError(`Missing DATABASE_URL: role ${roles.join(',')} keeps durable state in PostgreSQL; expected a postgres URL, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/helix`)
  }
  const config: Config = {
    port,
    host: read(env, 'HOST') as string,
    roles,
    monolith,
    nodeEnv,
    logLevel: read(env, 'LOG_LEVEL') as string,
    redisUrl,
    redisPrefix: read(env, 'HELIX_REDIS_PREFIX') as string,
    databaseUrl,
    dataDir: read(env, 'HELIX_DATA_DIR') as string,
    jwtSecret,
    serviceUrls: Object.freeze(parseUrlMap(env, 'HELIX_SERVICE_URLS')),
    publicUrl: ((read(env, 'HELIX_PUBLIC_URL') as string | undefined) ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    publicUrls: Object.freeze(parseUrlMap(env, 'HELIX_PUBLIC_URLS')),
    historyLen: read(env, 'HELIX_HISTORY_LEN') as number,
    metricsToken: (read(env, 'HELIX_METRICS_TOKEN') as string | undefined) ?? null,
    bodyLimit: read(env, 'HELIX_BODY_LIMIT') as number,
    unleash: Object.freeze({
      url: (read(env, 'UNLEASH_URL') as string | undefined) ?? null,
      apiToken: (read(env, 'UNLEASH_API_TOKEN') as string | undefined) ?? null,
      refreshMs: read(env, 'UNLEASH_REFRESH_MS') as number,
      instanceId: (read(env, 'RAILWAY_REPLICA_ID') as string | undefined) ?? null
    }),
    flagsBootstrap: read(env, 'HELIX_FLAGS_BOOTSTRAP') as string,
    flagEnv: Object.freeze(parseFlagEnv(env)),
    stream: Object.freeze({ maxBuffer: read(env, 'HELIX_WS_MAX_BUFFER') as number, connectRate: read(env, 'HELIX_WS_CONNECT_RATE') as number }),
    orchestrator: Object.freeze({ commandTimeoutMs: read(env, 'HELIX_COMMAND_TIMEOUT_MS') as number })
  }
  return Object.freeze(config)
}
