// The orchestrator's REST API under /api (DESIGN section 9): agents, commands, orchestration, the
// UCF, rituals and alerts. `agents:read` for reads, `agents:write` for changes.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errors, HelixError } from '../../core/errors.js'
import type { AgentService } from './agent-service.js'
import type { AlertService } from './alert-service.js'
import { validateCommand } from './command-handlers.js'
import type { CommandQueue } from './command-queue.js'
import type { Command as CommandT } from './models.js'
import type { RitualService } from './ritual-service.js'
import * as S from './schemas.js'
import type { UcfService } from './ucf-service.js'

export interface RouteDeps {
  agents: AgentService
  queue: CommandQueue
  ucf: UcfService
  rituals: RitualService
  alerts: AlertService
  defaultTimeoutMs: number
  /** Wakes the local ritual runner, when this process runs it. */
  ritualQueued(): void
}

const errorResponses = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody }

/** If-Match carries the version as an ETag: `"3"`, `W/"3"` or `3`. */
function parseIfMatch(header: string | undefined): number | null {
  if (header === undefined) return null
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header)
  if (!match) throw errors.preconditionFailed('If-Match must be the agent version, e.g. "3"')
  return Number(match[1])
}

function parseSince(since: string | undefined): number | undefined {
  if (since === undefined) return undefined
  const value = /^\d+$/.test(since) ? Number(since) : Date.parse(since)
  if (Number.isNaN(value)) throw errors.validation('since must be an ISO date-time or epoch milliseconds')
  return value
}

export function orchestratorRoutes(deps: RouteDeps): FastifyPluginAsyncTypebox {
  const { agents, queue, ucf, rituals, alerts } = deps

  return async function routes(app) {
    const read = { preHandler: app.auth.requireScope('agents:read') }
    const write = { preHandler: app.auth.requireScope('agents:write') }
    const tags = ['orchestrator']

    app.get('/api/agents', {
      ...read,
      schema: { tags, summary: 'List agents', querystring: S.AgentQuery, response: { 200: S.Page(S.Agent), ...errorResponses } }
    }, async (request) => agents.list({ ...request.query, limit: request.query.limit ?? 50 }))

    app.post('/api/agents', {
      ...write,
      schema: { tags, summary: 'Create an agent', body: S.AgentCreate, response: { 201: S.Agent, 409: S.ErrorBody, ...errorResponses } }
    }, async (request, reply) => {
      const agent = await agents.create(request.body)
      return reply.code(201).header('etag', `"${agent.version}"`).send(agent)
    })

    app.get('/api/agents/status', {
      ...read,
      schema: { tags, summary: 'Agents and commands by status', response: { 200: S.AgentSummary, ...errorResponses } }
    }, async () => agents.summary())

    app.get('/api/agents/:idOrSlug', {
      ...read,
      schema: { tags, summary: 'One agent', params: S.AgentParams, response: { 200: S.Agent, 404: S.ErrorBody, ...errorResponses } }
    }, async (request, reply) => {
      const agent = await agents.get(request.params.idOrSlug)
      return reply.header('etag', `"${agent.version}"`).send(agent)
    })

    app.patch('/api/agents/:idOrSlug', {
      ...write,
      schema: {
        tags,
        summary: 'Update an agent (If-Match: its version)',
        params: S.AgentParams,
        body: S.AgentPatch,
        response: { 200: S.Agent, 404: S.ErrorBody, 412: S.ErrorBody, ...errorResponses }
      }
    }, async (request, reply) => {
      const agent = await agents.patch(request.params.idOrSlug, request.body, parseIfMatch(request.headers['if-match']))
      return reply.header('etag', `"${agent.version}"`).send(agent)
    })

    app.delete('/api/agents/:idOrSlug', {
      ...write,
      schema: { tags, summary: 'Delete an agent (409 while it runs a command)', params: S.AgentParams, response: { 204: Type.Null(), 404: S.ErrorBody, 409: S.ErrorBody, ...errorResponses } }
    }, async (request, reply) => {
      await agents.delete(request.params.idOrSlug)
      return reply.code(204).send(null)
    })

    app.post('/api/agents/:idOrSlug/commands', {
      ...write,
      schema: {
        tags,
        summary: 'Send a command to an agent; 202 once it is stored',
        params: S.AgentParams,
        headers: S.IdempotencyHeaders,
        body: S.CommandCreate,
        response: { 202: S.Command, 404: S.ErrorBody, 422: S.ErrorBody, ...errorResponses }
      }
    }, async (request, reply) => {
      const agent = await agents.profile(request.params.idOrSlug)
      const args = request.body.args ?? {}
      validateCommand(agent, request.body.command, args)
      const { command, replayed } = await queue.enqueue(agent.id, {
        command: request.body.command,
        args,
        timeoutMs: request.body.timeoutMs ?? deps.defaultTimeoutMs,
        idempotencyKey: request.headers['idempotency-key'] ?? null
      }).catch((err: unknown) => {
        if (!(err instanceof HelixError && err.code === 'not_found')) throw err
        // The profile outlived its agent: forget it, so the next request looks the slug up afresh.
        agents.forget(agent)
        throw errors.notFound(`Agent "${request.params.idOrSlug}"`)
      })
      if (replayed) reply.header('idempotent-replayed', 'true')
      return reply.code(202).header('location', `/api/commands/${command.id}`).send(command)
    })

    app.get('/api/agents/:idOrSlug/commands', {
      ...read,
      schema: { tags, summary: "An agent's commands, newest first", params: S.AgentParams, querystring: S.CommandQuery, response: { 200: S.Page(S.Command), 404: S.ErrorBody, ...errorResponses } }
    }, async (request) => {
      const agent = await agents.get(request.params.idOrSlug)
      return queue.listForAgent(agent.id, { ...request.query, limit: request.query.limit ?? 50 })
    })

    app.get('/api/commands/:id', {
      ...read,
      schema: { tags, summary: 'One command', params: S.IdParams, response: { 200: S.Command, 404: S.ErrorBody, ...errorResponses } }
    }, async (request) => queue.get(request.params.id))

    app.post('/api/commands/:id/cancel', {
      ...write,
      schema: { tags, summary: 'Cancel a queued or running command', params: S.IdParams, response: { 200: S.Command, 404: S.ErrorBody, 409: S.ErrorBody, ...errorResponses } }
    }, async (request) => queue.cancel(request.params.id))

    app.post('/api/orchestrate', {
      ...write,
      schema: {
        tags,
        summary: 'One command to many agents, chosen by tier, capability or list',
        body: S.Orchestrate,
        response: { 202: S.OrchestrateResult, 404: S.ErrorBody, ...errorResponses }
      }
    }, async (request, reply) => {
      const { command, tier, capability, agents: names } = request.body
      if (!tier && !capability && !names) throw errors.validation('Choose agents by tier, capability or agents')
      const args = request.body.args ?? {}
      const targets = names
        ? await Promise.all(names.map((n) => agents.get(n)))
        : (await agents.list({ tier, capability, limit: 200 })).items
      const items: CommandT[] = []
      const skipped: { agent: string; reason: string }[] = []
      const key = request.headers['idempotency-key']
      for (const agent of targets) {
        if (names && tier && agent.tier !== tier) continue
        if (names && capability && !agent.capabilities.includes(capability)) continue
        if (!agent.commands.includes(command)) {
          skipped.push({ agent: agent.slug, reason: `does not accept ${command}` })
          continue
        }
        validateCommand(agent, command, args)
        const { command: created } = await queue.enqueue(agent.id, {
          command,
          args,
          timeoutMs: request.body.timeoutMs ?? deps.defaultTimeoutMs,
          idempotencyKey: typeof key === 'string' ? `${key}:${agent.id}` : null
        })
        items.push(created)
      }
      return reply.code(202).send({ items, skipped })
    })

    app.get('/api/ucf', {
      ...read,
      schema: { tags, summary: 'The UCF state', response: { 200: S.UcfState, ...errorResponses } }
    }, async () => ucf.get())

    app.get('/api/ucf/history', {
      ...read,
      schema: { tags, summary: 'UCF changes, oldest first', querystring: S.UcfHistoryQuery, response: { 200: S.Page(S.UcfHistoryEntry), ...errorResponses } }
    }, async (request) => ucf.history({ since: parseSince(request.query.since), cursor: request.query.cursor, limit: request.query.limit ?? 100 }))

    app.post('/api/ucf/rituals', {
      ...write,
      schema: { tags, summary: 'Start a ritual; 202 with the run', body: S.RitualCreate, response: { 202: S.Ritual, ...errorResponses } }
    }, async (request, reply) => {
      const ritual = await rituals.start(request.body)
      deps.ritualQueued()
      return reply.code(202).header('location', `/api/rituals/${ritual.id}`).send(ritual)
    })

    app.get('/api/rituals/:id', {
      ...read,
      schema: { tags, summary: 'A ritual run', params: S.IdParams, response: { 200: S.Ritual, 404: S.ErrorBody, ...errorResponses } }
    }, async (request) => rituals.get(request.params.id))

    app.get('/api/alerts', {
      ...read,
      schema: { tags, summary: 'Alerts, newest first', querystring: S.AlertQuery, response: { 200: S.Page(S.Alert), ...errorResponses } }
    }, async (request) => alerts.list({ ...request.query, limit: request.query.limit ?? 50 }))
  }
}
