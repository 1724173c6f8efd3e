// What Helix posts on its own (DESIGN section 12): alerts, ritual completions and failed commands
// from the bus, post requests from other plugins (`bot.posts`), and the UCF telemetry embed every
// DISCORD_TELEMETRY_MINUTES, all to the alert channel through the ChannelPoster.
import type { Logger } from 'pino'
import type { Bus, BusHandler, InternalHandler } from '../../core/bus/types.js'
import type { OrchestratorClient } from '../../core/clients/index.js'
import type { Command, Ritual } from '../../core/contracts/orchestrator.js'
import { BOT_POSTS_CHANNEL, type BotPostRequest } from '../../core/contracts/bot.js'
import type { ChannelPoster } from './channel-poster.js'
import { alertEmbed, failedCommandEmbed, noticeEmbed, ritualDoneEmbed, statusEmbed, type AlertLike } from './embeds.js'

export interface LiveFeedDeps {
  bus: Bus
  poster: ChannelPoster
  orchestrator: OrchestratorClient
  log: Logger
  /** Where posts go; null: only requests that name their channel are posted. */
  alertChannelId: string | null
  /** 0: no telemetry embed. */
  telemetryMs: number
}

const FAILED: ReadonlySet<string> = new Set(['failed', 'timed_out'])
const TELEMETRY_ACTOR = 'service:bot-telemetry'

export class LiveFeed {
  private telemetry: NodeJS.Timeout | undefined

  constructor(private readonly deps: LiveFeedDeps) {}

  async start(): Promise<void> {
    const { bus, alertChannelId, telemetryMs } = this.deps
    await bus.subscribeInternal(BOT_POSTS_CHANNEL, this.onRequest)
    if (!alertChannelId) return
    await Promise.all([
      bus.subscribe('alerts', this.onAlert),
      bus.subscribe('rituals', this.onRitual),
      bus.subscribe('commands', this.onCommand)
    ])
    if (telemetryMs > 0) this.telemetry = setInterval(() => void this.postTelemetry(), telemetryMs).unref()
  }

  async stop(): Promise<void> {
    clearInterval(this.telemetry)
    const { bus } = this.deps
    await Promise.allSettled([
      bus.unsubscribeInternal(BOT_POSTS_CHANNEL, this.onRequest),
      bus.unsubscribe('alerts', this.onAlert),
      bus.unsubscribe('rituals', this.onRitual),
      bus.unsubscribe('commands', this.onCommand)
    ])
  }

  /** The telemetry embed now (the ticker calls it every DISCORD_TELEMETRY_MINUTES). */
  async postTelemetry(): Promise<void> {
    const { alertChannelId, orchestrator, poster } = this.deps
    if (!alertChannelId) return
    try {
      const calls = orchestrator.for(TELEMETRY_ACTOR)
      const [ucf, summary] = await Promise.all([calls.ucf(), calls.agentSummary()])
      poster.post(alertChannelId, statusEmbed(ucf, summary, 'UCF telemetry'))
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'UCF telemetry skipped: the orchestrator did not answer')
    }
  }

  private post(embed: Parameters<ChannelPoster['post']>[1], channelId = this.deps.alertChannelId): void {
    if (channelId) this.deps.poster.post(channelId, embed)
  }

  private readonly onAlert: BusHandler = (event) => {
    if (event.type === 'alert.raised' || event.type === 'alert.resolved') this.post(alertEmbed(event.data as AlertLike, event.type === 'alert.resolved'))
  }

  private readonly onRitual: BusHandler = (event) => {
    if (event.type === 'ritual.completed') this.post(ritualDoneEmbed(event.data as Ritual))
  }

  private readonly onCommand: BusHandler = (event) => {
    const command = event.data as Command
    if (event.type === 'command.updated' && FAILED.has(command.status)) this.post(failedCommandEmbed(command))
  }

  private readonly onRequest: InternalHandler = (event) => {
    const request = event.data as Partial<BotPostRequest>
    if (typeof request.message !== 'string' || request.message.trim() === '') {
      this.deps.log.warn({ source: request.source }, 'a bot.posts request without a message was ignored')
      return
    }
    const channelId = typeof request.channelId === 'string' && /^\d{15,20}$/.test(request.channelId) ? request.channelId : this.deps.alertChannelId
    this.post(noticeEmbed(request.message, request.source ?? event.source), channelId)
  }
}
