// POST /admin/tokens/revoke (DESIGN section 7): an admin revokes a token by its `jti`; every replica
// refuses it (401 token_revoked) from then until the token would have expired anyway.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from 'typebox'

/** Without the token's `exp`, a revocation is kept this long: longer than any token `helix token` is asked for in practice. */
const DEFAULT_KEEP_SECONDS = 365 * 86400

const RevokeBody = Type.Object({
  jti: Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$', description: 'The `jti` claim of the token' }),
  exp: Type.Optional(Type.Integer({ minimum: 0, maximum: 253_402_300_799, description: "The token's `exp` (epoch seconds): the revocation is kept until then; absent, for a year" }))
}, { additionalProperties: false })
type RevokeBody = Static<typeof RevokeBody>

const Revoked = Type.Object({
  jti: Type.String(),
  revokedUntil: Type.String({ format: 'date-time', description: 'When the revocation lapses (the token has expired by then)' })
})
const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true })

export async function adminTokenRoutes(app: FastifyInstance) {
  app.post('/admin/tokens/revoke', {
    preHandler: app.auth.requireScope('admin'),
    schema: {
      tags: ['auth'],
      summary: 'Revoke a token by its jti on every replica',
      body: RevokeBody,
      response: { 200: Revoked, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 503: ErrorBody }
    }
  }, async (request) => {
    const { jti, exp } = request.body as RevokeBody
    const until = exp !== undefined ? exp * 1000 : Date.now() + DEFAULT_KEEP_SECONDS * 1000
    // A Redis outage here is a 503 with Retry-After, by the error handler.
    await app.auth.revoke(jti, until)
    return { jti, revokedUntil: new Date(until).toISOString() }
  })
}
