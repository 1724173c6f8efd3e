// What the Zapier tests share: a source per scheme, webhooks signed with the `standardwebhooks`
// package (an independent oracle) or node:crypto, real PostgreSQL and Redis env, and a fake clock.
import { createHmac, randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Webhook } from 'standardwebhooks'
import type { Clock, Timer } from '../../core/clock.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'

type T = { teardown(fn: () => unknown): void }

export const STANDARD_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
export const ROTATED_SECRET = 'whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD'
export const ZAPIER_SECRET = 'zapier-shared-secret-0123456789'

export const SOURCES = JSON.stringify({
  zap: { scheme: 'standard', secrets: [ROTATED_SECRET, STANDARD_SECRET] },
  legacy: { scheme: 'zapier', secrets: [ZAPIER_SECRET] }
})

export async function realEnv(t: T, label: string, extra: Record<string, string> = {}): Promise<Record<string, string>> {
  return { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: await createTestDatabase(t, label), ZAPIER_SOURCES: SOURCES, ...extra }
}

/** Headers of a Standard Webhooks delivery signed by the standardwebhooks package. */
export function standardHeaders(body: string, options: { secret?: string; id?: string; at?: Date } = {}): Record<string, string> {
  const id = options.id ?? `msg_${randomUUID()}`
  const at = options.at ?? new Date()
  const signature = new Webhook(options.secret ?? STANDARD_SECRET).sign(id, at, body)
  return { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature }
}

export function zapierHeaders(body: string | Buffer, secret = ZAPIER_SECRET): Record<string, string> {
  return { 'content-type': 'application/json', 'x-zapier-signature': createHmac('sha256', secret).update(body).digest('hex') }
}

/** Posts a signed Standard Webhooks event to source `zap`. */
export function postSigned(app: FastifyInstance, event: unknown, options: { id?: string; source?: string } = {}) {
  const body = JSON.stringify(event)
  return app.inject({ method: 'POST', url: `/api/zapier/hooks/${options.source ?? 'zap'}`, payload: body, headers: standardHeaders(body, { id: options.id }) })
}

/** A clock a test moves by hand; timers fire when it passes their time. */
export class FakeClock implements Clock {
  private time: number
  private readonly timers = new Map<number, { at: number; every: number | null; fn: () => void }>()
  private nextId = 1

  constructor(start = Date.now()) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, null)
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, ms)
  }

  clearTimeout(timer: Timer | undefined): void {
    this.timers.delete(timer as unknown as number)
  }

  clearInterval(timer: Timer | undefined): void {
    this.timers.delete(timer as unknown as number)
  }

  advance(ms: number): void {
    this.time += ms
    for (const [id, timer] of [...this.timers]) {
      if (timer.at > this.time) continue
      if (timer.every === null) this.timers.delete(id)
      else timer.at = this.time + timer.every
      timer.fn()
    }
  }

  private add(fn: () => void, ms: number, every: number | null): Timer {
    const id = this.nextId++
    this.timers.set(id, { at: this.time + ms, every, fn })
    return id as unknown as Timer
  }
}
