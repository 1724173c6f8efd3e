// POST /api/orchestrate: one command to many agents, chosen by tier, capability or a list; agents
// that do not take the command are reported as skipped. An Idempotency-Key is scoped to the caller,
// this route and each agent.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errors } from '../../../core/errors.js'
import type { RateLimits } from '../../../core/rate-limit.js'
import type { AgentService } from '../agent-service.js'
import { validateCommand } from '../command-catalog.js'
import type { CommandQueue } from '../command-queue.js'
import { requestHash, scopedIdempotencyKey } from '../idempotency.js'
import * as S from '../schemas.js'
import type { Command } from '../types.js'
import { errorResponses, idempotencyReplayed, scopes, tags } from './route-defaults.js'

export interface OrchestrateRouteOptions {
  agents: AgentService
  queue: CommandQueue
  defaultTimeoutMs: number
  rateLimits: RateLimits
}

export const orchestrateRoutes: FastifyPluginAsyncTypebox<OrchestrateRouteOptions> = async (app, { agents, queue, defaultTimeoutMs, rateLimits }) => {
  const { write } = scopes(app.auth)

  app.post('/api/orchestrate', {
    ...write,
    config: { rateLimit: rateLimits.write },
    schema: {
      tags,
      summary: 'One command to many agents, chosen by tier, capability or list',
      headers: S.IdempotencyHeaders,
      body: S.Orchestrate,
      response: { 202: S.OrchestrateResult, 404: S.ErrorBody, 422: S.ErrorBody, 429: S.ErrorBody, ...errorResponses }
    }
  }, async (request, reply) => {
    const { command, tier, capability, agents: names } = request.body
    if (!tier && !capability && !names) throw errors.validation('Choose agents by tier, capability or agents')
    const args = request.body.args ?? {}
    const targets = names
      ? await Promise.all(names.map((n) => agents.get(n)))
      : (await agents.list({ tier, capability, limit: 200 })).items
    const items: Command[] = []
    const skipped: { agent: string; reason: string }[] = []
    const key = request.headers['idempotency-key']
    const hash = key === undefined ? null : requestHash(request.body)
    let replays = 0
    for (const agent of targets) {
      if (names && tier && agent.tier !== tier) continue
      if (names && capability && !agent.capabilities.includes(capability)) continue
      if (!agent.commands.includes(command)) {
        skipped.push({ agent: agent.slug, reason: `does not accept ${command}` })
        continue
      }
      validateCommand(agent, command, args)
      const { command: created, replayed } = await queue.enqueue(agent.id, {
        command,
        args,
        timeoutMs: request.body.timeoutMs ?? defaultTimeoutMs,
        requestedBy: request.principal!.actor,
        ...(key === undefined ? {} : { idempotencyKey: scopedIdempotencyKey(request.principal!.actor, `POST /api/orchestrate ${agent.id}`, key), requestHash: hash })
      })
      items.push(created)
      if (replayed) replays++
    }
    if (replays > 0 && replays === items.length) idempotencyReplayed(reply)
    return reply.code(202).send({ items, skipped })
  })
}
