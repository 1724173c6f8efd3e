// The env contract: defaults, role parsing, and one clear line for every bad value.
import t from 'tap'
import { ConfigError, envSections, loadConfig, type EnvVar } from '../../config/index.js'
import { manifest } from '../../plugins/index.js'

/** Every variable this build reads: the kernel's and each plugin's settings. */
const envSpec: Record<string, EnvVar> = Object.assign({}, ...envSections(manifest).map(([, vars]) => vars))

const GARBAGE: Record<string, string> = {
  PORT: '80a',
  HOST: 'two words',
  HELIX_ROLE: 'all,nope',
  NODE_ENV: 'prod',
  LOG_LEVEL: 'loud',
  REDIS_URL: 'http://127.0.0.1:6379',
  HELIX_REDIS_PREFIX: 'has spaces',
  DATABASE_URL: 'mysql://localhost/db',
  HELIX_DATA_DIR: ' ',
  HELIX_JWT_SECRET: 'too-short-secret',
  HELIX_SERVICE_URLS: 'stream=ftp://x',
  HELIX_PUBLIC_URL: 'localhost:8080',
  HELIX_PUBLIC_URLS: 'stream',
  HELIX_HISTORY_LEN: '0',
  HELIX_METRICS_TOKEN: 'zq7-secret',
  HELIX_BODY_LIMIT: '-5',
  HELIX_HISTORY_TTL: '0',
  HELIX_LIVE_OWNER_TTL_MS: '100',
  HELIX_TRUST_PROXY: 'yes please',
  HELIX_RATE_PUBLISH: 'lots',
  HELIX_RATE_WRITE: 'fast',
  HELIX_RATE_WEBHOOK: '-1',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
  OTEL_SERVICE_NAME: 'helix orchestrator',
  HELIX_RETENTION_DAYS: 'forever',
  ZAPIER_SOURCES: '~',
  ZAPIER_SOURCES_FILE: ' ',
  HELIX_WEBHOOK_MAX_BYTES: '1',
  ZAPIER_LEASE_MS: '5',
  HELIX_OUTBOUND_ALLOW: 'two hosts',
  UNLEASH_URL: 'unleash.local',
  UNLEASH_API_TOKEN: ' ',
  UNLEASH_REFRESH_MS: '10',
  HELIX_FLAGS_BOOTSTRAP: ' ',
  RAILWAY_REPLICA_ID: ' ',
  HELIX_WS_MAX_BUFFER: '1e99',
  HELIX_WS_CONNECT_RATE: 'fast',
  HELIX_COMMAND_TIMEOUT_MS: 'soon',
  VOICE_PROVIDER: 'cloud',
  GOOGLE_APPLICATION_CREDENTIALS: ' ',
  GOOGLE_CREDENTIALS_JSON: 'not json at all',
  GOOGLE_SPEECH_ENDPOINT: 'ftp://speech.example.com',
  GOOGLE_TTS_ENDPOINT: 'http://two words',
  HELIX_VOICE_MAX_BYTES: '10MB',
  HELIX_VOICE_TTS_TIMEOUT_MS: '0',
  HELIX_VOICE_STT_TIMEOUT_MS: 'slow',
  HELIX_VOICE_RETRIES: '-1',
  HELIX_VOICE_BREAKER_THRESHOLD: '0',
  HELIX_VOICE_BREAKER_RESET_MS: '5',
  HELIX_VOICE_CONCURRENCY: '0',
  HELIX_VOICE_QUEUE: 'many',
  HELIX_VOICE_CACHE_TTL: '0',
  HELIX_VOICE_CACHE_BYTES: '1kb',
  DISCORD_TOKEN: 'bot token with spaces in it',
  DISCORD_APPLICATION_ID: 'helix-app',
  DISCORD_GUILD_ID: '12',
  DISCORD_ALERT_CHANNEL_ID: '#alerts',
  DISCORD_ADMIN_ROLE_ID: '@Admin',
  DISCORD_OPERATOR_ROLE_ID: 'operator',
  DISCORD_TELEMETRY_MINUTES: '-1',
  DISCORD_API_URL: 'discord.com/api',
  DISCORD_LEASE_TTL_MS: '10'
}

function errorFor(env: Record<string, string>): string {
  try {
    loadConfig(env, manifest)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  throw new Error(`no error for ${JSON.stringify(env)}`)
}

t.test('defaults give the embedded monolith', async (t) => {
  const config = loadConfig({})
  t.equal(config.port, 8080)
  t.equal(config.host, '::')
  t.same(config.roles, ['all'])
  t.equal(config.monolith, true)
  t.equal(config.redisUrl, null)
  t.equal(config.databaseUrl, null)
  t.equal(config.dataDir, './data')
  t.equal(config.historyLen, 1000)
  t.equal(config.publicUrl, 'http://localhost:8080')
  t.ok(Object.isFrozen(config), 'config is frozen')
})

t.test('every variable has a test value here', async (t) => {
  t.same(Object.keys(GARBAGE).sort(), Object.keys(envSpec).sort())
})

for (const [name, bad] of Object.entries(GARBAGE)) {
  t.test(`garbage in ${name} is one line naming it, with an example`, async (t) => {
    // Dedicated roles need Redis; give it so the error is about the variable under test.
    const message = errorFor({ [name]: bad })
    t.notMatch(message, /\n/, 'one line')
    t.match(message, name)
    t.match(message, /expected .+, e\.g\. /)
    if (envSpec[name].secret) t.notMatch(message, bad.trim(), 'a secret is never echoed')
    else t.match(message, JSON.stringify(bad))
  })
}

t.test('roles parse as a comma list', async (t) => {
  const config = loadConfig({ HELIX_ROLE: ' stream , orchestrator ', REDIS_URL: 'redis://127.0.0.1:6379', DATABASE_URL: 'postgres://p@h/db' }, manifest)
  t.same(config.roles, ['stream', 'orchestrator'])
  t.equal(config.monolith, false)
  t.same(loadConfig({ HELIX_ROLE: 'all' }).roles, ['all'])
  t.match(errorFor({ HELIX_ROLE: 'all,,voice' }), /unknown role ""/)
  t.match(errorFor({ HELIX_ROLE: 'Orchestrators' }), /unknown role "orchestrators"/)
})

t.test('a dedicated role needs Redis, and a plugin that declares needsDatabase PostgreSQL', async (t) => {
  t.match(errorFor({ HELIX_ROLE: 'stream' }), /^Missing REDIS_URL: role stream/)
  t.match(errorFor({ HELIX_ROLE: 'orchestrator', REDIS_URL: 'redis://r:6379' }), /^Missing DATABASE_URL/)
  t.equal(loadConfig({ HELIX_ROLE: 'stream', REDIS_URL: 'redis://r:6379' }, manifest).databaseUrl, null)
  t.same(loadConfig({ HELIX_ROLE: 'voice', REDIS_URL: 'redis://r:6379' }, manifest).roles, ['voice'], 'the voice service needs no database')
})

t.test('production requires a JWT secret', async (t) => {
  t.match(errorFor({ NODE_ENV: 'production' }), /^Missing HELIX_JWT_SECRET/)
  t.equal(loadConfig({ NODE_ENV: 'production', HELIX_JWT_SECRET: 'x'.repeat(32) }).jwtSecret, 'x'.repeat(32))
})

t.test('URL maps and flag overrides', async (t) => {
  const config = loadConfig({
    HELIX_SERVICE_URLS: 'stream=http://helix-stream:8080/, voice=https://voice.example.com',
    HELIX_FLAG_HELIX_VOICE_DEDICATED: 'on',
    HELIX_FLAG_HELIX_BOT_VOICE: 'off'
  })
  t.same(config.serviceUrls, { stream: 'http://helix-stream:8080', voice: 'https://voice.example.com' })
  t.same(config.flagEnv, { 'helix.voice.dedicated': true, 'helix.bot.voice': false })
  t.match(errorFor({ HELIX_FLAG_HELIX_BOT_VOICE: 'maybe' }), /^Invalid HELIX_FLAG_HELIX_BOT_VOICE="maybe": not a flag value/)
})
