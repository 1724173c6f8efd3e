// Live owners (DESIGN section 5): every process announces which plugins it could own and whether it is
// ready, under a Redis key of its own with a short TTL that it renews. The monolith hands a plugin to
// its dedicated service only while a ready one is announced, so a flag flip, or a dedicated replica
// that dies, never leaves a plugin with nobody to serve it.
import { randomUUID } from 'node:crypto'
import os from 'node:os'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { Bus, InternalHandler } from '../bus/types.js'
import type { Clock, Timer } from '../clock.js'
import type { RedisFactory } from '../redis.js'

export type OwnerKind = 'all' | 'dedicated'

export interface LiveOwner {
  instance: string
  roles: string[]
  /** The plugins this process could own (those it loads that have an ownership flag). */
  plugins: string[]
  kind: OwnerKind
  ready: boolean
  /** Its internal URL, when it listens. */
  url: string | null
  version: string
  startedAt: number
  /** When its announcement was last renewed (epoch ms). */
  seenAt: number
}

/** Where processes find each other: Redis keys, or one process's memory in the embedded default. */
export interface OwnerRegistry {
  put(owner: LiveOwner, ttlMs: number): Promise<void>
  remove(instance: string): Promise<void>
  list(): Promise<LiveOwner[]>
  close(): Promise<void>
}

/** Nudges the other processes to read the registry now instead of at their next renewal. */
const NUDGE_CHANNEL = 'owners'

/**
 * One key per instance (`<prefix>owner:<instance>`, PX ttl) and a set naming them, so reading every
 * owner is SMEMBERS + MGET rather than a SCAN of the whole keyspace. Members whose key expired are
 * dropped from the set by whoever reads them.
 */
export class RedisOwnerRegistry implements OwnerRegistry {
  private readonly redis: Redis
  private readonly setKey: string

  constructor(factory: RedisFactory, private readonly prefix: string) {
    this.redis = factory('live-owners', { maxRetriesPerRequest: 1 })
    this.setKey = `${prefix}owners`
  }

  private key(instance: string): string {
    return `${this.prefix}owner:${instance}`
  }

  async put(owner: LiveOwner, ttlMs: number): Promise<void> {
    await this.redis.multi().set(this.key(owner.instance), JSON.stringify(owner), 'PX', ttlMs).sadd(this.setKey, owner.instance).exec()
  }

  async remove(instance: string): Promise<void> {
    await this.redis.multi().del(this.key(instance)).srem(this.setKey, instance).exec()
  }

  async list(): Promise<LiveOwner[]> {
    const instances = await this.redis.smembers(this.setKey)
    if (instances.length === 0) return []
    const values = await this.redis.mget(instances.map((i) => this.key(i)))
    const owners: LiveOwner[] = []
    const gone: string[] = []
    values.forEach((value, i) => {
      const owner = value === null ? null : parseOwner(value)
      if (owner) owners.push(owner)
      else gone.push(instances[i]!)
    })
    if (gone.length > 0) await this.redis.srem(this.setKey, ...gone)
    return owners
  }

  async close(): Promise<void> {
    this.redis.disconnect()
  }
}

function parseOwner(json: string): LiveOwner | null {
  try {
    const owner = JSON.parse(json) as LiveOwner
    return typeof owner.instance === 'string' && Array.isArray(owner.plugins) ? owner : null
  } catch {
    return null
  }
}

/** Apps that share one in-process bus share one registry, as processes share one Redis. */
const memoryRegistries = new WeakMap<object, Map<string, { owner: LiveOwner; expiresAt: number }>>()

export class MemoryOwnerRegistry implements OwnerRegistry {
  private readonly entries: Map<string, { owner: LiveOwner; expiresAt: number }>

  constructor(scope: object, private readonly clock: Clock) {
    let entries = memoryRegistries.get(scope)
    if (!entries) memoryRegistries.set(scope, (entries = new Map()))
    this.entries = entries
  }

  async put(owner: LiveOwner, ttlMs: number): Promise<void> {
    this.entries.set(owner.instance, { owner, expiresAt: this.clock.now() + ttlMs })
  }

  async remove(instance: string): Promise<void> {
    this.entries.delete(instance)
  }

  async list(): Promise<LiveOwner[]> {
    const now = this.clock.now()
    const owners: LiveOwner[] = []
    for (const [instance, entry] of this.entries) {
      if (entry.expiresAt <= now) this.entries.delete(instance)
      else owners.push(entry.owner)
    }
    return owners
  }

  async close(): Promise<void> {}
}

export interface LiveOwnersOptions {
  registry: OwnerRegistry
  bus: Bus
  clock: Clock
  log: Logger
  ttlMs: number
  self: Pick<LiveOwner, 'roles' | 'plugins' | 'kind' | 'url' | 'version'>
  /** Whether this process could serve its plugins now (bus, database, flags); asked at every renewal. */
  probe(): Promise<boolean>
}

/**
 * This process's announcement and its view of everyone's. The view is read on every renewal (a third
 * of the TTL) and whenever another process says its readiness changed; `readyDedicated` is a Set so
 * the ownership gate can ask it on every request.
 */
export class LiveOwners {
  readonly instance = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`
  private readonly startedAt: number
  private readonly listeners = new Set<() => void>()
  private others: LiveOwner[] = []
  private readyDedicated = new Set<string>()
  private readyMonolith = new Set<string>()
  /** Set once the app has booted (onReady); the probe decides after that. */
  private booted = false
  private selfReady = false
  /** Readiness as last told to the listeners. */
  private announcedReady = false
  private timer: Timer | undefined
  private refreshing: Promise<void> | null = null
  private again = false
  private closed = false
  private readonly onNudge: InternalHandler = (event) => {
    if ((event.data as { instance?: string }).instance !== this.instance) this.refresh()
  }

  constructor(private readonly opts: LiveOwnersOptions) {
    this.startedAt = opts.clock.now()
  }

  /** Reads the registry once (so the first ownership decision knows the others) and starts renewing. */
  async start(): Promise<void> {
    await this.opts.bus.subscribeInternal(NUDGE_CHANNEL, this.onNudge).catch(() => {})
    await this.tick()
    this.timer = this.opts.clock.setInterval(() => this.refresh(), Math.max(100, Math.floor(this.opts.ttlMs / 3)))
  }

  /** The app has booted: from now on this process is ready whenever its probe says so. */
  async markBooted(): Promise<void> {
    this.booted = true
    await this.tick()
  }

  /** Listens for a change in which plugins have a ready owner, or in this process's readiness. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Whether this process is ready to own its plugins. */
  isSelfReady(): boolean {
    return this.selfReady
  }

  /** Ready processes of the kind that could own the plugin, this one included. */
  readyCount(plugin: string, kind: OwnerKind): number {
    return this.all().filter((o) => o.ready && o.kind === kind && o.plugins.includes(plugin)).length
  }

  /** Whether a ready dedicated process for the plugin exists: a Set lookup, cheap enough for every request. */
  hasReadyDedicated(plugin: string): boolean {
    return this.readyDedicated.has(plugin)
  }

  /** Everyone announced, this process first. */
  all(): LiveOwner[] {
    return [this.selfEntry(), ...this.others]
  }

  private selfEntry(): LiveOwner {
    return { ...this.opts.self, instance: this.instance, ready: this.selfReady, startedAt: this.startedAt, seenAt: this.opts.clock.now() }
  }

  /** Runs a tick now, or right after the one in progress; never two at once. */
  private refresh(): void {
    if (this.refreshing) {
      this.again = true
      return
    }
    this.refreshing = this.tick().finally(() => {
      this.refreshing = null
      if (this.again && !this.closed) {
        this.again = false
        this.refresh()
      }
    })
  }

  private async tick(): Promise<void> {
    if (this.closed) return
    const { registry, ttlMs, log } = this.opts
    const ready = this.booted && (await this.opts.probe().catch(() => false))
    const readinessChanged = ready !== this.selfReady
    this.selfReady = ready
    try {
      await registry.put(this.selfEntry(), ttlMs)
      this.others = (await registry.list()).filter((o) => o.instance !== this.instance)
    } catch (err) {
      // The registry cannot be reached: what others announced lapses as their keys would.
      const now = this.opts.clock.now()
      this.others = this.others.filter((o) => o.seenAt + ttlMs > now)
      log.debug({ err: (err as Error).message }, 'live owners: registry unreachable')
    }
    if (readinessChanged) {
      this.opts.bus.publishInternal(NUDGE_CHANNEL, 'owners.changed', { instance: this.instance, ready }).catch(() => {})
    }
    this.recomputeView()
  }

  private recomputeView(): void {
    const dedicated = new Set<string>()
    const monolith = new Set<string>()
    for (const owner of this.all()) {
      if (!owner.ready) continue
      for (const plugin of owner.plugins) (owner.kind === 'dedicated' ? dedicated : monolith).add(plugin)
    }
    const changed = !sameSet(dedicated, this.readyDedicated) || !sameSet(monolith, this.readyMonolith)
    this.readyDedicated = dedicated
    this.readyMonolith = monolith
    if (changed || this.announcedReady !== this.selfReady) {
      this.announcedReady = this.selfReady
      for (const listener of this.listeners) listener()
    }
  }

  /** Withdraws this process's announcement, so the others stop counting on it at once. */
  async stop(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.opts.clock.clearInterval(this.timer)
    await this.refreshing
    await this.opts.bus.unsubscribeInternal(NUDGE_CHANNEL, this.onNudge).catch(() => {})
    await this.opts.registry.remove(this.instance).catch(() => {})
    await this.opts.bus.publishInternal(NUDGE_CHANNEL, 'owners.changed', { instance: this.instance, ready: false }).catch(() => {})
    await this.opts.registry.close()
  }
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false
  for (const value of a) if (!b.has(value)) return false
  return true
}
