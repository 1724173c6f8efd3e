// Rituals: POST /api/ucf/rituals starts a run (202; the owner's worker runs it), GET /api/rituals/:id reads it.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RateLimits } from '../../../core/rate-limit.js'
import type { RitualService } from '../ritual-service.js'
import * as S from '../schemas.js'
import { errorResponses, scopes, tags } from './route-defaults.js'

export interface RitualRouteOptions {
  rituals: RitualService
  /** Wakes the local ritual runner, when this process runs it. */
  ritualQueued(): void
  rateLimits: RateLimits
}

export const ritualRoutes: FastifyPluginAsyncTypebox<RitualRouteOptions> = async (app, { rituals, ritualQueued, rateLimits }) => {
  const { read, write } = scopes(app.auth)

  app.post('/api/ucf/rituals', {
    ...write,
    config: { rateLimit: rateLimits.write },
    schema: { tags, summary: 'Start a ritual; 202 with the run', body: S.RitualCreate, response: { 202: S.Ritual, 429: S.ErrorBody, ...errorResponses } }
  }, async (request, reply) => {
    const ritual = await rituals.start(request.body, request.principal!.actor)
    ritualQueued()
    return reply.code(202).header('location', `/api/rituals/${ritual.id}`).send(ritual)
  })

  app.get('/api/rituals/:id', {
    ...read,
    schema: { tags, summary: 'A ritual run', params: S.IdParams, response: { 200: S.Ritual, 404: S.ErrorBody, ...errorResponses } }
  }, async (request) => rituals.get(request.params.id))
}
