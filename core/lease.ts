// A singleton lease over Redis (`<prefix>lease:<name>`, SET NX PX): at most one holder across every
// replica and role, renewed while held, with a fencing token that grows with each new holder.
import { randomUUID } from 'node:crypto'
import os from 'node:os'
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { systemClock, type Clock, type Timer } from './clock.js'
import type { RedisFactory } from './redis.js'

// Acquire takes the lease only when free and stamps it with the next fencing token, in one step.
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. token, 'PX', ARGV[2])
return token
`
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

interface LeaseScripts {
  helixLeaseAcquire(key: string, fence: string, holder: string, ttlMs: number): Promise<number | null>
  helixLeaseRenew(key: string, value: string, ttlMs: number): Promise<number>
  helixLeaseRelease(key: string, value: string): Promise<number>
}

export interface Lease {
  readonly name: string
  /** The fencing token while held (pass it to whatever the holder writes), null otherwise. */
  readonly token: number | null
  isHeld(): boolean
  /** Called with true when the lease is taken and false when it is lost or released. */
  onChange(listener: (held: boolean, token: number | null) => void): () => void
  /** Starts competing for the lease; resolves once it is held. */
  acquire(): Promise<number>
  /** Stops competing (a pending acquire() rejects) and frees the lease for the next holder at once. */
  release(): Promise<void>
  /** Releases the lease and closes its connection; the lease cannot be used after. */
  close(): Promise<void>
}

export interface LeaseOptions {
  name: string
  /** How long the lease outlives a holder that stopped renewing (a crash). */
  ttlMs?: number
  log: Logger
  clock?: Clock
}

const DEFAULT_TTL_MS = 10_000

/** Redis when configured; the embedded default has one process, which always holds the lease. */
export function createLease(redis: RedisFactory | null, prefix: string, options: LeaseOptions): Lease {
  return redis ? new RedisLease(redis, prefix, options) : new LocalLease(options.name)
}

export class RedisLease implements Lease {
  readonly name: string
  private readonly redis: Redis
  private readonly scripts: LeaseScripts
  private readonly key: string
  private readonly fenceKey: string
  private readonly holder = `${os.hostname()}:${process.pid}:${randomUUID()}`
  private readonly ttlMs: number
  private readonly listeners = new Set<(held: boolean, token: number | null) => void>()
  private value: string | null = null
  private current: number | null = null
  private timer: Timer | undefined
  private waiting: { promise: Promise<number>; reject(err: Error): void } | null = null
  private renewedAt = 0
  private stopped = true
  private closed = false
  /** Bumped by release(), so a renewal or acquisition already in flight from before is discarded. */
  private round = 0

  private readonly clock: Clock

  constructor(redis: RedisFactory, prefix: string, private readonly options: LeaseOptions) {
    this.name = options.name
    this.clock = options.clock ?? systemClock
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS
    this.key = `${prefix}lease:${options.name}`
    this.fenceKey = `${prefix}lease:${options.name}:fence`
    // One retry: a holder that cannot reach Redis must find out well within its TTL.
    this.redis = redis(`lease-${options.name}`, { maxRetriesPerRequest: 1 })
    this.redis.defineCommand('helixLeaseAcquire', { numberOfKeys: 2, lua: ACQUIRE })
    this.redis.defineCommand('helixLeaseRenew', { numberOfKeys: 1, lua: RENEW })
    this.redis.defineCommand('helixLeaseRelease', { numberOfKeys: 1, lua: RELEASE })
    this.scripts = this.redis as unknown as LeaseScripts
  }

  get token(): number | null {
    return this.isHeld() ? this.current : null
  }

  /** Also false once a TTL passed since the last renewal: a process that was paused may have lost it. */
  isHeld(): boolean {
    return this.current !== null && !this.lapsed()
  }

  private lapsed(): boolean {
    return this.clock.now() - this.renewedAt >= this.ttlMs
  }

  onChange(listener: (held: boolean, token: number | null) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  acquire(): Promise<number> {
    if (this.current !== null) return Promise.resolve(this.current)
    if (this.closed) return Promise.reject(new Error(`lease ${this.name} is closed`))
    if (!this.waiting) {
      let reject!: (err: Error) => void
      const promise = new Promise<number>((resolve, rej) => {
        reject = rej
        const unsubscribe = this.onChange((held, token) => {
          if (!held || token === null) return
          unsubscribe()
          this.waiting = null
          resolve(token)
        })
      })
      this.waiting = { promise, reject }
    }
    if (this.stopped) {
      this.stopped = false
      void this.tick(this.round)
    }
    return this.waiting.promise
  }

  async release(): Promise<void> {
    this.stopped = true
    this.round++
    this.clock.clearTimeout(this.timer)
    this.timer = undefined
    this.waiting?.reject(new Error(`lease ${this.name} was released`))
    this.waiting = null
    const value = this.value
    this.lose()
    if (value) await this.scripts.helixLeaseRelease(this.key, value).catch(() => {})
  }

  async close(): Promise<void> {
    this.closed = true
    await this.release()
    await this.redis.quit().catch(() => {})
    this.redis.disconnect()
  }

  /** Holders renew at a third of the TTL; contenders retry at the same pace. */
  private async tick(round: number): Promise<void> {
    this.timer = undefined
    // Woken after a TTL without renewing (SIGSTOP, a starved event loop): another holder may be acting
    // already, so give the lease up before anything else runs, and compete for it again.
    if (this.value && this.lapsed()) {
      this.options.log.warn({ lease: this.name, token: this.current }, 'lease lapsed before it could be renewed')
      this.lose()
    }
    // Counted from before the call: Redis starts the new TTL when it runs the script, not when we hear back.
    const sentAt = this.clock.now()
    try {
      if (this.value) {
        const renewed = await this.scripts.helixLeaseRenew(this.key, this.value, this.ttlMs)
        if (renewed) this.renewedAt = sentAt
        else {
          this.options.log.warn({ lease: this.name, token: this.current }, 'lease lost to another holder')
          this.lose()
        }
      } else {
        const token = await this.scripts.helixLeaseAcquire(this.key, this.fenceKey, this.holder, this.ttlMs)
        if (token !== null && round !== this.round) {
          await this.scripts.helixLeaseRelease(this.key, `${this.holder} ${token}`)
        } else if (token !== null) {
          this.value = `${this.holder} ${token}`
          this.current = token
          this.renewedAt = sentAt
          this.options.log.info({ lease: this.name, token }, 'lease acquired')
          for (const listener of this.listeners) listener(true, token)
        }
      }
    } catch (err) {
      this.options.log.warn({ err: (err as Error).message, lease: this.name }, 'lease renewal failed')
      // Without Redis a holder cannot prove it still holds the lease: give it up before the TTL could run out.
      if (this.value && this.clock.now() - this.renewedAt > (this.ttlMs * 2) / 3) this.lose()
    }
    if (round === this.round) this.timer = this.clock.setTimeout(() => void this.tick(round), Math.max(50, Math.floor(this.ttlMs / 3)))
  }

  private lose(): void {
    if (this.current === null) return
    this.value = null
    this.current = null
    for (const listener of this.listeners) listener(false, null)
  }
}

class LocalLease implements Lease {
  private held = false
  private readonly listeners = new Set<(held: boolean, token: number | null) => void>()

  constructor(readonly name: string) {}

  get token(): number | null {
    return this.held ? 1 : null
  }

  isHeld(): boolean {
    return this.held
  }

  onChange(listener: (held: boolean, token: number | null) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async acquire(): Promise<number> {
    if (!this.held) {
      this.held = true
      for (const listener of this.listeners) listener(true, 1)
    }
    return 1
  }

  async release(): Promise<void> {
    if (!this.held) return
    this.held = false
    for (const listener of this.listeners) listener(false, null)
  }

  close(): Promise<void> {
    return this.release()
  }
}
