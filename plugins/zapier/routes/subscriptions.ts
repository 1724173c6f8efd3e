// Zapier's REST Hooks (DESIGN section 11), with X-API-Key: GET /api/zapier/me (the auth test),
// POST/DELETE /api/zapier/subscriptions, and GET /api/zapier/triggers/:event/sample.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { RecentItems } from '../fanout.js'
import * as S from '../schemas.js'
import type { SubscriptionStore } from '../subscription-store.js'
import type { TargetPolicy } from '../target-policy.js'
import type { zapierAuth } from './auth.js'

export interface SubscriptionRouteOptions {
  subscriptions: SubscriptionStore
  policy: TargetPolicy
  recent: RecentItems
  auth: ReturnType<typeof zapierAuth>
}

const tags = ['zapier']
const errorResponses = { 400: S.ErrorBody, 401: S.ErrorBody }

export const subscriptionRoutes: FastifyPluginAsyncTypebox<SubscriptionRouteOptions> = async (app, { subscriptions, policy, recent, auth }) => {
  app.get('/api/zapier/me', {
    preHandler: auth.apiKey,
    schema: { tags, summary: 'The API key in use (Zapier\'s connection test)', response: { 200: S.Me, ...errorResponses } }
  }, async (request) => {
    const key = request.apiKey!
    return { id: key.id, name: key.name, subscriptions: await subscriptions.countFor(key.id) }
  })

  app.post('/api/zapier/subscriptions', {
    preHandler: auth.apiKey,
    schema: { tags, summary: 'Subscribe a target URL to an event (the same target and event again: the same subscription)', body: S.SubscriptionCreate, response: { 201: S.SubscriptionCreated, ...errorResponses } }
  }, async (request, reply) => {
    const url = await policy.check(request.body.target_url)
    const { subscription } = await subscriptions.subscribe(request.apiKey!.id, url.toString(), request.body.event)
    return reply.code(201).send({ id: subscription.id, secret: subscription.secret })
  })

  app.delete('/api/zapier/subscriptions/:id', {
    preHandler: auth.apiKey,
    schema: { tags, summary: 'Unsubscribe (idempotent)', params: S.IdParams, response: { 204: Type.Null(), ...errorResponses } }
  }, async (request, reply) => {
    await subscriptions.unsubscribe(request.apiKey!.id, request.params.id)
    return reply.code(204).send(null)
  })

  app.get('/api/zapier/triggers/:event/sample', {
    preHandler: auth.apiKey,
    schema: { tags, summary: 'Recent items of an event, newest first, shaped as deliveries', params: S.TriggerParams, response: { 200: Type.Array(S.DeliveryPayload), ...errorResponses } }
  }, async (request) => recent.of(request.params.event))
}
