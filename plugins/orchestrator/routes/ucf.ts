// The Universal Consciousness Field: GET /api/ucf (the state), POST /api/ucf/adjust (add deltas) and
// GET /api/ucf/history (its changes).
import { createHash } from 'node:crypto'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RateLimits } from '../../../core/rate-limit.js'
import { errors } from '../../../core/errors.js'
import * as S from '../schemas.js'
import type { UcfService } from '../ucf-service.js'
import { errorResponses, scopes, tags } from './route-defaults.js'

/** The latest time `since` may name: the end of year 9999, as epoch milliseconds. */
const LATEST_SINCE = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/** `since` as epoch ms within 1970..9999, so the database never sees a number it cannot hold. */
function parseSince(since: string | undefined): number | undefined {
  if (since === undefined) return undefined
  const value = /^\d+$/.test(since) ? Number(since) : Date.parse(since)
  if (!Number.isSafeInteger(value) || value < 0 || value > LATEST_SINCE) {
    throw errors.validation('since must be an ISO date-time or epoch milliseconds between 1970 and 9999', { parameter: 'since' })
  }
  return value
}

/** The history ref that makes an adjustment with an Idempotency-Key apply once per caller and key. */
const adjustRef = (actor: string, key: string) => `adjust:${createHash('sha256').update(`${actor}\n${key}`).digest('hex').slice(0, 48)}`

export const ucfRoutes: FastifyPluginAsyncTypebox<{ ucf: UcfService; rateLimits: RateLimits }> = async (app, { ucf, rateLimits }) => {
  const { read, write } = scopes(app.auth)

  app.post('/api/ucf/adjust', {
    ...write,
    config: { rateLimit: rateLimits.write },
    schema: {
      tags,
      summary: 'Adds deltas to the UCF metrics (clamped to their ranges); with an Idempotency-Key the same adjustment applies once',
      body: S.UcfAdjust,
      headers: S.IdempotencyHeaders,
      response: { 200: S.UcfState, 429: S.ErrorBody, ...errorResponses }
    }
  }, async (request) => {
    const actor = request.principal!.actor
    const key = request.headers['idempotency-key']
    // The history keeps 64 characters of cause.
    const cause = (request.body.reason ? `adjust: ${request.body.reason}` : `adjust by ${actor}`).slice(0, 64)
    const change = await ucf.apply(request.body.deltas, cause, key ? adjustRef(actor, key) : null)
    return change?.after ?? ucf.get()
  })

  app.get('/api/ucf', {
    ...read,
    schema: { tags, summary: 'The UCF state', response: { 200: S.UcfState, ...errorResponses } }
  }, async () => ucf.get())

  app.get('/api/ucf/history', {
    ...read,
    schema: { tags, summary: 'UCF changes, oldest first', querystring: S.UcfHistoryQuery, response: { 200: S.Page(S.UcfHistoryEntry), ...errorResponses } }
  }, async (request) => ucf.history({ since: parseSince(request.query.since), cursor: request.query.cursor, limit: request.query.limit ?? 100 }))
}
