// Pipes a WebSocket upgrade from the monolith to the owning service byte for byte.
import http from 'node:http'
import type { Duplex } from 'node:stream'
import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify'
import { forwardHeaders } from './forwarding.js'
import { isNotOwner, type ProxyOutcome } from './http-proxy.js'

/** A non-101 answer to a proxied upgrade (401, 503) is small; anything larger is cut. */
const MAX_UPGRADE_ERROR_BODY = 64 * 1024

/**
 * The bytes the client sent after its upgrade request, kept by @fastify/websocket under a private
 * symbol (`ws-head`): the reason package.json pins @fastify/websocket to an exact version.
 */
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

/**
 * Pipes a WebSocket upgrade to the owner byte for byte; its 101 (or its refusal) goes back as is.
 * Resolves `not_owner` or `refused`, having written nothing to the client, when the owner disclaimed
 * the plugin or refused the connection: the caller may then serve the upgrade here or try again.
 */
export function proxyUpgrade(request: FastifyRequest, reply: FastifyReply, target: string, log: FastifyBaseLogger): Promise<ProxyOutcome> {
  const client: Duplex = request.raw.socket
  const head = upgradeHead(request.raw)
  const headers: Record<string, string | string[]> = forwardHeaders(request)
  headers.connection = 'Upgrade'
  headers.upgrade = request.headers.upgrade!
  const upstream = http.request(new URL(request.url, target), { method: 'GET', headers, agent: false })
  const onClientClose = () => upstream.destroy()
  client.on('close', onClientClose)

  return new Promise((resolve) => {
    const answer = (raw: string, encoding: BufferEncoding = 'utf8') => {
      reply.hijack()
      client.end(raw, encoding)
      resolve('served')
    }
    upstream.on('upgrade', (res, socket, upstreamHead) => {
      reply.hijack()
      client.write(rawHead(101, 'Switching Protocols', res.rawHeaders) + '\r\n')
      if (upstreamHead.length > 0) client.write(upstreamHead)
      if (head.length > 0) socket.write(head)
      socket.pipe(client).pipe(socket)
      socket.on('error', () => client.destroy())
      client.on('error', () => socket.destroy())
      socket.on('close', () => client.destroy())
      client.on('close', () => socket.destroy())
      resolve('served')
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
        if (res.statusCode === 503 && isNotOwner(body.toString('utf8'))) {
          client.off('close', onClientClose)
          resolve('not_owner')
          return
        }
        const skip = new Set(['connection', 'content-length', 'transfer-encoding', 'keep-alive'])
        answer(rawHead(res.statusCode ?? 502, res.statusMessage ?? '', res.rawHeaders, skip) + `content-length: ${body.length}\r\nconnection: close\r\n\r\n` + body.toString('latin1'), 'latin1')
      })
    })
    upstream.on('error', (err) => {
      if ((err as { code?: string }).code === 'ECONNREFUSED') {
        client.off('close', onClientClose)
        resolve('refused')
        return
      }
      log.warn({ err: err.message, target }, 'owner unreachable for a WebSocket upgrade')
      answer(unavailableResponse('The owning service is unreachable'))
    })
    upstream.end()
  })
}

/** A raw 503 for a socket that has no HTTP parser any more. */
export function unavailableResponse(message: string): string {
  const body = JSON.stringify({ error: 'unavailable', message })
  return `HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
}
