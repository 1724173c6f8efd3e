// The override channel (DESIGN section 5): GET /admin/flags, PUT and DELETE /admin/flags/:name.
// An override beats Unleash on every replica within a second and expires with its TTL. GET also shows
// the live owners; turning a plugin's dedicated flag on while no ready process of its role is announced
// is refused (409 no_ready_owner) unless forced.
import { Type } from 'typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { DEDICATED_PLUGINS, type DedicatedPluginName } from '../config/roles.js'
import { isFlagName, ownershipFlag, type FlagName } from '../flags/names.js'
import type { LayeredFlagSource } from '../flags/layered-source.js'
import { errors, HelixError } from './errors.js'
import type { LiveOwners, OwnershipGate } from './ownership/index.js'

const Override = Type.Object({ enabled: Type.Boolean(), expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) })
const FlagRow = Type.Object({
  name: Type.String(),
  description: Type.String(),
  enabled: Type.Boolean(),
  source: Type.Union(['override', 'unleash', 'bootstrap', 'env', 'default'].map((s) => Type.Literal(s))),
  unleash: Type.Union([Type.Boolean(), Type.Null()]),
  override: Type.Union([Override, Type.Null()])
})
const LiveOwnerRow = Type.Object({
  instance: Type.String(),
  roles: Type.Array(Type.String()),
  plugins: Type.Array(Type.String(), { description: 'The plugins it could own' }),
  kind: Type.Union([Type.Literal('all'), Type.Literal('dedicated')]),
  ready: Type.Boolean(),
  url: Type.Union([Type.String(), Type.Null()]),
  version: Type.String(),
  startedAt: Type.String({ format: 'date-time' }),
  seenAt: Type.String({ format: 'date-time' }),
  self: Type.Boolean({ description: 'The process that answered' })
})
const PluginOwnership = Type.Object({
  flag: Type.String(),
  dedicated: Type.Boolean({ description: "The flag's effective value" }),
  owner: Type.Union([Type.Literal('all'), Type.Literal('dedicated')], { description: 'Who owns the plugin now' }),
  ready: Type.Object({ all: Type.Integer(), dedicated: Type.Integer() }, { description: 'Ready processes that could own it, by kind' }),
  noOwner: Type.Boolean({ description: 'The flag says dedicated but no dedicated process is ready: the monolith keeps the plugin' })
})
const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true })
const Params = Type.Object({ name: Type.String({ maxLength: 100 }) })
/** Timers cannot run past 24.8 days; a week is plenty for a manual override. */
const MAX_TTL_SECONDS = 7 * 86400
const PutBody = Type.Object({
  enabled: Type.Boolean(),
  force: Type.Optional(Type.Boolean({ description: 'Turn a dedicated flag on even when no ready process of the role is announced' })),
  ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TTL_SECONDS, description: 'Seconds until the override lapses; absent: until deleted.' }))
}, { additionalProperties: false })

export async function adminFlagRoutes(app: FastifyInstance, opts: { flags: LayeredFlagSource; gate: OwnershipGate; liveOwners: LiveOwners }) {
  const { flags, gate, liveOwners } = opts
  const admin = app.auth.requireScope('admin')
  const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody }

  function owners() {
    return liveOwners.all().map((o, i) => ({ ...o, startedAt: new Date(o.startedAt).toISOString(), seenAt: new Date(o.seenAt).toISOString(), self: i === 0 }))
  }

  function plugins() {
    return Object.fromEntries(DEDICATED_PLUGINS.map((plugin) => {
      const flag = ownershipFlag(plugin)
      return [plugin, {
        flag,
        dedicated: flags.isEnabled(flag),
        owner: gate.ownerOfPlugin(plugin),
        ready: { all: liveOwners.readyCount(plugin, 'all'), dedicated: liveOwners.readyCount(plugin, 'dedicated') },
        noOwner: gate.hasNoOwner(plugin)
      }]
    }))
  }

  /** Turning `helix.<p>.dedicated` on hands the plugin to its service: refused while none is ready. */
  function checkReadyOwner(name: FlagName, enabled: boolean, force: boolean | undefined, request: FastifyRequest): void {
    const plugin = DEDICATED_PLUGINS.find((p) => ownershipFlag(p) === name) as DedicatedPluginName | undefined
    if (!plugin || !enabled || liveOwners.readyCount(plugin, 'dedicated') > 0) return
    if (force) {
      request.log.warn({ flag: name, plugin, by: request.principal?.sub }, `forced ${name} on with no ready ${plugin} service; the monolith keeps ${plugin} until one is`)
      return
    }
    throw new HelixError(409, 'no_ready_owner', `No ready ${plugin} service is announced; ${name} stays as it is (send force: true to set it anyway)`, { plugin })
  }

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
      response: { 200: Type.Object({ flags: Type.Array(FlagRow), owners: Type.Array(LiveOwnerRow), plugins: Type.Record(Type.String(), PluginOwnership) }), ...errorResponses }
    }
  }, async () => ({ flags: flags.report().map(serialise), owners: owners(), plugins: plugins() }))

  app.put<{ Params: { name: string }; Body: { enabled: boolean; ttlSeconds?: number; force?: boolean } }>('/admin/flags/:name', {
    preHandler: admin,
    // Ajv would coerce "yes" or 1 into a boolean; an operator's typo must not flip ownership.
    preValidation: async (request) => {
      const body = request.body as Record<string, unknown> | undefined
      for (const field of ['enabled', 'force']) {
        if (body && typeof body === 'object' && field in body && typeof body[field] !== 'boolean') {
          throw errors.validation(`body/${field} must be a boolean`, { issues: [{ path: `/${field}`, message: 'must be boolean' }] })
        }
      }
    },
    schema: {
      tags: ['flags'],
      summary: 'Override a flag on every replica (above Unleash), optionally for ttlSeconds',
      params: Params,
      body: PutBody,
      response: { 200: FlagRow, 409: ErrorBody, ...errorResponses }
    }
  }, async (request) => {
    const name = flagName(request.params.name)
    checkReadyOwner(name, request.body.enabled, request.body.force, request)
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
