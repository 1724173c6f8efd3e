// Inbound events as stored: GET /api/zapier/events?status=, GET /api/zapier/events/:id, and
// POST /api/zapier/events/:id/replay to run one again (DESIGN section 11).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Clock } from '../../../core/clock.js'
import { errors } from '../../../core/errors.js'
import type { EventStore } from '../event-store.js'
import type { Inbox } from '../inbox.js'
import * as S from '../schemas.js'
import type { zapierAuth } from './auth.js'

export interface EventRouteOptions {
  store: EventStore
  inbox: Inbox
  clock: Clock
  auth: ReturnType<typeof zapierAuth>
}

const tags = ['zapier']
const errorResponses = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody }

export const eventRoutes: FastifyPluginAsyncTypebox<EventRouteOptions> = async (app, { store, inbox, clock, auth }) => {
  app.get('/api/zapier/events', {
    preHandler: auth.keyOrToken,
    schema: { tags, summary: 'Inbound events, newest first', querystring: S.EventQuery, response: { 200: S.Page(S.InboundEvent), ...errorResponses } }
  }, async (request) => store.list({ ...request.query, limit: request.query.limit ?? 50 }))

  app.get('/api/zapier/events/:id', {
    preHandler: auth.keyOrToken,
    schema: { tags, summary: 'One inbound event', params: S.IdParams, response: { 200: S.InboundEvent, 404: S.ErrorBody, ...errorResponses } }
  }, async (request) => {
    const event = await store.get(request.params.id)
    if (!event) throw errors.notFound('Event')
    return event
  })

  app.post('/api/zapier/events/:id/replay', {
    preHandler: auth.keyOrToken,
    schema: { tags, summary: 'Run an event again; 202 with the event', params: S.IdParams, response: { 202: S.InboundEvent, 404: S.ErrorBody, 409: S.ErrorBody, ...errorResponses } }
  }, async (request, reply) => {
    const { id } = request.params
    if (!(await store.reset(id, clock.now()))) {
      const event = await store.get(id)
      if (!event) throw errors.notFound('Event')
      throw errors.conflict('The event is being processed now; replay it once it has ended')
    }
    await inbox.requeue(id)
    return reply.code(202).send((await store.get(id))!)
  })
}
