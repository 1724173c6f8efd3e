// The Discord bot plugin (DESIGN section 12): slash commands, live posts and voice, as a client of the
// other plugins through the kernel's clients. Its one worker is the gateway session, run only in the
// process that owns the bot and holds the `bot` lease (`helix:lease:bot`): never two sessions.
import { ownershipFlag } from '../../flags/names.js'
import { definePlugin, type PluginDescriptor } from '../../core/plugin.js'
import { ChannelPoster } from './channel-poster.js'
import { ChoiceSource } from './autocomplete.js'
import { GatewayWorker } from './gateway-worker.js'
import { InteractionRouter } from './interaction-router.js'
import { BotMetrics } from './metrics.js'
import { LiveFeed } from './live-feed.js'
import { MemoryPendingPosts, RedisPendingPosts } from './pending-posts.js'
import { RitualWatcher } from './ritual-watcher.js'
import { botSettings } from './settings.js'
import { slashHandlers } from './slash-handlers.js'
import { GuildPlayers } from './voice/guild-players.js'
import { VoiceChannels } from './voice/voice-channels.js'

export interface BotOptions {
  /** Post pacing (tests and the benchmark shorten them). */
  coalesceMs?: number
  minGapMs?: number
  retryMs?: number
  /** Shortest gap between two progress edits of a /ritual reply. */
  progressEditMs?: number
  /** The telemetry period in ms instead of DISCORD_TELEMETRY_MINUTES (tests). */
  telemetryMs?: number
}

/** How long /command and /ritual follow their outcome: well inside an interaction token's 15 minutes. */
const FOLLOW_MS = 10 * 60_000

export function createBotPlugin(options: BotOptions = {}): PluginDescriptor {
  return definePlugin({
    name: 'bot',
    title: 'Discord bot (`plugins/bot`)',
    roles: ['bot'],
    ownershipFlag: ownershipFlag('bot'),
    lease: 'bot',
    leaseTtlMs: (settings) => settings.DISCORD_LEASE_TTL_MS,
    settings: botSettings,
    create(kernel, _app, settings) {
      const log = kernel.log.child({ plugin: 'bot' })
      const metrics = new BotMetrics(kernel.metrics)
      if (!settings.DISCORD_TOKEN) {
        log.info('DISCORD_TOKEN is not set: the Discord bot stays off')
        return {}
      }
      const redis = kernel.redis?.('bot') ?? null
      const pending = redis ? new RedisPendingPosts(redis, kernel.config.redisPrefix) : new MemoryPendingPosts()
      const rituals = new RitualWatcher(kernel.bus)
      const voice = new VoiceChannels({ voice: kernel.clients.voice, players: new GuildPlayers(), log, post: (channelId, embed) => poster.post(channelId, embed) })
      const router = new InteractionRouter({
        handlers: {
          ...slashHandlers({ clients: kernel.clients, rituals, followMs: FOLLOW_MS, progressEditMs: options.progressEditMs ?? 1500 }),
          ...voice.handlers()
        },
        choices: new ChoiceSource(kernel.clients.orchestrator),
        access: { operatorRoleId: settings.DISCORD_OPERATOR_ROLE_ID, adminRoleId: settings.DISCORD_ADMIN_ROLE_ID },
        flags: kernel.flags,
        log,
        metrics
      })
      // The poster sends through the gateway's client, whichever session is current.
      const poster: ChannelPoster = new ChannelPoster({ send: metrics.countedSend((channelId, embeds): Promise<void> => gateway.send(channelId, embeds)), pending, log, coalesceMs: options.coalesceMs, minGapMs: options.minGapMs, retryMs: options.retryMs })
      const feed = new LiveFeed({
        bus: kernel.bus,
        poster,
        orchestrator: kernel.clients.orchestrator,
        log,
        alertChannelId: settings.DISCORD_ALERT_CHANNEL_ID ?? null,
        telemetryMs: options.telemetryMs ?? settings.DISCORD_TELEMETRY_MINUTES * 60_000
      })
      const gateway = new GatewayWorker({
        token: settings.DISCORD_TOKEN,
        apiUrl: settings.DISCORD_API_URL,
        router,
        feed,
        poster,
        log,
        retryMs: options.retryMs,
        onClient: (client) => voice.setClient(client)
      })
      metrics.watchGateway(() => gateway.isLoggedIn())
      return {
        workers: [gateway],
        close: async () => {
          await rituals.close()
          if (redis) await redis.quit().catch(() => redis.disconnect())
        }
      }
    }
  })
}

export const botPlugin = createBotPlugin()
