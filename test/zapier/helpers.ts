// What the Zapier tests share: a source per scheme, webhooks signed with the `standardwebhooks`
// package (an independent oracle) or node:crypto, real PostgreSQL and Redis env, and a fake clock.
import { createHmac, randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { Webhook } from 'standardwebhooks'
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

export { FakeClock } from '../helpers/fake-clock.js'
