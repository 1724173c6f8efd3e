// A Helix app with the bot plugin (and the real orchestrator) logged in to a fake Discord, for the
// bot's tests and benchmark: the fake, the app, and the slash commands registered in the fake guild.
import { loadConfig } from '../../config/index.js'
import { buildApp } from '../../core/app.js'
import type { PluginDescriptor } from '../../core/plugin.js'
import { createBotPlugin, type BotOptions } from '../../plugins/bot/index.js'
import { registerCommands } from '../../plugins/bot/registration.js'
import { createOrchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { voicePlugin } from '../../plugins/voice/index.js'
import { TEST_SECRET, tempDir } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { startFakeDiscord, type FakeDiscord, type FakeDiscordOptions } from '../helpers/fake-discord/index.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'

type Test = { teardown(fn: () => unknown): void }

export interface BotAppOptions {
  env?: Record<string, string | undefined>
  bot?: BotOptions
  /** Also load the orchestrator (default); false: the bot alone, its calls answered 503. */
  orchestrator?: boolean
  /** Also load the voice plugin (local provider: espeak-ng, pocketsphinx). */
  voice?: boolean
  /** A fake Discord to log in to (shared by two apps); a new one by default. */
  fake?: FakeDiscord
  fakeOptions?: FakeDiscordOptions
  /** Real PostgreSQL and Redis (default); false: the embedded default. */
  services?: boolean
  /** Redis prefix shared by apps that must see each other's lease. */
  prefix?: string
  databaseUrl?: string
}

/** The bot's env for a fake Discord: token, REST base, alert channel and roles. */
export function discordEnv(fake: FakeDiscord): Record<string, string> {
  return {
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.restUrl,
    DISCORD_ALERT_CHANNEL_ID: fake.guild.channels.alerts.id,
    DISCORD_OPERATOR_ROLE_ID: fake.guild.roles.operator.id,
    DISCORD_ADMIN_ROLE_ID: fake.guild.roles.admin.id,
    DISCORD_GUILD_ID: fake.guild.id
  }
}

export async function startBotApp(t: Test, options: BotAppOptions = {}) {
  const fake = options.fake ?? (await startFakeDiscord({ ackDeadlineMs: 15_000, ...options.fakeOptions }))
  const plugins: PluginDescriptor[] = [
    ...(options.orchestrator === false ? [] : [createOrchestratorPlugin()]),
    ...(options.voice ? [voicePlugin] : []),
    createBotPlugin({ coalesceMs: 100, minGapMs: 300, retryMs: 300, progressEditMs: 0, ...options.bot })
  ]
  const services = options.services === false
    ? {}
    : { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: options.prefix ?? redisPrefix(t, 'bot'), DATABASE_URL: options.databaseUrl ?? (await createTestDatabase(t, 'bot')) }
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HELIX_JWT_SECRET: TEST_SECRET,
    HELIX_DATA_DIR: tempDir(t),
    DISCORD_TELEMETRY_MINUTES: '0',
    ...services,
    ...discordEnv(fake),
    ...options.env
  }, plugins)
  const app = await buildApp(config, { plugins })
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await app.close()
  }
  // The client logs out before the fake stops, or it would keep reconnecting.
  t.teardown(async () => {
    await close()
    if (!options.fake) await fake.close()
  })
  await app.ready()
  return { fake, app, close }
}

/** Registers the bot's commands in the fake guild, so interactions carry typed options. */
export async function registerInFake(fake: FakeDiscord): Promise<void> {
  await registerCommands({ token: fake.token, apiUrl: fake.restUrl, guildId: fake.guild.id })
}
