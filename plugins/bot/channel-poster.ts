// Live posts to Discord channels, within its limits: posts arriving together are coalesced into
// messages of up to 10 embeds (6,000 characters), one message per channel at most every `minGapMs`
// (Discord allows 5 per 5 s); posts that fail while Discord is unreachable wait in PendingPosts and go
// out, oldest first, when it answers again.
import { DiscordAPIError, type APIEmbed } from 'discord.js'
import type { Logger } from 'pino'
import type { PendingPosts, Post } from './pending-posts.js'

export type SendEmbeds = (channelId: string, embeds: APIEmbed[]) => Promise<void>

export interface PosterOptions {
  send: SendEmbeds
  pending: PendingPosts
  log: Logger
  /** How long the first post waits for others to join its message. */
  coalesceMs?: number
  /** Shortest gap between two messages to one channel. */
  minGapMs?: number
  /** How soon a send is tried again after Discord could not be reached. */
  retryMs?: number
}

const MAX_EMBEDS = 10
const MAX_CHARS = 6000

interface ChannelState {
  queue: Post[]
  timer: NodeJS.Timeout | undefined
  sending: boolean
  lastSentAt: number
  /** Posts may be waiting in the pending store (checked before newer posts go out). */
  backlog: boolean
}

export function embedChars(embed: APIEmbed): number {
  return (embed.title?.length ?? 0) + (embed.description?.length ?? 0) + (embed.footer?.text.length ?? 0) + (embed.author?.name.length ?? 0) +
    (embed.fields ?? []).reduce((n, f) => n + f.name.length + f.value.length, 0)
}

/** The longest prefix of `posts` that fits one message. */
function batchSize(posts: readonly Post[]): number {
  let chars = 0
  let n = 0
  for (const post of posts) {
    chars += embedChars(post.embed)
    if (n === MAX_EMBEDS || (n > 0 && chars > MAX_CHARS)) break
    n++
  }
  return n
}

/** Discord refused the post itself (bad embed, unknown channel, no permission): sending again will not help. */
function refused(err: unknown): boolean {
  return err instanceof DiscordAPIError && err.status >= 400 && err.status < 500 && err.status !== 429
}

export class ChannelPoster {
  private readonly channels = new Map<string, ChannelState>()
  private readonly coalesceMs: number
  private readonly minGapMs: number
  private readonly retryMs: number
  private stopped = false
  private readonly idleWaiters = new Set<() => void>()

  constructor(private readonly options: PosterOptions) {
    this.coalesceMs = options.coalesceMs ?? 250
    this.minGapMs = options.minGapMs ?? 1100
    this.retryMs = options.retryMs ?? 5000
  }

  /** Posts from before this process held the gateway (or from before a restart) go out first. */
  async start(): Promise<void> {
    this.stopped = false
    for (const id of await this.options.pending.channels()) {
      this.state(id).backlog = true
      this.schedule(id, 0)
    }
  }

  post(channelId: string, embed: APIEmbed): void {
    const state = this.state(channelId)
    state.queue.push({ at: Date.now(), embed })
    if (!state.timer && !state.sending && !this.stopped) this.schedule(channelId, Math.max(this.coalesceMs, state.lastSentAt + this.minGapMs - Date.now()))
  }

  /** Stops sending; what is still queued here is handed to the pending store for the next holder. */
  async stop(): Promise<void> {
    this.stopped = true
    for (const [id, state] of this.channels) {
      clearTimeout(state.timer)
      state.timer = undefined
      const queued = state.queue.splice(0)
      if (queued.length > 0) await this.options.pending.add(id, queued).catch((err: unknown) => this.options.log.warn({ err: (err as Error).message }, 'queued Discord posts lost at stop'))
    }
    this.wakeIdle()
  }

  /** Resolves when nothing is queued or being sent in this process (benchmarks, tests). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.idleWaiters.add(resolve))
  }

  private isIdle(): boolean {
    return [...this.channels.values()].every((s) => s.queue.length === 0 && !s.sending && !s.timer)
  }

  private wakeIdle(): void {
    if (!this.isIdle() && !this.stopped) return
    for (const resolve of this.idleWaiters) resolve()
    this.idleWaiters.clear()
  }

  private state(channelId: string): ChannelState {
    let state = this.channels.get(channelId)
    if (!state) this.channels.set(channelId, (state = { queue: [], timer: undefined, sending: false, lastSentAt: 0, backlog: false }))
    return state
  }

  private schedule(channelId: string, delayMs: number): void {
    const state = this.state(channelId)
    clearTimeout(state.timer)
    state.timer = setTimeout(() => {
      state.timer = undefined
      void this.flush(channelId)
    }, Math.max(0, delayMs))
  }

  /** Sends one message: the oldest waiting posts (the backlog first), then schedules the next. */
  private async flush(channelId: string): Promise<void> {
    const state = this.state(channelId)
    if (this.stopped || state.sending) return
    state.sending = true
    let delay: number | null = null
    try {
      const sent = await this.sendOne(channelId, state)
      if (sent) state.lastSentAt = Date.now()
      if (state.queue.length > 0 || state.backlog) delay = sent ? this.minGapMs : this.retryMs
    } finally {
      state.sending = false
      if (delay !== null && !this.stopped) this.schedule(channelId, delay)
      this.wakeIdle()
    }
  }

  /** True when a message went out (or was refused for good); false when Discord could not be reached. */
  private async sendOne(channelId: string, state: ChannelState): Promise<boolean> {
    const { pending, log } = this.options
    if (state.backlog) {
      let waiting: Post[] = []
      try {
        waiting = await pending.peek(channelId, MAX_EMBEDS)
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'reading the pending Discord posts failed')
      }
      if (waiting.length === 0) state.backlog = false
      else {
        const n = batchSize(waiting)
        const ok = await this.deliver(channelId, waiting.slice(0, n))
        if (ok) await pending.drop(channelId, n).catch(() => undefined)
        else await this.park(channelId, state, [])
        return ok
      }
    }
    if (state.queue.length === 0) return true
    const batch = state.queue.splice(0, batchSize(state.queue))
    if (await this.deliver(channelId, batch)) return true
    await this.park(channelId, state, batch)
    return false
  }

  /** Discord is unreachable: `batch` and everything queued after it wait in the store, in order. */
  private async park(channelId: string, state: ChannelState, batch: Post[]): Promise<void> {
    const posts = [...batch, ...state.queue.splice(0)]
    if (posts.length === 0) return
    try {
      await this.options.pending.add(channelId, posts)
      state.backlog = true
    } catch (err) {
      state.queue.unshift(...posts)
      this.options.log.warn({ err: (err as Error).message }, 'storing pending Discord posts failed; keeping them in memory')
    }
  }

  private async deliver(channelId: string, posts: readonly Post[]): Promise<boolean> {
    try {
      await this.options.send(channelId, posts.map((p) => p.embed))
      return true
    } catch (err) {
      if (refused(err)) {
        this.options.log.error({ err: (err as Error).message, channelId, posts: posts.length }, 'Discord refused a post; dropping it')
        return true
      }
      this.options.log.warn({ err: (err as Error).message, channelId, posts: posts.length }, 'Discord unreachable; posts wait until it is back')
      return false
    }
  }
}
