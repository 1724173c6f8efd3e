// The ownership gate on a plugin's routes (DESIGN section 5): an onRequest hook in the plugin's own
// context lets owned traffic through; the monolith proxies the rest (HTTP and WebSocket upgrades) to
// the owner's service URL; a dedicated service answers 503 not_owner.
import http from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { Logger } from 'pino'
import { Agent, request as undiciRequest } from 'undici'
import type { Config } from '../config/index.js'
import type { Bus } from './bus/types.js'
import { errors } from './errors.js'
import type { OwnershipGate } from './ownership.js'
import type { PluginDescriptor } from './plugin.js'

/** Marks a request the monolith forwarded, so a misrouted one is never forwarded again. */
const PROXIED_HEADER = 'x-helix-proxied'
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host'])
/** A non-101 answer to a proxied upgrade (401, 503) is small; anything larger is cut. */
const MAX_UPGRADE_ERROR_BODY = 64 * 1024

export interface GateContext {
  gate: OwnershipGate
  config: Config
  /** Keep-alive connections to the dedicated services, shared by every plugin. */
  agent: Agent
}

export function createProxyAgent(): Agent {
  return new Agent({ keepAliveTimeout: 10_000, connections: 256, headersTimeout: 30_000, bodyTimeout: 60_000 })
}

/** The gate itself: an onRequest hook for one plugin's routes. */
export function ownershipHook(descriptor: PluginDescriptor, ctx: GateContext): onRequestHookHandler {
  const { gate, config } = ctx
  const target = config.monolith ? (config.serviceUrls[descriptor.name] ?? null) : null
  return function ownershipGate(request, reply, done) {
    if (gate.owns(descriptor)) return done()
    if (!target || request.headers[PROXIED_HEADER]) return done(errors.notOwner(descriptor.name, gate.publicUrlOf(descriptor)))
    if (request.headers.upgrade?.toLowerCase() === 'websocket') {
      reply.hijack()
      proxyUpgrade(request, target, request.log)
      return
    }
    proxyHttp(request, reply, target, ctx).then((served) => {
      if (!served) done()
    }, (err: Error) => {
      request.log.warn({ err: err.message, plugin: descriptor.name, target }, 'owner unreachable')
      done(hasBody(request) ? errors.unavailable(`The ${descriptor.name} service is unreachable`) : undefined)
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

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
}

function forwardHeaders(request: FastifyRequest): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value
  }
  headers['x-forwarded-for'] = request.ip
  headers['x-forwarded-host'] = request.headers.host ?? ''
  headers['x-forwarded-proto'] = request.protocol
  headers[PROXIED_HEADER] = '1'
  return headers
}

/**
 * Streams the request to the owner and its answer back. Resolves false when the request should be
 * served here after all: the owner says it does not own the plugin yet (both sides are mid-flip) and
 * the request has no body, so nothing was consumed.
 */
async function proxyHttp(request: FastifyRequest, reply: FastifyReply, target: string, ctx: GateContext): Promise<boolean> {
  const bodied = hasBody(request)
  const res = await undiciRequest(target + request.url, {
    method: request.method as 'GET',
    headers: forwardHeaders(request),
    body: bodied ? request.raw : null,
    dispatcher: ctx.agent
  })
  if (res.statusCode === 503 && !bodied) {
    const text = await res.body.text()
    if (text.includes('"not_owner"')) return false
    sendUpstream(reply, res.statusCode, res.headers, text)
    return true
  }
  sendUpstream(reply, res.statusCode, res.headers, res.body)
  return true
}

function sendUpstream(reply: FastifyReply, status: number, headers: Record<string, string | string[] | undefined>, body: unknown): void {
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) reply.header(name, value)
  }
  reply.code(status).send(body)
}

/** The bytes the client sent after its upgrade request, kept by @fastify/websocket. */
function upgradeHead(raw: http.IncomingMessage): Buffer {
  const key = Object.getOwnPropertySymbols(raw).find((s) => s.description === 'ws-head')
  const head = key ? (raw as unknown as Record<symbol, unknown>)[key] : undefined
  return Buffer.isBuffer(head) ? head : Buffer.alloc(0)
}

function rawHead(status: number, message: string, rawHeaders: string[], skip: Set<string> = new Set()): string {
  let head = `HTTP/1.1 ${status} ${message}\r\n`
  for (let i = 0; i < rawHeaders.length; i += 2) {
    if (!skip.has(rawHeaders[i].toLowerCase())) head += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`
  }
  return head
}

/** Pipes a WebSocket upgrade to the owner byte for byte; its 101 (or its refusal) goes back as is. */
function proxyUpgrade(request: FastifyRequest, target: string, log: FastifyBaseLogger): void {
  const client: Duplex = request.raw.socket
  const head = upgradeHead(request.raw)
  const headers: Record<string, string | string[]> = forwardHeaders(request)
  headers.connection = 'Upgrade'
  headers.upgrade = request.headers.upgrade!
  const upstream = http.request(new URL(request.url, target), { method: 'GET', headers, agent: false })

  upstream.on('upgrade', (res, socket, upstreamHead) => {
    client.write(rawHead(101, 'Switching Protocols', res.rawHeaders) + '\r\n')
    if (upstreamHead.length > 0) client.write(upstreamHead)
    if (head.length > 0) socket.write(head)
    socket.pipe(client).pipe(socket)
    socket.on('error', () => client.destroy())
    client.on('error', () => socket.destroy())
    socket.on('close', () => client.destroy())
    client.on('close', () => socket.destroy())
  })
  upstream.on('response', (res) => {
    const chunks: Buffer[] = []
    let size = 0
    res.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= MAX_UPGRADE_ERROR_BODY) chunks.push(chunk)
    })
    res.on('end', () => {
      const body = Buffer.concat(chunks)
      const skip = new Set(['connection', 'content-length', 'transfer-encoding', 'keep-alive'])
      client.end(rawHead(res.statusCode ?? 502, res.statusMessage ?? '', res.rawHeaders, skip) + `content-length: ${body.length}\r\nconnection: close\r\n\r\n` + body.toString('latin1'), 'latin1')
    })
  })
  upstream.on('error', (err) => {
    log.warn({ err: err.message, target }, 'owner unreachable for a WebSocket upgrade')
    const body = JSON.stringify({ error: 'unavailable', message: 'The owning service is unreachable' })
    client.end(`HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`)
  })
  client.on('close', () => upstream.destroy())
  upstream.end()
}

/** Logs every change of this process's ownership and publishes it as `system.owner_changed`. */
export function announceOwnerChanges(gate: OwnershipGate, descriptors: readonly PluginDescriptor[], bus: Bus, config: Config, log: Logger): void {
  const role = config.roles.join(',')
  gate.onChange((change) => {
    const descriptor = descriptors.find((d) => d.name === change.plugin)
    const url = descriptor ? gate.publicUrlOf(descriptor) : null
    log.info({ ...change, role, url }, `ownership of ${change.plugin} changed: ${change.owned ? 'owned here' : `owned by ${change.owner}`}`)
    bus.publish('system', 'system.owner_changed', { ...change, role, url })
      .catch((err: Error) => log.warn({ err: err.message, plugin: change.plugin }, 'publishing system.owner_changed failed'))
  })
}
