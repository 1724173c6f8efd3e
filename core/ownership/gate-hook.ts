// The ownership gate on a plugin's routes (DESIGN section 5): an onRequest hook in the plugin's own
// context lets owned traffic through; the monolith proxies the rest (HTTP and WebSocket upgrades) to
// the owner's service URL; a dedicated service answers 503 not_owner.
//
// A flip reaches the processes one after another, so for a moment the owner the monolith proxies to
// may already have let go (or not yet have taken over). Its `not_owner` answer comes from its gate,
// before any handler ran, so nothing was stored: the monolith sends the request again (the body is
// buffered for that) to whoever owns the plugin once the flip has settled, here or there. A flip fails
// no request.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { Agent } from 'undici'
import type { Config } from '../../config/index.js'
import { errors, type HelixError } from '../errors.js'
import type { PluginDescriptor } from '../plugin.js'
import { hasBody, HOP_BY_HOP, PROXIED_HEADER } from './forwarding.js'
import type { OwnershipGate } from './gate.js'
import { proxyHttp, readBody, type ProxyOutcome } from './http-proxy.js'
import type { OwnershipMetrics, ProxyResult } from './metrics.js'
import { proxyUpgrade, unavailableResponse } from './ws-proxy.js'

export interface GateContext {
  gate: OwnershipGate
  config: Config
  /** Keep-alive connections to the dedicated services, shared by every plugin. */
  agent: Agent
  /** The root app, to serve here a request whose body was already read for the owner. */
  app: FastifyInstance
  metrics: OwnershipMetrics
}

/** Says on a response that the monolith served it itself because the owner could not. */
export const FALLBACK_HEADER = 'x-helix-fallback'

/** Only reads may be served by a process that does not own the plugin: a write there could run twice. */
const isRead = (method: string) => method === 'GET' || method === 'HEAD'

/**
 * How long a disclaimed request waits for the flip to settle: an override reaches every replica within
 * a second, an Unleash change within one refresh of each replica.
 */
const settleMs = (config: Config) => Math.min(config.unleash.refreshMs + 1500, 10_000)

/** Resolves true as soon as this process owns the plugin, or false after `ms`. */
function ownedWithin(gate: OwnershipGate, descriptor: PluginDescriptor, ms: number): Promise<boolean> {
  if (gate.owns(descriptor)) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stop()
      resolve(false)
    }, ms)
    const stop = gate.onChange((change) => {
      if (change.plugin !== descriptor.name || !change.owned) return
      clearTimeout(timer)
      stop()
      resolve(true)
    })
  })
}

/** The gate itself: an onRequest hook for one plugin's routes. */
export function ownershipHook(descriptor: PluginDescriptor, ctx: GateContext): onRequestHookHandler {
  const { gate, config, metrics } = ctx
  const plugin = descriptor.name
  const target = config.monolith ? (config.serviceUrls[plugin] ?? null) : null
  const count = (transport: 'http' | 'ws', outcome: ProxyResult) => metrics.proxied.inc({ plugin, transport, outcome })

  /** Serves the request here after all: through the rest of the pipeline, or again from its buffered body. */
  async function serveHere(request: FastifyRequest, reply: FastifyReply, body: Buffer | null): Promise<'next' | 'sent'> {
    if (body === null) return 'next'
    const res = await ctx.app.inject({
      method: request.method as 'POST',
      url: request.url,
      headers: { ...request.headers, 'x-request-id': request.id },
      payload: body,
      remoteAddress: request.ip
    })
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name) && name !== 'content-length') reply.header(name, value)
    }
    reply.code(res.statusCode).send(res.rawPayload)
    return 'sent'
  }

  /**
   * Forwards the request, and again while the owner disclaims it, until the flip settles. Resolves
   * `next` to let the request through here, `sent` when it was answered, or an error to answer.
   */
  async function forward(request: FastifyRequest, reply: FastifyReply, upgrade: boolean): Promise<'next' | 'sent' | HelixError> {
    const transport = upgrade ? 'ws' : 'http'
    const body = !upgrade && hasBody(request) ? await readBody(request, request.routeOptions.bodyLimit ?? config.bodyLimit) : null
    const deadline = Date.now() + settleMs(config)
    let lastOutcome: ProxyOutcome | undefined
    for (let attempt = 0; ; attempt++) {
      // The client gave up while the flip settled: nobody is left to answer.
      if (request.raw.socket.destroyed) {
        reply.hijack()
        return 'sent'
      }
      let outcome: ProxyOutcome
      try {
        outcome = upgrade ? await proxyUpgrade(request, reply, target!, request.log) : await proxyHttp(request, reply, target!, ctx.agent, body)
      } catch (err) {
        request.log.warn({ err: (err as Error).message, plugin, target }, 'owner unreachable')
        return fallback(request, reply, body, 'owner-unreachable')
      }
      if (outcome === 'served') {
        count(transport, 'proxied')
        return 'sent'
      }
      // A read is harmless anywhere: served here at once rather than kept waiting for the flip.
      if (!upgrade && isRead(request.method)) return fallback(request, reply, body, outcome === 'refused' ? 'owner-unreachable' : 'owner-not-ready')
      lastOutcome = outcome
      const wait = Math.min(100 * 2 ** attempt, deadline - Date.now())
      if (wait <= 0) break
      metrics.retries.inc({ plugin })
      request.log.debug({ plugin, attempt }, 'the owner disclaimed the request mid-flip; sending it again once the flip settles')
      if (await ownedWithin(gate, descriptor, wait)) {
        count(transport, 'local')
        return serveHere(request, reply, body)
      }
    }
    if (upgrade) {
      count('ws', 'unavailable')
      reply.hijack()
      request.raw.socket.end(unavailableResponse(`No ${plugin} service took the plugin; retry shortly`))
      return 'sent'
    }
    return fallback(request, reply, body, lastOutcome === 'refused' ? 'owner-unreachable' : 'owner-not-ready')
  }

  /** The owner did not serve: reads are served here, saying so; anything else waits for an owner. */
  async function fallback(request: FastifyRequest, reply: FastifyReply, body: Buffer | null, reason: string): Promise<'next' | 'sent' | HelixError> {
    const transport = request.headers.upgrade ? 'ws' : 'http'
    if (gate.owns(descriptor)) {
      count(transport, 'local')
      return serveHere(request, reply, body)
    }
    if (!isRead(request.method) || reply.sent) {
      count(transport, 'unavailable')
      return errors.unavailable(`The ${plugin} service is unavailable; retry shortly`)
    }
    count(transport, 'fallback')
    reply.header(FALLBACK_HEADER, reason)
    return serveHere(request, reply, body)
  }

  return function ownershipGate(request, reply, done) {
    if (gate.owns(descriptor)) return done()
    if (!target || request.headers[PROXIED_HEADER]) {
      metrics.notOwner.inc({ plugin })
      return done(errors.notOwner(plugin, gate.publicUrlOf(descriptor)))
    }
    forward(request, reply, request.headers.upgrade?.toLowerCase() === 'websocket').then((result) => {
      if (result === 'next') done()
      else if (result !== 'sent') done(result)
    }, (err: Error) => done(err))
  }
}

/** Wraps a plugin's routes so every request and upgrade passes the gate first. */
export function gatedRoutes(descriptor: PluginDescriptor, routes: FastifyPluginAsync, ctx: GateContext): FastifyPluginAsync {
  const hook = ownershipHook(descriptor, ctx)
  return async function gated(scope: FastifyInstance) {
    scope.addHook('onRequest', hook)
    await scope.register(routes)
  }
}
