// A monolith with every plugin on the real services (Redis, PostgreSQL), the bot logged in to a fake
// Discord and voice on the local provider, for the observability tests; and scraping its /metrics.
import type { FastifyInstance } from 'fastify'
import { loadConfig } from '../../config/index.js'
import { buildApp } from '../../core/app.js'
import type { PluginDescriptor } from '../../core/plugin.js'
import { createBotPlugin } from '../../plugins/bot/index.js'
import { manifest } from '../../plugins/index.js'
import { discordEnv } from '../bot/bot-app.js'
import { TEST_SECRET, tempDir } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord/index.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { SOURCES } from '../zapier/helpers.js'
import { parsePrometheus, type Scrape } from './prom-text.js'

type Test = { teardown(fn: () => unknown): void }

export async function startMonolith(t: Test, env: Record<string, string> = {}): Promise<{ app: FastifyInstance; fake: FakeDiscord }> {
  const fake = await startFakeDiscord({ ackDeadlineMs: 15_000 })
  const plugins: PluginDescriptor[] = manifest.map((p) => (p.name === 'bot' ? createBotPlugin({ coalesceMs: 50, minGapMs: 100, retryMs: 300, progressEditMs: 0 }) : p))
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HELIX_JWT_SECRET: TEST_SECRET,
    HELIX_DATA_DIR: tempDir(t),
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: redisPrefix(t, 'obs'),
    DATABASE_URL: await createTestDatabase(t, 'obs'),
    ZAPIER_SOURCES: SOURCES,
    VOICE_PROVIDER: 'local',
    DISCORD_TELEMETRY_MINUTES: '0',
    ...discordEnv(fake),
    ...env
  }, plugins)
  const app = await buildApp(config, { plugins })
  t.teardown(async () => {
    await app.close()
    await fake.close()
  })
  await app.ready()
  // Under-pressure answers 503 while the event loop is still catching up on the boot's work.
  await waitFor(async () => (await app.inject({ url: '/metrics' })).statusCode === 200, 'the first scrape', 20_000, 100)
  return { app, fake }
}

export async function scrape(app: FastifyInstance): Promise<Scrape> {
  const res = await app.inject({ url: '/metrics' })
  if (res.statusCode !== 200) throw new Error(`GET /metrics answered ${res.statusCode}: ${res.body}`)
  return parsePrometheus(res.body)
}
