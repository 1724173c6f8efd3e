// What the monolith adds to a request it forwards to a plugin's owner, and the headers that stay behind.
import type { FastifyRequest } from 'fastify'

/** Marks a request the monolith forwarded, so a misrouted one is never forwarded again. */
export const PROXIED_HEADER = 'x-helix-proxied'
export const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host'])

export function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length']
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined
}

export function forwardHeaders(request: FastifyRequest): Record<string, string | string[]> {
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
