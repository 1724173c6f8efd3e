// The bot's Prometheus metrics (`helix_bot_*`): slash commands by command and outcome, whether the
// Discord gateway session is open, and messages posted to channels by outcome.
import type { APIEmbed } from 'discord.js'
import { Counter, Gauge, type Registry } from 'prom-client'

export type InteractionOutcome = 'ok' | 'refused' | 'failed' | 'late'
type Send = (channelId: string, embeds: APIEmbed[]) => Promise<void>

export class BotMetrics {
  private readonly interactions: Counter<'command' | 'outcome'>
  private readonly posts: Counter<'outcome'>
  private loggedIn: () => boolean = () => false

  constructor(registry: Registry) {
    const registers = [registry]
    this.interactions = new Counter({
      name: 'helix_bot_interactions_total',
      help: 'Slash commands by command (unknown for one the bot lacks) and outcome: ok, refused (access, kill switch), failed (the member saw an error), late (not answered within Discord\'s 3 s)',
      labelNames: ['command', 'outcome'] as const,
      registers
    })
    this.posts = new Counter({
      name: 'helix_bot_posts_total',
      help: 'Messages the bot posted to channels (alerts, ritual completions, command results, telemetry), by outcome: sent or failed (kept and retried)',
      labelNames: ['outcome'] as const,
      registers
    })
    const sessionOpen = () => this.loggedIn()
    new Gauge({
      name: 'helix_bot_gateway_connected',
      help: 'Whether this process holds an open Discord gateway session (1) or not (0); exactly one process should',
      registers,
      collect() {
        this.set(sessionOpen() ? 1 : 0)
      }
    })
  }

  interaction(command: string, outcome: InteractionOutcome): void {
    this.interactions.inc({ command, outcome })
  }

  /** The gateway the gauge reads. */
  watchGateway(loggedIn: () => boolean): void {
    this.loggedIn = loggedIn
  }

  /** `send`, counting each message by outcome. */
  countedSend(send: Send): Send {
    return async (channelId, embeds) => {
      try {
        await send(channelId, embeds)
        this.posts.inc({ outcome: 'sent' })
      } catch (err) {
        this.posts.inc({ outcome: 'failed' })
        throw err
      }
    }
  }
}
