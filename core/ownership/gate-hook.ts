// The ownership gate on a plugin's routes (DESIGN section 5): an onRequest hook in the plugin's own
// context lets owned traffic through; the monolith proxies the rest (HTTP and WebSocket upgrades) to
// the owner's service URL; a dedicated service answers 503 not_owner.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { Agent } from 'undici'
import type { Config } from '../../config/index.js'
import { errors, type HelixError } from '../errors.js'
import type { PluginDescriptor } from '../plugin.js'
import { PROXIED_HEADER } from './forwarding.js'
import type { OwnershipGate } from './gate.js'
import { proxyHttp } from './http-proxy.js'
import { proxyUpgrade } from './ws-proxy.js'

export interface GateContext {
  gate: OwnershipGate
  config: Config
  /** Keep-alive connections to the dedicated services, shared by every plugin. */
  agent: Agent
}

/** Says on a response that the monolith served it itself because the owner could not. */
export const FALLBACK_HEADER = 'x-helix-fallback'

/** Only reads may be served by a process that does not own the plugin: a write there could run twice. */
const isRead = (method: string) => method === 'GET' || method === 'HEAD'

/** The gate itself: an onRequest hook for one plugin's routes. */
export function ownershipHook(descriptor: PluginDescriptor, ctx: GateContext): onRequestHookHandler {
  const { gate, config } = ctx
  const target = config.monolith ? (config.serviceUrls[descriptor.name] ?? null) : null
  /** The owner did not serve: reads are served here, saying so; anything else waits for an owner. */
  const fallback = (request: FastifyRequest, reply: FastifyReply, reason: string): HelixError | undefined => {
    if (gate.owns(descriptor)) return undefined
    if (!isRead(request.method)) return errors.unavailable(`The ${descriptor.name} service is unavailable; retry shortly`)
    reply.header(FALLBACK_HEADER, reason)
    return undefined
  }
  return function ownershipGate(request, reply, done) {
    if (gate.owns(descriptor)) return done()
    if (!target || request.headers[PROXIED_HEADER]) return done(errors.notOwner(descriptor.name, gate.publicUrlOf(descriptor)))
    if (request.headers.upgrade?.toLowerCase() === 'websocket') {
      reply.hijack()
      proxyUpgrade(request, target, request.log)
      return
    }
    proxyHttp(request, reply, target, ctx.agent).then((served) => {
      // Not served: the owner disclaimed the plugin too (both sides are mid-flip).
      if (!served) done(fallback(request, reply, 'owner-not-ready'))
    }, (err: Error) => {
      request.log.warn({ err: err.message, plugin: descriptor.name, target }, 'owner unreachable')
      done(fallback(request, reply, 'owner-unreachable'))
    })
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
