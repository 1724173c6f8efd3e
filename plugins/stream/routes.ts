// The stream plugin's routes: GET /ws (token and rate limit checked before the upgrade),
// POST /api/stream/publish and GET /api/stream/stats.
import websocket from '@fastify/websocket'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { bearerToken, hasScope } from '../../core/auth/index.js'
import type { Kernel } from '../../core/plugin.js'
import { errors } from '../../core/errors.js'
import { isChannel } from '../../core/bus/types.js'
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

    async function authenticate(request: FastifyRequest): Promise<void> {
      if (!service.allowConnect(request.ip)) throw errors.tooManyRequests('Too many WebSocket connections from this address; retry shortly', 1)
      const principal = app.auth.verify(bearerToken(request) ?? (request.query as { token?: string }).token)
      if (!hasScope(principal, 'stream:read') && !hasScope(principal, 'stream:publish')) throw errors.forbidden('stream:read')
      request.principal = principal
    }

    app.get('/ws', {
      websocket: true,
      onRequest: authenticate,
      schema: {
        tags: ['stream'],
        summary: 'WebSocket stream of live events (DESIGN section 8); 101 after the token is verified',
        querystring: WsQuery,
        response: { 401: ErrorBody, 403: ErrorBody, 429: ErrorBody }
      }
    }, (socket, request) => service.accept(socket, request.principal!))

    app.post('/api/stream/publish', {
      preHandler: app.auth.requireScope('stream:publish'),
      schema: {
        tags: ['stream'],
        summary: 'Publishes one event on a channel',
        body: PublishBody,
        response: { 200: PublishedEvent, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody }
      }
    }, async (request) => {
      const body = request.body as { channel: string; type: string; data?: unknown }
      if (!isChannel(body.channel.split(':', 1)[0])) throw errors.validation(`Unknown channel ${JSON.stringify(body.channel)}`)
      return kernel.bus.publish(body.channel, body.type, body.data ?? null, `http:${request.principal!.sub}`)
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
