// How callers of the Zapier API authenticate: Zapier with `X-API-Key` (DESIGN section 11), operators
// and other services also with a bearer token holding the `zapier` scope.
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import { errors } from '../../../core/errors.js'
import type { ApiKey, ApiKeyStore } from '../api-keys.js'

declare module 'fastify' {
  interface FastifyRequest {
    /** The API key the request presented (X-API-Key), once verified. */
    apiKey?: ApiKey
  }
}

async function presentedKey(keys: ApiKeyStore, request: FastifyRequest): Promise<ApiKey | null> {
  const header = request.headers['x-api-key']
  if (header === undefined) return null
  const key = typeof header === 'string' ? await keys.verify(header) : null
  if (!key) throw errors.unauthorized('The X-API-Key is not valid or was revoked')
  return key
}

export function zapierAuth(app: FastifyInstance, keys: ApiKeyStore) {
  const scope = app.auth.requireScope('zapier')
  return {
    /** X-API-Key only: what is done belongs to the key (subscriptions). */
    apiKey: (async (request) => {
      const key = await presentedKey(keys, request)
      if (!key) throw errors.unauthorized('An X-API-Key header is required')
      request.apiKey = key
    }) satisfies preHandlerAsyncHookHandler,
    /** X-API-Key, or a bearer token with the `zapier` scope. */
    keyOrToken: (async function check(this: FastifyInstance, request, reply) {
      const key = await presentedKey(keys, request)
      if (key) request.apiKey = key
      else await scope.call(this, request, reply)
    }) satisfies preHandlerAsyncHookHandler,
    admin: app.auth.requireScope('admin')
  }
}

