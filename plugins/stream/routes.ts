// The stream plugin's routes: GET /ws (token and rate limit checked before the upgrade),
// POST /api/stream/publish, GET /api/stream/recent and GET /api/stream/stats.
import websocket from '@fastify/websocket'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { bearerToken, hasScope } from '../../core/auth/index.js'
import type { Kernel } from '../../core/plugin.js'
import { errors } from '../../core/errors.js'
import { BusRefusal, clientSource, compareIds, isChannel, type Bus, type BusEvent } from '../../core/bus/index.js'
import { CLOSE } from './connection.js'
import { ErrorBody, PublishBody, PublishedEvent, RECENT_LIMIT, RecentEvents, RecentQuery, Stats } from './schemas.js'
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

    app.get('/api/stream/recent', {
      preHandler: app.auth.requireScope('stream:read'),
      // A page asks once when it opens, as it connects: the same per-IP budget as WebSocket connects.
      config: { rateLimit: kernel.rateLimits.perIp('stream-recent', service.options.connectRate) },
      schema: {
        tags: ['stream'],
        summary: 'The newest events of the channels\' history, merged oldest first: what a client shows before it follows the live feed',
        querystring: RecentQuery,
        response: { 200: RecentEvents, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody }
      }
    }, async (request, reply) => {
      const query = request.query as RecentQuery
      const channels = parseChannels(query.channels)
      // The events go out as the bytes they were published as (unknown fields such as traceparent kept).
      const raw = await recentAcross(kernel.bus, channels, query.limit ?? RECENT_LIMIT.default)
      return reply.type('application/json; charset=utf-8').send(`{"events":[${raw.join(',')}]}`)
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

/** `ucf,agents` -> the distinct base channels, in order; 400 naming the first unknown one. */
function parseChannels(list: string): string[] {
  const channels = [...new Set(list.split(',').map((c) => c.trim()))]
  const unknown = channels.find((c) => !isChannel(c))
  if (unknown !== undefined) throw errors.validation(`Unknown channel ${JSON.stringify(unknown)} in channels`, { parameter: 'channels' })
  return channels
}

/**
 * The newest `limit` events across the channels, oldest first. Ids order events within a channel
 * only; across channels the publish time decides, then the channel's place in the list.
 */
async function recentAcross(bus: Bus, channels: readonly string[], limit: number): Promise<string[]> {
  const perChannel = await Promise.all(channels.map((c) => bus.recent(c, limit)))
  const merged: { event: BusEvent; raw: string; rank: number }[] = []
  perChannel.forEach((recent, rank) => recent.events.forEach((event, i) => merged.push({ event, raw: recent.raw[i], rank })))
  merged.sort((a, b) => a.event.ts - b.event.ts || a.rank - b.rank || compareIds(a.event.id, b.event.id))
  return merged.slice(-limit).map((m) => m.raw)
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
