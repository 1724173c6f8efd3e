// Parses the environment once at boot into a frozen Config: the kernel's variables and the settings
// each plugin of the manifest declares. A bad value becomes a ConfigError whose message is one line:
// the variable, what is wrong, and an example of a good value.
import { Value } from 'typebox/value'
import { coreEnv, envSpec, flagsEnv, FLAG_ENV_PREFIX, type EnvSpec, type EnvVar } from './env.js'
import { isRole, type Role } from './roles.js'

export type { EnvSpec, EnvVar, SettingsOf } from './env.js'

/** What config needs to know of a plugin: its name, the roles that load it, and its settings. */
export interface PluginSettings {
  name: string
  /** Heading of its settings in `helix env` and the README. */
  title?: string
  roles?: readonly string[]
  /** Needs PostgreSQL outside the monolith. */
  needsDatabase?: boolean
  settings?: EnvSpec
}

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
  /** The secret that signs tokens: the first of HELIX_JWT_SECRET. */
  jwtSecret: string | null
  /** Every secret a token may be signed with, the signing one first (two while rotating). */
  jwtSecrets: readonly string[]
  serviceUrls: Readonly<Record<string, string>>
  publicUrl: string
  publicUrls: Readonly<Record<string, string>>
  historyLen: number
  /** Seconds an idle sub-channel (`<channel>:<name>`) keeps its history. */
  historyTtlSeconds: number
  liveOwnerTtlMs: number
  metricsToken: string | null
  bodyLimit: number
  /** OpenTelemetry: the OTLP endpoint (null: tracing off) and this process's service name. */
  otel: { endpoint: string | null; serviceName: string }
  /** Fastify's trustProxy: false, or the proxies' addresses (true: anyone). */
  trustProxy: boolean | string[]
  /** Per-minute limits (DESIGN section 7). */
  rates: { publish: number; write: number; webhook: number }
  unleash: { url: string | null; apiToken: string | null; refreshMs: number; instanceId: string | null }
  flagsBootstrap: string
  /** `HELIX_FLAG_HELIX_VOICE_DEDICATED=on` becomes `{"helix.voice.dedicated": true}`. */
  flagEnv: Readonly<Record<string, boolean>>
  /** Each plugin's parsed settings, by plugin name. */
  settings: Readonly<Record<string, Readonly<Record<string, unknown>>>>
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
  return readVar(env, name, envSpec[name])
}

function readVar(env: Env, name: string, spec: EnvVar): unknown {
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

/** Fastify 5 refuses hop counts (they cannot tell a proxy from a client): addresses or nothing. */
function parseTrustProxy(value: string): boolean | string[] {
  if (value === 'false') return false
  if (value === 'true') return true
  return value.split(',').map((v) => v.trim())
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

function parseSettings(env: Env, plugins: readonly PluginSettings[]): Record<string, Readonly<Record<string, unknown>>> {
  const settings: Record<string, Readonly<Record<string, unknown>>> = {}
  for (const plugin of plugins) {
    const values: Record<string, unknown> = {}
    for (const [name, spec] of Object.entries(plugin.settings ?? {})) values[name] = readVar(env, name, spec)
    settings[plugin.name] = Object.freeze(values)
  }
  return settings
}

/** Every role must be served by some plugin of this build: a role nothing loads would boot green doing nothing. */
function checkRolesServed(roles: readonly Role[], plugins: readonly PluginSettings[]): void {
  const served = new Set(plugins.flatMap((p) => p.roles ?? []))
  const idle = roles.filter((r) => r !== 'all' && !served.has(r))
  if (idle.length > 0) {
    const available = ['all', ...served].join(', ')
    throw new ConfigError(`Invalid HELIX_ROLE=${JSON.stringify(roles.join(','))}: no plugin in this build serves role ${idle.join(', ')}; expected one of ${available}, e.g. HELIX_ROLE=all`)
  }
}

/**
 * Reads the environment. `plugins` is the manifest (its names, roles and settings): with it the
 * roles are checked against what the build can serve and each plugin's settings are parsed.
 */
export function loadConfig(env: Env = process.env, plugins?: readonly PluginSettings[]): Config {
  const roles = parseRoles(env)
  if (plugins) checkRolesServed(roles, plugins)
  const port = read(env, 'PORT') as number
  const nodeEnv = read(env, 'NODE_ENV') as Config['nodeEnv']
  const jwtSecrets = ((read(env, 'HELIX_JWT_SECRET') as string | undefined) ?? '').split(',').filter(Boolean)
  const jwtSecret = jwtSecrets[0] ?? null
  if (nodeEnv === 'production' && !jwtSecret) {
    throw new ConfigError('Missing HELIX_JWT_SECRET: required when NODE_ENV=production; expected at least 32 characters, e.g. HELIX_JWT_SECRET=$(openssl rand -hex 32)')
  }
  const redisUrl = (read(env, 'REDIS_URL') as string | undefined) ?? null
  const databaseUrl = (read(env, 'DATABASE_URL') as string | undefined) ?? null
  const monolith = roles.includes('all')
  if (!monolith && !redisUrl) {
    throw new ConfigError(`Missing REDIS_URL: role ${roles.join(',')} shares state with other services through Redis; expected a redis URL, e.g. REDIS_URL=redis://127.0.0.1:6379`)
  }
  const needDatabase = (plugins ?? []).filter((p) => p.needsDatabase && p.roles?.some((r) => roles.includes(r as Role)))
  if (!monolith && !databaseUrl && needDatabase.length > 0) {
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
    jwtSecrets: Object.freeze(jwtSecrets),
    serviceUrls: Object.freeze(parseUrlMap(env, 'HELIX_SERVICE_URLS')),
    publicUrl: ((read(env, 'HELIX_PUBLIC_URL') as string | undefined) ?? `http://localhost:${port}`).replace(/\/+$/, ''),
    publicUrls: Object.freeze(parseUrlMap(env, 'HELIX_PUBLIC_URLS')),
    historyLen: read(env, 'HELIX_HISTORY_LEN') as number,
    historyTtlSeconds: read(env, 'HELIX_HISTORY_TTL') as number,
    liveOwnerTtlMs: read(env, 'HELIX_LIVE_OWNER_TTL_MS') as number,
    metricsToken: (read(env, 'HELIX_METRICS_TOKEN') as string | undefined) ?? null,
    bodyLimit: read(env, 'HELIX_BODY_LIMIT') as number,
    otel: Object.freeze({
      endpoint: (read(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') as string | undefined) ?? null,
      serviceName: (read(env, 'OTEL_SERVICE_NAME') as string | undefined) ?? `helix-${roles.join('-')}`
    }),
    trustProxy: parseTrustProxy(read(env, 'HELIX_TRUST_PROXY') as string),
    rates: Object.freeze({
      publish: read(env, 'HELIX_RATE_PUBLISH') as number,
      write: read(env, 'HELIX_RATE_WRITE') as number,
      webhook: read(env, 'HELIX_RATE_WEBHOOK') as number
    }),
    unleash: Object.freeze({
      url: (read(env, 'UNLEASH_URL') as string | undefined) ?? null,
      apiToken: (read(env, 'UNLEASH_API_TOKEN') as string | undefined) ?? null,
      refreshMs: read(env, 'UNLEASH_REFRESH_MS') as number,
      instanceId: (read(env, 'RAILWAY_REPLICA_ID') as string | undefined) ?? null
    }),
    flagsBootstrap: read(env, 'HELIX_FLAGS_BOOTSTRAP') as string,
    flagEnv: Object.freeze(parseFlagEnv(env)),
    settings: Object.freeze(parseSettings(env, plugins ?? []))
  }
  return Object.freeze(config)
}

/** The environment table's sections: the kernel's, then each plugin's settings, in manifest order. */
export function envSections(plugins: readonly PluginSettings[]): Array<[title: string, vars: EnvSpec]> {
  const sections: Array<[string, EnvSpec]> = [['Kernel', coreEnv], ['Flags and ownership', flagsEnv]]
  for (const plugin of plugins) {
    if (plugin.settings && Object.keys(plugin.settings).length > 0) sections.push([plugin.title ?? `\`plugins/${plugin.name}\``, plugin.settings])
  }
  return sections
}
