// The stream plugin's routes: GET /ws (token and rate limit checked before the upgrade),
// POST /api/stream/publish and GET /api/stream/stats.
import websocket from '@fastify/websocket'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { bearerToken, hasScope } from '../../core/auth/index.js'
import type { Kernel } from '../../core/plugin.js'
import { errors } from '../../core/errors.js'
import { BusRefusal, clientSource, isChannel } from '../../core/bus/index.js'
import { CLOSE } from './connection.js'
import { ErrorBody, PublishBody, PublishedEvent, Stats } from './schemas.js'
import type { StreamService } from './stream-service.js'

const WsQuery = Type.Object({ token: Type.Optional(Type.String({ description: 'Access token, for clients that cannot set headers (browsers)' })) })

export function streamRoutes(kernel: Kernel, service: StreamService) {
  return async function routes(app: FastifyInstance): Promise<void> {
    await app.register(websocket, {
      options: { maxPayload: service.options.maxPayload, perMessageDeflate: false },
      preClose(this: FastifyInstance, done: () => void) {
        service.closeAll(CLOSE.goingAway, 'server shutting down')
        this.websocketServer.close()
        done()
      }
    })

    // Publishes over a socket count against the same per-subject budget as the HTTP route's.
    const publishLimit = app.createRateLimit(kernel.rateLimits.publish)

    async function authenticate(request: FastifyRequest): Promise<void> {
      const principal = app.auth.verify(bearerToken(request) ?? (request.query as { token?: string }).token)
      if (!hasScope(principal, 'stream:read') && !hasScope(principal, 'stream:publish')) throw errors.forbidden('stream:read')
      request.principal = principal
    }

    app.get('/ws', {
      websocket: true,
      // The per-IP connect limit runs first (onRequest), then the token is checked, before any upgrade.
      config: { rateLimit: kernel.rateLimits.perIp('ws-connect', service.options.connectRate) },
      preValidation: authenticate,
      schema: {
        tags: ['stream'],
        summary: 'WebSocket stream of live events (DESIGN section 8); 101 after the token is verified',
        querystring: WsQuery,
        response: { 401: ErrorBody, 403: ErrorBody, 429: ErrorBody }
      }
    }, (socket, request) => service.accept(socket, request.principal!, async () => {
      const verdict = await publishLimit(request)
      if (verdict.isAllowed || !verdict.isExceeded) return { allowed: true, retryAfterSeconds: 0 }
      return { allowed: false, retryAfterSeconds: Math.max(1, verdict.ttlInSeconds) }
    }))

    app.post('/api/stream/publish', {
      preHandler: app.auth.requireScope('stream:publish'),
      config: { rateLimit: kernel.rateLimits.publish },
      schema: {
        tags: ['stream'],
        summary: 'Publishes one event on a channel (not `system`; types outside the reserved prefixes)',
        body: PublishBody,
        response: { 200: PublishedEvent, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 422: ErrorBody }
      }
    }, async (request) => {
      const body = request.body as PublishBody
      if (!isChannel(body.channel.split(':', 1)[0])) throw errors.validation(`Unknown channel ${JSON.stringify(body.channel)}`)
      try {
        // The bus refuses what a client may not publish (reserved types, `system`) by this source.
        return await kernel.bus.publish(body.channel, body.type, body.data ?? null, clientSource(request.principal!.sub))
      } catch (err) {
        throw err instanceof BusRefusal ? refusalError(err) : err
      }
    })

    app.get('/api/stream/stats', {
      preHandler: app.auth.requireScope('stream:read'),
      schema: {
        tags: ['stream'],
        summary: 'Connections, subscriptions per channel, events in and out, dropped sockets (this process)',
        response: { 200: Stats, 401: ErrorBody, 403: ErrorBody }
      }
    }, async () => service.stats())
  }
}

function refusalError(refusal: BusRefusal) {
  switch (refusal.code) {
    case 'forbidden':
      return errors.forbiddenMessage(refusal.message)
    case 'subchannel_limit':
      return errors.subchannelLimit(refusal.message)
    case 'unserializable':
      return errors.validation(refusal.message)
  }
}
