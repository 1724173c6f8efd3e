// What every orchestrator route shares: its OpenAPI tag, the error bodies it may answer with, the
// scope checks (`agents:read` for reads, `agents:write` for changes) and how a replay is marked.
import type { FastifyInstance, FastifyReply } from 'fastify'
import { ErrorBody } from '../schemas.js'

export const tags = ['orchestrator']

export const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody }

export function scopes(auth: FastifyInstance['auth']) {
  return {
    read: { preHandler: auth.requireScope('agents:read') },
    write: { preHandler: auth.requireScope('agents:write') }
  }
}

/**
 * Marks an answer that replays the first request made with its Idempotency-Key. The older
 * `idempotent-replayed` header stays for clients written against earlier releases.
 */
export function idempotencyReplayed(reply: FastifyReply): void {
  reply.header('idempotency-replayed', 'true').header('idempotent-replayed', 'true')
}
