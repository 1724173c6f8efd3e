// API keys for Zapier, managed by admins (DESIGN section 11): POST /admin/apikeys shows the key once,
// GET lists them without it, DELETE revokes one.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errors } from '../../../core/errors.js'
import type { ApiKeyStore } from '../api-keys.js'
import * as S from '../schemas.js'
import type { zapierAuth } from './auth.js'

const tags = ['zapier']
const errorResponses = { 400: S.ErrorBody, 401: S.ErrorBody, 403: S.ErrorBody }

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ keys: ApiKeyStore; auth: ReturnType<typeof zapierAuth> }> = async (app, { keys, auth }) => {
  app.post('/admin/apikeys', {
    preHandler: auth.admin,
    schema: { tags, summary: 'Create an API key (shown once)', body: S.ApiKeyCreate, response: { 201: S.ApiKeyCreated, ...errorResponses } }
  }, async (request, reply) => reply.code(201).send(await keys.create(request.body.name)))

  app.get('/admin/apikeys', {
    preHandler: auth.admin,
    schema: { tags, summary: 'API keys (without the keys)', response: { 200: Type.Object({ items: Type.Array(S.ApiKey) }), ...errorResponses } }
  }, async () => ({ items: await keys.list() }))

  app.delete('/admin/apikeys/:id', {
    preHandler: auth.admin,
    schema: { tags, summary: 'Revoke an API key', params: S.IdParams, response: { 204: Type.Null(), 404: S.ErrorBody, ...errorResponses } }
  }, async (request, reply) => {
    if (!(await keys.revoke(request.params.id))) throw errors.notFound('API key')
    return reply.code(204).send(null)
  })
}
