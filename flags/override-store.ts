// The override layer (PUT /admin/flags/:name): operator overrides above Unleash, kept in Redis with a
// TTL and sent on the internal `flags` channel so every replica applies them at once, also while
// Unleash is down. Without Redis they live in the process.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Bus, InternalHandler } from '../core/bus/types.js'
import { FLAGS, isFlagName, type FlagName } from './names.js'

export interface FlagOverride {
  enabled: boolean
  /** Epoch milliseconds, or null for an override that stays until deleted. */
  expiresAt: number | null
}

/** One flag's override set (or cleared, `override: null`): the internal message and the announcement. */
export interface FlagsEvent {
  name: FlagName
  override: FlagOverride | null
}

/** Where replicas tell each other: an internal channel, which no client can publish to. */
export const OVERRIDES_CHANNEL = 'flags'
export const OVERRIDE_EVENT = 'flags.override'
/** The public announcement for dashboards (`system.flags` on `system`); nothing acts on it. */
export const ANNOUNCE_CHANNEL = 'system'
export const ANNOUNCE_EVENT = 'system.flags'

/** How often a replica re-reads every override, to heal a pub/sub message lost during a reconnect. */
const RESYNC_MS = 5000

export class OverrideStore {
  private readonly overrides = new Map<FlagName, FlagOverride>()
  private readonly expiries = new Map<FlagName, NodeJS.Timeout>()
  private readonly listeners = new Set<(changed: FlagName[]) => void>()
  private readonly onEvent: InternalHandler
  private resync: NodeJS.Timeout | null = null
  /** Bumped by every applied event, so a slower full read never undoes a newer event. */
  private generation = 0
  private loaded: Promise<void>
  private isLoaded = false
  private closed = false

  /** `redis` null: the embedded default, overrides live in this process only. */
  constructor(
    private readonly bus: Bus,
    private readonly redis: Redis | null,
    private readonly prefix: string,
    private readonly log: Logger
  ) {
    this.onEvent = (event) => {
      const data = event.data as FlagsEvent
      if (event.type !== OVERRIDE_EVENT || !isFlagName(data?.name)) return
      this.generation++
      this.apply(data.name, data.override)
    }
    this.loaded = this.start()
  }

  get(name: FlagName): FlagOverride | undefined {
    return this.overrides.get(name)
  }

  onChange(listener: (changed: FlagName[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Overrides read from Redis at least once (always true without Redis). */
  isReady(): boolean {
    return this.isLoaded
  }

  ready(): Promise<void> {
    return this.loaded
  }

  async set(name: FlagName, enabled: boolean, ttlSeconds: number | null): Promise<FlagOverride> {
    const override: FlagOverride = { enabled, expiresAt: ttlSeconds ? Date.now() + ttlSeconds * 1000 : null }
    if (this.redis) {
      const json = JSON.stringify(override)
      if (ttlSeconds) await this.redis.set(this.key(name), json, 'PX', ttlSeconds * 1000)
      else await this.redis.set(this.key(name), json)
    }
    await this.announce(name, override)
    return override
  }

  async clear(name: FlagName): Promise<void> {
    if (this.redis) await this.redis.del(this.key(name))
    await this.announce(name, null)
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.resync) clearInterval(this.resync)
    for (const timer of this.expiries.values()) clearTimeout(timer)
    await this.bus.unsubscribeInternal(OVERRIDES_CHANNEL, this.onEvent).catch(() => {})
    if (this.redis) {
      await this.redis.quit().catch(() => {})
      this.redis.disconnect()
    }
  }

  private key(name: FlagName): string {
    return `${this.prefix}flags:override:${name}`
  }

  /** The local copy changes first, so the replica that took the request answers with it at once. */
  private async announce(name: FlagName, override: FlagOverride | null): Promise<void> {
    this.generation++
    this.apply(name, override)
    const event: FlagsEvent = { name, override }
    await Promise.all([this.bus.publishInternal(OVERRIDES_CHANNEL, OVERRIDE_EVENT, event), this.bus.publish(ANNOUNCE_CHANNEL, ANNOUNCE_EVENT, event)])
  }

  private async start(): Promise<void> {
    await this.bus.subscribeInternal(OVERRIDES_CHANNEL, this.onEvent)
    if (!this.redis) {
      this.isLoaded = true
      return
    }
    this.resync = setInterval(() => void this.reload().catch((err: Error) => this.log.warn({ err: err.message }, 'reading flag overrides failed')), RESYNC_MS)
    this.resync.unref()
    // Boot keeps trying: a replica must not serve on defaults while an override it cannot read exists.
    while (!this.closed) {
      try {
        await this.reload()
        this.isLoaded = true
        return
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'reading flag overrides failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, 500).unref())
      }
    }
  }

  private async reload(): Promise<void> {
    const names = Object.keys(FLAGS) as FlagName[]
    const generation = this.generation
    const values = await this.redis!.mget(names.map((n) => this.key(n)))
    if (generation !== this.generation) return
    names.forEach((name, i) => {
      const override = values[i] ? (JSON.parse(values[i]) as FlagOverride) : null
      const current = this.overrides.get(name)
      if (current?.enabled !== override?.enabled || current?.expiresAt !== override?.expiresAt) this.apply(name, override)
    })
  }

  private apply(name: FlagName, override: FlagOverride | null): void {
    clearTimeout(this.expiries.get(name))
    this.expiries.delete(name)
    const before = this.overrides.get(name)?.enabled
    if (override && (override.expiresAt === null || override.expiresAt > Date.now())) {
      this.overrides.set(name, override)
      if (override.expiresAt !== null) {
        const timer = setTimeout(() => this.apply(name, null), override.expiresAt - Date.now())
        timer.unref()
        this.expiries.set(name, timer)
      }
    } else {
      this.overrides.delete(name)
    }
    if (before !== this.overrides.get(name)?.enabled) for (const listener of this.listeners) listener([name])
  }
}
