// Agent profiles: GET|POST /api/agents, GET /api/agents/status, GET|PATCH|DELETE /api/agents/:idOrSlug
// (PATCH honours If-Match on `version`, and every profile answer carries it as its ETag).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errors } from '../../../core/errors.js'
import type { AgentService } from '../agent-service.js'
import * as S from '../schemas.js'
import { errorResponses, scopes, tags } from './route-defaults.js'

/** If-Match carries the version as an ETag: `"3"`, `W/"3"` or `3`. */
function parseIfMatch(header: string | undefined): number | null {
  if (header === undefined) return null
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header)
  if (!match) throw errors.preconditionFailed('If-Match must be the agent version, e.g. "3"')
  return Number(match[1])
}

export const agentRoutes: FastifyPluginAsyncTypebox<{ agents: AgentService }> = async (app, { agents }) => {
  const { read, write } = scopes(app.auth)

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
}
