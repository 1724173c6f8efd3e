// Forwards a plugin's HTTP request from the monolith to the owning service over keep-alive connections.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Agent, request as undiciRequest } from 'undici'
import { errors } from '../errors.js'
import { forwardHeaders, HOP_BY_HOP } from './forwarding.js'

export function createProxyAgent(): Agent {
  return new Agent({ keepAliveTimeout: 10_000, connections: 256, headersTimeout: 30_000, bodyTimeout: 60_000 })
}

/**
 * What the owner made of a forwarded request. `not_owner`: its gate refused before any handler ran;
 * `refused`: the connection never opened. Either way nothing was stored, and the request may be sent
 * again, to it or to whoever owns the plugin now.
 */
export type ProxyOutcome = 'served' | 'not_owner' | 'refused'

/**
 * Reads a request body whole, up to the route's limit, so a request the owner disclaims can be sent
 * again. The limit is the one the route would apply itself (413 above it).
 */
export function readBody(request: FastifyRequest, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const raw = request.raw
    raw.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        raw.removeAllListeners('data')
        raw.resume()
        reject(errors.payloadTooLarge(`Request body is larger than ${limit} bytes`))
        return
      }
      chunks.push(chunk)
    })
    raw.on('end', () => resolve(Buffer.concat(chunks, size)))
    raw.on('error', reject)
  })
}

/** Sends the request (with its buffered body) to the owner; its answer goes back unless it disclaimed the plugin. */
export async function proxyHttp(request: FastifyRequest, reply: FastifyReply, target: string, agent: Agent, body: Buffer | null): Promise<ProxyOutcome> {
  let res
  try {
    res = await undiciRequest(target + request.url, { method: request.method as 'GET', headers: forwardHeaders(request), body, dispatcher: agent })
  } catch (err) {
    // Refused: the connection never opened (a service between boot and listen, or just gone), so the
    // request was not seen. Anything else (a reset mid-request) may have been, and is not retried.
    if ((err as { code?: string }).code === 'ECONNREFUSED') return 'refused'
    throw err
  }
  if (res.statusCode === 503) {
    const text = await res.body.text()
    if (isNotOwner(text)) return 'not_owner'
    sendUpstream(reply, res.statusCode, res.headers, text)
    return 'served'
  }
  sendUpstream(reply, res.statusCode, res.headers, res.body)
  return 'served'
}

/** The body of a gate's refusal: `{"error":"not_owner",...}` (a handler's own 503 says something else). */
export function isNotOwner(text: string): boolean {
  if (!text.includes('"not_owner"')) return false
  try {
    return (JSON.parse(text) as { error?: unknown }).error === 'not_owner'
  } catch {
    return false
  }
}

function sendUpstream(reply: FastifyReply, status: number, headers: Record<string, string | string[] | undefined>, body: unknown): void {
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) reply.header(name, value)
  }
  reply.code(status).send(body)
}
