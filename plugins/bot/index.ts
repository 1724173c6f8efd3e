// The Discord bot plugin (DESIGN section 12): slash commands, live posts and voice, as a client of the
// other plugins through the kernel's clients. Its one worker is the gateway session, run only in the
// process that owns the bot and holds the `bot` lease (`helix:lease:bot`): never two sessions.
import { ownershipFlag } from '../../flags/names.js'
import { definePlugin, type PluginDescriptor } from '../../core/plugin.js'
import { BotMetrics } from './metrics.js'
import { botSettings } from './settings.js'

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

export function createBotPlugin(options: BotOptions = {}): PluginDescriptor {
  return definePlugin({
    name: 'bot',
    title: 'Discord bot (`plugins/bot`)',
    roles: ['bot'],
    ownershipFlag: ownershipFlag('bot'),
    lease: 'bot',
    leaseTtlMs: (settings) => settings.DISCORD_LEASE_TTL_MS,
    settings: botSettings,
    async create(kernel, _app, settings) {
      const log = kernel.log.child({ plugin: 'bot' })
      const metrics = new BotMetrics(kernel.metrics)
      if (!settings.DISCORD_TOKEN) {
        log.info('DISCORD_TOKEN is not set: the Discord bot stays off')
        return {}
      }
      // discord.js and the voice libraries are loaded only by a process that runs the bot.
      const { startBot } = await import('./bot.js')
      return startBot({ kernel, settings, token: settings.DISCORD_TOKEN, options, log, metrics })
    }
  })
}

export const botPlugin = createBotPlugin()
