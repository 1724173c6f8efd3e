// Commands: POST|GET /api/agents/:idOrSlug/commands, GET /api/commands/catalog, GET /api/commands/:id
// and POST /api/commands/:id/cancel. A command is accepted (202) once it is stored; an Idempotency-Key
// is scoped to the caller and the route (the agent by its id, so its slug and id are one route).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { RateLimits } from '../../../core/rate-limit.js'
import { errors, HelixError } from '../../../core/errors.js'
import type { AgentService } from '../agent-service.js'
import { CATALOG, validateCommand } from '../command-catalog.js'
import type { CommandQueue } from '../command-queue.js'
import { requestHash, scopedIdempotencyKey } from '../idempotency.js'
import * as S from '../schemas.js'
import { errorResponses, idempotencyReplayed, scopes, tags } from './route-defaults.js'

export interface CommandRouteOptions {
  agents: AgentService
  queue: CommandQueue
  defaultTimeoutMs: number
  rateLimits: RateLimits
}

export const commandRoutes: FastifyPluginAsyncTypebox<CommandRouteOptions> = async (app, { agents, queue, defaultTimeoutMs, rateLimits }) => {
  const { read, write } = scopes(app.auth)

  app.post('/api/agents/:idOrSlug/commands', {
    ...write,
    config: { rateLimit: rateLimits.write },
    schema: {
      tags,
      summary: 'Send a command to an agent; 202 once it is stored',
      description: 'An `Idempotency-Key` (24 h, per caller and agent) returns the first command again with `Idempotency-Replayed: true`; with another body it is `422 idempotency_key_reused`.',
      params: S.AgentParams,
      headers: S.IdempotencyHeaders,
      body: S.CommandCreate,
      response: { 202: S.Command, 404: S.ErrorBody, 422: S.ErrorBody, 429: S.ErrorBody, ...errorResponses }
    }
  }, async (request, reply) => {
    const agent = await agents.profile(request.params.idOrSlug)
    const args = request.body.args ?? {}
    validateCommand(agent, request.body.command, args)
    const key = request.headers['idempotency-key']
    const timeoutMs = request.body.timeoutMs ?? defaultTimeoutMs
    const { command, replayed } = await queue.enqueue(agent.id, {
      command: request.body.command,
      args,
      timeoutMs,
      requestedBy: request.principal!.actor,
      ...(key === undefined ? {} : {
        idempotencyKey: scopedIdempotencyKey(request.principal!.actor, `POST /api/agents/${agent.id}/commands`, key),
        requestHash: requestHash({ command: request.body.command, args, timeoutMs: request.body.timeoutMs ?? null })
      })
    }).catch((err: unknown) => {
      if (!(err instanceof HelixError && err.code === 'not_found')) throw err
      // The profile outlived its agent: forget it, so the next request looks the slug up afresh.
      agents.forget(agent)
      throw errors.notFound(`Agent "${request.params.idOrSlug}"`)
    })
    if (replayed) idempotencyReplayed(reply)
    return reply.code(202).header('location', `/api/commands/${command.id}`).send(command)
  })

  app.get('/api/agents/:idOrSlug/commands', {
    ...read,
    schema: { tags, summary: "An agent's commands, newest first", params: S.AgentParams, querystring: S.CommandQuery, response: { 200: S.Page(S.Command), 404: S.ErrorBody, ...errorResponses } }
  }, async (request) => {
    const agent = await agents.get(request.params.idOrSlug)
    return queue.listForAgent(agent.id, { ...request.query, limit: request.query.limit ?? 50 })
  })

  // A static path, so it wins over /api/commands/:id whatever the order of registration.
  app.get('/api/commands/catalog', {
    ...read,
    schema: { tags, summary: 'Every command agents take, with the JSON Schema of its args', response: { 200: S.CommandCatalogResponse, ...errorResponses } }
  }, async () => CATALOG)

  app.get('/api/commands/:id', {
    ...read,
    schema: { tags, summary: 'One command', params: S.IdParams, response: { 200: S.Command, 404: S.ErrorBody, ...errorResponses } }
  }, async (request) => queue.get(request.params.id))

  app.post('/api/commands/:id/cancel', {
    ...write,
    schema: { tags, summary: 'Cancel a queued or running command', params: S.IdParams, response: { 200: S.Command, 404: S.ErrorBody, 409: S.ErrorBody, ...errorResponses } }
  }, async (request) => queue.cancel(request.params.id))
}
