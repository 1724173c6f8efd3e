// The override channel (DESIGN section 5): GET /admin/flags, PUT and DELETE /admin/flags/:name.
// An override beats Unleash on every replica within a second and expires with its TTL.
import { Type } from 'typebox'
import type { FastifyInstance } from 'fastify'
import { isFlagName, type FlagName } from '../flags/names.js'
import type { LayeredFlagSource } from '../flags/layered-source.js'
import { errors } from './errors.js'

const Override = Type.Object({ enabled: Type.Boolean(), expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) })
const FlagRow = Type.Object({
  name: Type.String(),
  description: Type.String(),
  enabled: Type.Boolean(),
  source: Type.Union(['override', 'unleash', 'bootstrap', 'env', 'default'].map((s) => Type.Literal(s))),
  unleash: Type.Union([Type.Boolean(), Type.Null()]),
  override: Type.Union([Override, Type.Null()])
})
const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true })
const Params = Type.Object({ name: Type.String({ maxLength: 100 }) })
/** Timers cannot run past 24.8 days; a week is plenty for a manual override. */
const MAX_TTL_SECONDS = 7 * 86400
const PutBody = Type.Object({
  enabled: Type.Boolean(),
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TTL_SECONDS, description: 'Seconds until the override lapses; absent: until deleted.' }))
}, { additionalProperties: false })

export async function adminFlagRoutes(app: FastifyInstance, opts: { flags: LayeredFlagSource }) {
  const { flags } = opts
  const admin = app.auth.requireScope('admin')
  const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody }

  function row(name: FlagName) {
    const report = flags.report().find((r) => r.name === name)!
    return serialise(report)
  }

  function serialise(report: ReturnType<LayeredFlagSource['report']>[number]) {
    const { override } = report
    return { ...report, override: override && { enabled: override.enabled, expiresAt: override.expiresAt === null ? null : new Date(override.expiresAt).toISOString() } }
  }

  function flagName(name: string): FlagName {
    if (!isFlagName(name)) throw errors.notFound(`Flag "${name}"`)
    return name
  }

  /** Redis being down is a temporary condition for the caller, not a server bug. */
  async function store<T>(work: Promise<T>): Promise<T> {
    try {
      return await work
    } catch (err) {
      app.log.warn({ err: (err as Error).message }, 'storing a flag override failed')
      throw errors.unavailable('Flag overrides cannot be stored right now')
    }
  }

  app.get('/admin/flags', {
    preHandler: admin,
    schema: {
      tags: ['flags'],
      summary: 'Every flag: effective value, its source, the Unleash value and any override',
      response: { 200: Type.Object({ flags: Type.Array(FlagRow) }), ...errorResponses }
    }
  }, async () => ({ flags: flags.report().map(serialise) }))

  app.put<{ Params: { name: string }; Body: { enabled: boolean; ttlSeconds?: number } }>('/admin/flags/:name', {
    preHandler: admin,
    // Ajv would coerce "yes" or 1 into a boolean; an operator's typo must not flip ownership.
    preValidation: async (request) => {
      const body = request.body as { enabled?: unknown } | undefined
      if (body && typeof body === 'object' && 'enabled' in body && typeof body.enabled !== 'boolean') {
        throw errors.validation('body/enabled must be a boolean', { issues: [{ path: '/enabled', message: 'must be boolean' }] })
      }
    },
    schema: {
      tags: ['flags'],
      summary: 'Override a flag on every replica (above Unleash), optionally for ttlSeconds',
      params: Params,
      body: PutBody,
      response: { 200: FlagRow, ...errorResponses }
    }
  }, async (request) => {
    const name = flagName(request.params.name)
    await store(flags.overrides.set(name, request.body.enabled, request.body.ttlSeconds ?? null))
    request.log.info({ flag: name, enabled: request.body.enabled, ttlSeconds: request.body.ttlSeconds, by: request.principal?.sub }, 'flag override set')
    return row(name)
  })

  app.delete<{ Params: { name: string } }>('/admin/flags/:name', {
    preHandler: admin,
    schema: {
      tags: ['flags'],
      summary: 'Remove a flag override; Unleash (or the bootstrap file) decides again',
      params: Params,
      response: { 200: FlagRow, ...errorResponses }
    }
  }, async (request) => {
    const name = flagName(request.params.name)
    await store(flags.overrides.clear(name))
    request.log.info({ flag: name, by: request.principal?.sub }, 'flag override removed')
    return row(name)
  })
}
