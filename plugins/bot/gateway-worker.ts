// The Discord gateway session as a Worker: the supervisor starts it only in the process that owns
// the bot and holds the `bot` lease, so exactly one session exists; start() logs in (retrying while
// Discord is unreachable), stop() hands queued posts over and logs out.
import { Client, Events, GatewayIntentBits, Routes, type APIEmbed } from 'discord.js'
import type { Logger } from 'pino'
import type { Worker } from '../../core/plugin.js'
import type { ChannelPoster } from './channel-poster.js'
import type { InteractionRouter } from './interaction-router.js'
import type { LiveFeed } from './live-feed.js'

/** How long a stop waits for interactions in flight before logging out (well inside the supervisor's 8 s). */
const DRAIN_MS = 3000

export interface GatewayDeps {
  token: string
  /** Discord's REST base (DISCORD_API_URL); discord.js appends /v10 and finds the gateway through it. */
  apiUrl: string
  router: InteractionRouter
  feed: LiveFeed
  poster: ChannelPoster
  log: Logger
  /** Called with the logged-in client (voice needs its guilds), and with null at logout. */
  onClient?(client: Client | null): Promise<void> | void
  /** Pause between login attempts while Discord cannot be reached. */
  retryMs?: number
}

export class GatewayWorker implements Worker {
  readonly name = 'discord-gateway'
  private client: Client | null = null
  private retry: NodeJS.Timeout | undefined
  private running = false
  /** Ends a login attempt still waiting for READY when the worker is stopped. */
  private abandon: (() => void) | null = null

  constructor(private readonly deps: GatewayDeps) {}

  /** Sends embeds as one message through the logged-in client's REST (its rate-limit handling included). */
  readonly send = async (channelId: string, embeds: APIEmbed[]): Promise<void> => {
    if (!this.client) throw new Error('the Discord client is logged out')
    await this.client.rest.post(Routes.channelMessages(channelId), { body: { embeds } })
  }

  isLoggedIn(): boolean {
    return this.client?.isReady() ?? false
  }

  async start(): Promise<void> {
    this.running = true
    await this.login()
  }

  async stop(): Promise<void> {
    this.running = false
    clearTimeout(this.retry)
    this.abandon?.()
    await this.deps.feed.stop()
    await this.deps.router.drain(DRAIN_MS)
    await this.deps.poster.stop()
    await this.logout()
  }

  private async login(): Promise<void> {
    const { log, router } = this.deps
    const client = new Client({ intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates], rest: { api: this.deps.apiUrl } })
    client.on(Events.InteractionCreate, (interaction) => void router.handle(interaction))
    client.on(Events.Error, (err) => log.warn({ err: err.message }, 'discord client error'))
    this.client = client
    try {
      const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()))
      const abandoned = new Promise<void>((_, reject) => (this.abandon = () => reject(new Error('stopped while logging in'))))
      abandoned.catch(() => undefined)
      await Promise.race([client.login(this.deps.token).then(() => ready), abandoned])
    } catch (err) {
      if (this.client === client) this.client = null
      await client.destroy().catch(() => undefined)
      const code = (err as { code?: string }).code
      if (code === 'TokenInvalid') {
        log.error('DISCORD_TOKEN was refused by Discord; the bot stays logged out until it is fixed')
        return
      }
      log.warn({ err: (err as Error).message }, 'Discord login failed; trying again')
      if (this.running && this.client === null) this.retry = setTimeout(() => void this.login(), this.deps.retryMs ?? 5000).unref()
      return
    }
    if (!this.running) return this.logout()
    log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'discord gateway session open')
    await this.deps.onClient?.(client)
    await this.deps.poster.start()
    await this.deps.feed.start()
  }

  private async logout(): Promise<void> {
    const client = this.client
    this.client = null
    if (!client) return
    await this.deps.onClient?.(null)
    await client.destroy()
    this.deps.log.info('discord gateway session closed')
  }
}
