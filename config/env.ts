// The environment contract of the kernel: every variable it reads, its schema, default, an example of
// a good value and a line of documentation. Plugins declare theirs the same way (their `settings`);
// config/index.ts parses both once at boot, and `helix env` prints the README's table from them.
import { Type, type Static, type TSchema } from 'typebox'

export interface EnvVar<T extends TSchema = TSchema> {
  schema: T
  default?: string
  /** A good value, shown in the boot error when the variable is wrong. */
  example: string
  /** What a bad value was expected to be, in words. */
  expect: string
  doc: string
  /** Never echo the value in an error line or a log. */
  secret?: boolean
}

/** A set of variables: the kernel's sections, or one plugin's settings. */
export type EnvSpec = Record<string, EnvVar>

/** The parsed values of a spec: a variable with a default always has a value. */
export type SettingsOf<S extends EnvSpec> = {
  readonly [K in keyof S]: S[K] extends { default: string } ? Static<S[K]['schema']> : Static<S[K]['schema']> | undefined
}

type WithDefault<T extends TSchema> = EnvVar<T> & { default: string }

export const port = (def: string, doc: string): WithDefault<ReturnType<typeof Type.Integer>> => ({
  schema: Type.Integer({ minimum: 0, maximum: 65535 }),
  default: def,
  example: '8080',
  expect: 'an integer from 0 to 65535',
  doc
})

export const positiveInt = (def: string, min: number, max: number, doc: string): WithDefault<ReturnType<typeof Type.Integer>> => ({
  schema: Type.Integer({ minimum: min, maximum: max }),
  default: def,
  example: def,
  expect: `an integer from ${min} to ${max}`,
  doc
})

export const url = (protocols: string[], example: string, doc: string): EnvVar<ReturnType<typeof Type.String>> => ({
  schema: Type.String({ pattern: `^(${protocols.join('|')})://[^\\s]+$` }),
  example,
  expect: `a ${protocols.join(' or ')} URL`,
  doc
})

/** Comma list of `plugin=url` pairs, e.g. HELIX_SERVICE_URLS. */
const pluginUrlMap = (doc: string): EnvVar => ({
  schema: Type.String({ pattern: '^\\s*[a-z]+=https?://[^\\s,]+(\\s*,\\s*[a-z]+=https?://[^\\s,]+)*\\s*$' }),
  example: 'stream=http://helix-stream.railway.internal:8080,voice=http://helix-voice.railway.internal:8080',
  expect: 'a comma list of plugin=http(s)://host:port pairs',
  doc
})

/** The kernel's own variables. */
export const coreEnv = {
  PORT: port('8080', 'HTTP port to listen on.'),
  HOST: {
    schema: Type.String({ minLength: 1, pattern: '^[^\\s]+$' }),
    default: '::',
    example: '0.0.0.0',
    expect: 'a host name or IP address to bind',
    doc: 'Address to bind (`::` listens on every IPv4 and IPv6 address).'
  },
  HELIX_ROLE: {
    schema: Type.String({ minLength: 1 }),
    default: 'all',
    example: 'all',
    expect: 'a comma list of all, stream, orchestrator, voice, zapier, bot',
    doc: 'Which plugins this process loads: a comma list of `all`, `stream`, `orchestrator`, `voice`, `zapier`, `bot`.'
  },
  NODE_ENV: {
    schema: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')]),
    default: 'development',
    example: 'production',
    expect: 'one of development, production, test',
    doc: '`production` requires `HELIX_JWT_SECRET` and turns off the start-up admin link.'
  },
  LOG_LEVEL: {
    schema: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l))),
    default: 'info',
    example: 'info',
    expect: 'one of fatal, error, warn, info, debug, trace, silent',
    doc: 'pino log level. Logs are JSON, pretty-printed when stdout is a terminal.'
  },
  REDIS_URL: url(['redis', 'rediss'], 'redis://127.0.0.1:6379', 'Redis for the bus, history, flag overrides and leases. Unset: in-process bus (role `all` only).'),
  HELIX_REDIS_PREFIX: {
    schema: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$' }),
    default: 'helix:',
    example: 'helix:',
    expect: 'up to 64 letters, digits, or _ . : -',
    doc: 'Namespace of every Redis key and pub/sub channel, so deployments (or test runs) can share one Redis.'
  },
  DATABASE_URL: url(['postgres', 'postgresql'], 'postgres://postgres@127.0.0.1:5432/helix', 'PostgreSQL. Unset: SQLite at `$HELIX_DATA_DIR/helix.sqlite`.'),
  HELIX_DATA_DIR: {
    schema: Type.String({ minLength: 1 }),
    default: './data',
    example: './data',
    expect: 'a directory path',
    doc: 'Where local state lives: the embedded SQLite database and the development JWT secret (resolved from the working directory).'
  },
  HELIX_JWT_SECRET: {
    schema: Type.String({ minLength: 32, pattern: '^[^,]{32,}(,[^,]{32,})?$' }),
    example: '<at least 32 random characters, e.g. from `openssl rand -hex 32`>',
    expect: 'at least 32 characters, or two such secrets separated by a comma',
    doc: 'HS256 secret for access tokens; while rotating, two separated by a comma: the first signs, both verify. Required in production. Unset in development: made at first start and kept in `$HELIX_DATA_DIR/jwt-secret` (mode 0600), where `helix token` reads it too.',
    secret: true
  },
  HELIX_SERVICE_URLS: pluginUrlMap('Internal URL of each dedicated service (`all=` names the monolith): the monolith proxies a plugin it does not own there, and plugins call each other there.'),
  HELIX_PUBLIC_URL: url(['http', 'https'], 'https://helix.up.railway.app', 'Public URL of this service (links, discovery). Default: `http://localhost:$PORT`.'),
  HELIX_PUBLIC_URLS: pluginUrlMap('Public URL of each dedicated service, returned by discovery when that service owns a plugin.'),
  HELIX_HISTORY_LEN: positiveInt('1000', 1, 1_000_000, 'Events kept per bus channel for recovery.'),
  HELIX_HISTORY_TTL: positiveInt('86400', 1, 31_536_000, 'Seconds an idle sub-channel keeps its history (its epoch changes after).'),
  HELIX_LIVE_OWNER_TTL_MS: positiveInt('5000', 500, 60_000, 'Lifetime of a process\'s live-owner key (renewed every third of it): a dedicated service that dies hands its plugin back to the monolith within this time.'),
  HELIX_METRICS_TOKEN: {
    schema: Type.String({ minLength: 16 }),
    example: '<at least 16 random characters>',
    expect: 'at least 16 characters',
    doc: 'When set, `/metrics` requires `Authorization: Bearer <token>`.',
    secret: true
  },
  HELIX_BODY_LIMIT: positiveInt('1048576', 1024, 104_857_600, 'Largest accepted request body in bytes (`413` above it).'),
  HELIX_TRUST_PROXY: {
    schema: Type.String({ pattern: '^(false|true|[0-9a-fA-F.:/]+(\\s*,\\s*[0-9a-fA-F.:/]+)*)$' }),
    default: 'false',
    example: '10.0.0.0/8,100.64.0.0/10,fd00::/8',
    expect: 'false, or a comma list of the IPs/CIDRs your proxies connect from',
    doc: 'Proxies whose `X-Forwarded-For` is believed (it sets the client IP of per-IP limits): `false` (none), or the IPs/CIDRs the edge proxy connects from (on Railway, the private ranges `10.0.0.0/8,100.64.0.0/10,fd00::/8`). `true` believes any sender: a client could pick its own IP.'
  },
  HELIX_RATE_PUBLISH: positiveInt('600', 1, 10_000_000, 'Events one subject may publish per minute (`429` with `Retry-After` above it).'),
  HELIX_RATE_WRITE: positiveInt('1200', 1, 10_000_000, 'Commands, orchestrations and rituals one subject may start per minute.'),
  HELIX_RATE_WEBHOOK: positiveInt('12000', 1, 10_000_000, 'Inbound webhooks one source may send per minute.'),
  OTEL_EXPORTER_OTLP_ENDPOINT: url(['http', 'https'], 'http://otel-collector.railway.internal:4318', 'OpenTelemetry collector (OTLP) that receives traces. Unset: tracing is off. The standard `OTEL_*` variables (`OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_TRACES_SAMPLER`, ...) apply; see `docs/tracing.md`.'),
  OTEL_SERVICE_NAME: {
    schema: Type.String({ minLength: 1, pattern: '^[^\\s]+$' }),
    example: 'helix-orchestrator',
    expect: 'a service name without spaces',
    doc: 'Service name on this process\'s traces. Default: `helix-<role>` (`helix-all`, `helix-orchestrator`), as the Unleash app name.'
  }
} satisfies Record<string, EnvVar>

/** Flags and ownership (flags/). `HELIX_FLAG_<NAME>=on|off` env overrides are read as a prefix. */
export const flagsEnv = {
  UNLEASH_URL: url(['http', 'https'], 'https://unleash.example.com/api', 'Unleash API URL. Unset: flags come from the bootstrap file and env overrides only.'),
  UNLEASH_API_TOKEN: {
    schema: Type.String({ minLength: 1 }),
    example: '*:production.abc123',
    expect: 'an Unleash client API token',
    doc: 'Unleash client API token (sent as the `Authorization` header).',
    secret: true
  },
  UNLEASH_REFRESH_MS: positiveInt('3000', 100, 3_600_000, 'How often the Unleash client polls for flag changes.'),
  HELIX_FLAGS_BOOTSTRAP: {
    schema: Type.String({ minLength: 1 }),
    default: 'flags/bootstrap.json',
    example: 'flags/bootstrap.json',
    expect: 'a path to a JSON file in Unleash client-features format',
    doc: 'Bootstrap flags (Unleash client-features format), relative to the project root.'
  },
  RAILWAY_REPLICA_ID: {
    schema: Type.String({ minLength: 1 }),
    example: 'a1b2c3',
    expect: 'a non-empty string',
    doc: 'Set by Railway; the Unleash instance id (default: the host name).'
  }
} satisfies Record<string, EnvVar>

export const envSpec = { ...coreEnv, ...flagsEnv }
export type EnvName = keyof typeof envSpec

/** Prefix of per-flag env overrides: HELIX_FLAG_HELIX_VOICE_DEDICATED=on. */
export const FLAG_ENV_PREFIX = 'HELIX_FLAG_'
