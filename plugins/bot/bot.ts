// The bot at run time, in a process that runs it (DISCORD_TOKEN set): the gateway session, the
// interaction router, the channel poster and the live feed, wired to the kernel's clients.
import type { Logger } from 'pino'
import type { Kernel, PluginInstance } from '../../core/plugin.js'
import type { SettingsOf } from '../../config/env.js'
import { ChannelPoster } from './channel-poster.js'
import { ChoiceSource } from './autocomplete.js'
import { GatewayWorker } from './gateway-worker.js'
import type { BotOptions } from './index.js'
import { InteractionRouter } from './interaction-router.js'
import type { BotMetrics } from './metrics.js'
import { LiveFeed } from './live-feed.js'
import { MemoryPendingPosts, RedisPendingPosts } from './pending-posts.js'
import { RitualWatcher } from './ritual-watcher.js'
import type { botSettings } from './settings.js'
import { slashHandlers } from './slash-handlers.js'
import { GuildPlayers } from './voice/guild-players.js'
import { VoiceChannels } from './voice/voice-channels.js'

/** How long /command and /ritual follow their outcome: well inside an interaction token's 15 minutes. */
const FOLLOW_MS = 10 * 60_000

interface BotDeps {
  kernel: Kernel
  settings: SettingsOf<typeof botSettings>
  token: string
  options: BotOptions
  log: Logger
  metrics: BotMetrics
}

export function startBot({ kernel, settings, token, options, log, metrics }: BotDeps): PluginInstance {
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
    token,
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
