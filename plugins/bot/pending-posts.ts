// Posts that could not be sent while Discord was unreachable, kept until it is back: a Redis list per
// channel (shared by whichever process holds the gateway next), at most 1,000 per channel and 24 h.
import type { Redis } from 'ioredis'
import type { APIEmbed } from 'discord.js'

export interface Post {
  /** When it was asked for (epoch ms): posts older than the retention are dropped. */
  at: number
  embed: APIEmbed
}

export interface PendingPosts {
  add(channelId: string, posts: readonly Post[]): Promise<void>
  /** The oldest `limit` posts still within the retention (older ones are dropped). */
  peek(channelId: string, limit: number): Promise<Post[]>
  /** Removes the `count` oldest posts, once they were sent. */
  drop(channelId: string, count: number): Promise<void>
  /** Channels with posts waiting. */
  channels(): Promise<string[]>
}

export const PENDING_LIMIT = 1000
export const PENDING_RETENTION_MS = 86_400_000

export class RedisPendingPosts implements PendingPosts {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now
  ) {}

  private key(channelId: string): string {
    return `${this.prefix}bot:pending:${channelId}`
  }

  async add(channelId: string, posts: readonly Post[]): Promise<void> {
    if (posts.length === 0) return
    const key = this.key(channelId)
    await this.redis.multi()
      .rpush(key, ...posts.map((p) => JSON.stringify(p)))
      // The newest 1,000 are kept: an outage longer than that loses its oldest posts first.
      .ltrim(key, -PENDING_LIMIT, -1)
      .pexpire(key, PENDING_RETENTION_MS)
      .sadd(`${this.prefix}bot:pending-channels`, channelId)
      .exec()
  }

  async peek(channelId: string, limit: number): Promise<Post[]> {
    const key = this.key(channelId)
    const cutoff = this.now() - PENDING_RETENTION_MS
    for (;;) {
      const raw = await this.redis.lrange(key, 0, limit - 1)
      const posts = raw.map((r) => JSON.parse(r) as Post)
      const stale = posts.findIndex((p) => p.at >= cutoff)
      const expired = stale === -1 ? posts.length : stale
      if (expired === 0) return posts
      await this.redis.ltrim(key, expired, -1)
      if (expired === posts.length && posts.length < limit) return []
    }
  }

  async drop(channelId: string, count: number): Promise<void> {
    await this.redis.ltrim(this.key(channelId), count, -1)
  }

  async channels(): Promise<string[]> {
    const set = `${this.prefix}bot:pending-channels`
    const ids = await this.redis.smembers(set)
    const lengths = await Promise.all(ids.map((id) => this.redis.llen(this.key(id))))
    const empty = ids.filter((_, i) => lengths[i] === 0)
    if (empty.length > 0) await this.redis.srem(set, ...empty)
    return ids.filter((_, i) => lengths[i] > 0)
  }
}

/** The embedded default (no Redis): one process, so memory with the same limits. */
export class MemoryPendingPosts implements PendingPosts {
  private readonly lists = new Map<string, Post[]>()

  constructor(private readonly now: () => number = Date.now) {}

  async add(channelId: string, posts: readonly Post[]): Promise<void> {
    const list = [...(this.lists.get(channelId) ?? []), ...posts]
    this.lists.set(channelId, list.slice(-PENDING_LIMIT))
  }

  async peek(channelId: string, limit: number): Promise<Post[]> {
    const cutoff = this.now() - PENDING_RETENTION_MS
    const list = (this.lists.get(channelId) ?? []).filter((p) => p.at >= cutoff)
    this.lists.set(channelId, list)
    return list.slice(0, limit)
  }

  async drop(channelId: string, count: number): Promise<void> {
    this.lists.set(channelId, (this.lists.get(channelId) ?? []).slice(count))
  }

  async channels(): Promise<string[]> {
    return [...this.lists].filter(([, l]) => l.length > 0).map(([id]) => id)
  }
}
