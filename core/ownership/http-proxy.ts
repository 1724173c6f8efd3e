// Forwards a plugin's HTTP request from the monolith to the owning service over keep-alive connections.
import { PassThrough } from 'node:stream'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Agent, request as undiciRequest } from 'undici'
import { forwardHeaders, hasBody, HOP_BY_HOP } from './forwarding.js'

export function createProxyAgent(): Agent {
  return new Agent({ keepAliveTimeout: 10_000, connections: 256, headersTimeout: 30_000, bodyTimeout: 60_000 })
}

/**
 * Streams the request to the owner and its answer back. Resolves false when the request should be
 * served here after all: the owner says it does not own the plugin yet (both sides are mid-flip) and
 * the request has no body, so nothing was consumed.
 */
export async function proxyHttp(request: FastifyRequest, reply: FastifyReply, target: string, agent: Agent): Promise<boolean> {
  const bodied = hasBody(request)
  const res = await undiciRequest(target + request.url, {
    method: request.method as 'GET',
    headers: forwardHeaders(request),
    // Through a pass-through: when the owner cannot be reached undici destroys the body stream it was
    // given, and that must not be the client's request, which still gets our 503.
    body: bodied ? request.raw.pipe(new PassThrough()) : null,
    dispatcher: agent
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
