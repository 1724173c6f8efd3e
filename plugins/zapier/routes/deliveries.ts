// Outbound deliveries as recorded: GET /api/zapier/deliveries?status=, GET /api/zapier/deliveries/:id
// with every attempt, and POST /api/zapier/deliveries/:id/retry (a manual retry, due now).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { Clock } from '../../../core/clock.js'
import { errors } from '../../../core/errors.js'
import type { Delivery, DeliveryStore } from '../delivery-store.js'
import * as S from '../schemas.js'
import type { zapierAuth } from './auth.js'

export interface DeliveryRouteOptions {
  deliveries: DeliveryStore
  clock: Clock
  auth: ReturnType<typeof zapierAuth>
  /** Wakes the local sender, when this process runs it. */
  queued(): void
}

const tags = ['zapier']
const errorResponses = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody }
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

function view(d: Delivery) {
  return {
    id: d.id,
    subscriptionId: d.subscriptionId,
    event: d.event,
    status: d.status,
    attempts: d.attempts,
    nextAttemptAt: d.status === 'pending' ? iso(d.nextAttemptAt) : null,
    lastStatus: d.lastStatus,
    lastError: d.lastError,
    createdAt: iso(d.createdAt)!,
    finishedAt: iso(d.finishedAt)
  }
}

export const deliveryRoutes: FastifyPluginAsyncTypebox<DeliveryRouteOptions> = async (app, { deliveries, clock, auth, queued }) => {
  app.get('/api/zapier/deliveries', {
    preHandler: auth.keyOrToken,
    schema: { tags, summary: 'Outbound deliveries, newest first', querystring: S.DeliveryQuery, response: { 200: S.Page(S.Delivery), ...errorResponses } }
  }, async (request) => {
    const page = await deliveries.list({ ...request.query, limit: request.query.limit ?? 50 })
    return { items: page.items.map(view), nextCursor: page.nextCursor }
  })

  app.get('/api/zapier/deliveries/:id', {
    preHandler: auth.keyOrToken,
    schema: { tags, summary: 'One delivery and every attempt', params: S.IdParams, response: { 200: S.DeliveryDetail, 404: S.ErrorBody, ...errorResponses } }
  }, async (request) => {
    const delivery = await deliveries.get(request.params.id)
    if (!delivery) throw errors.notFound('Delivery')
    const attempts = await deliveries.attempts(delivery.id)
    return { ...view(delivery), attempts_log: attempts.map((a) => ({ ...a, at: iso(a.at)! })) }
  })

  app.post('/api/zapier/deliveries/:id/retry', {
    preHandler: auth.keyOrToken,
    schema: { tags, summary: 'Retry a failed delivery now', params: S.IdParams, response: { 202: S.Delivery, 404: S.ErrorBody, 409: S.ErrorBody, ...errorResponses } }
  }, async (request, reply) => {
    const { id } = request.params
    if (!(await deliveries.retryNow(id, clock.now()))) {
      if (!(await deliveries.get(id))) throw errors.notFound('Delivery')
      throw errors.conflict('The delivery is being sent or was delivered')
    }
    queued()
    return reply.code(202).send(view((await deliveries.get(id))!))
  })
}
