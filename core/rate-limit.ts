// Rate limits (DESIGN section 7) with @fastify/rate-limit: counters in Redis, so every replica shares
// them (in memory without Redis). A route opts in with one of these configs; limits are per subject
// (the on-behalf-of subject for calls between plugins), per source, or per IP.
import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import type { Config } from '../config/index.js'
import { errors } from './errors.js'
import type { RedisFactory } from './redis.js'

/** A route's `config.rateLimit`. */
export interface RouteRateLimit {
  max: number
  timeWindow: number
  groupId: string
  hook: 'onRequest' | 'preHandler'
  keyGenerator(request: FastifyRequest): string
}

export interface RateLimits {
  /** Publishing events (HELIX_RATE_PUBLISH per subject per minute). */
  publish: RouteRateLimit
  /** Commands, orchestration and rituals (HELIX_RATE_WRITE per subject per minute). */
  write: RouteRateLimit
  /** Inbound webhooks (HELIX_RATE_WEBHOOK per source per minute); `sourceOf` names the source. */
  webhook(sourceOf: (request: FastifyRequest) => string): RouteRateLimit
  /** Per client IP (after HELIX_TRUST_PROXY): `perSecond` on average, bursts of twice it; e.g. WebSocket connects. */
  perIp(groupId: string, perSecond: number): RouteRateLimit
}

const MINUTE = 60_000

/** The authenticated subject: per-subject limits run after the route's auth (preHandler). */
const subject = (request: FastifyRequest) => `s:${request.principal?.actor ?? request.ip}`

export function rateLimits(config: Config): RateLimits {
  const { rates } = config
  return {
    publish: { max: rates.publish, timeWindow: MINUTE, groupId: 'publish', hook: 'preHandler', keyGenerator: subject },
    write: { max: rates.write, timeWindow: MINUTE, groupId: 'write', hook: 'preHandler', keyGenerator: subject },
    webhook: (sourceOf) => ({ max: rates.webhook, timeWindow: MINUTE, groupId: 'webhook', hook: 'onRequest', keyGenerator: (r) => `w:${sourceOf(r)}` }),
    // A two-second window of twice the rate: that rate on average, with bursts of twice it.
    perIp: (groupId, perSecond) => ({ max: perSecond * 2, timeWindow: 2000, groupId, hook: 'onRequest', keyGenerator: (r) => `ip:${r.ip}` })
  }
}

export const rateLimitPlugin = fp(
  async (app: FastifyInstance, opts: { config: Config; redis: RedisFactory | null }) => {
    // One fast attempt: a Redis outage must not hold requests up, and then no limit applies.
    const redis = opts.redis?.('rate-limit', { maxRetriesPerRequest: 0, connectTimeout: 1000, enableOfflineQueue: false })
    if (redis) app.addHook('onClose', async () => redis.disconnect())
    await app.register(rateLimit, {
      global: false,
      redis,
      nameSpace: `${opts.config.redisPrefix}rate:`,
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        errors.tooManyRequests(`Rate limit of ${context.max} per ${context.after.includes('minute') ? 'minute' : 'window'} exceeded; retry in ${context.after}`, Math.max(1, Math.ceil(context.ttl / 1000)))
    })
  },
  { name: 'helix-rate-limit' }
)
