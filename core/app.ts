// The app factory: builds the kernel (bus, database, flags, auth, metrics), loads the plugins the
// role lists, and wires health, discovery, docs and shutdown. Used by main.ts and by every test.
import { randomUUID } from 'node:crypto'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import underPressure from '@fastify/under-pressure'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { pino, type Logger } from 'pino'
import type { Config, EnvSpec, SettingsOf } from '../config/index.js'
import { createFlags, LayeredFlagSource } from '../flags/index.js'
import type { FlagSource } from '../flags/source.js'
import { adminTokenRoutes } from './admin-tokens.js'
import { authPlugin } from './auth/index.js'
import { createRevocationList } from './auth/revocations.js'
import { createBus } from './bus/index.js'
import { adminFlagRoutes } from './admin-flags.js'
import type { Bus } from './bus/types.js'
import { createServiceClients } from './clients/index.js'
import { systemClock, type Clock } from './clock.js'
import { createDatabase, type Database } from './db/index.js'
import { jwtSecretsFor, type JwtSecretSource } from './dev-secret.js'
import { discoveryRoutes } from './discovery.js'
import { clientErrorHandler, frameworkErrors, installErrorHandlers } from './error-handler.js'
import { healthRoutes } from './health.js'
import { installInputGuard } from './input-guard.js'
import { loggerOptions } from './logger.js'
import { metricsPlugin } from './metrics.js'
import { createRegistry, registerKernelMetrics } from './metrics/index.js'
import { noTracing, type Tracing } from './trace.js'
import { createLease } from './lease.js'
import { announceOwnerChanges, createProxyAgent, gatedRoutes, LiveOwners, MemoryOwnerRegistry, OwnershipGate, RedisOwnerRegistry, WorkerSupervisor, type LoadedPlugin } from './ownership/index.js'
import { liveOwnerGauge, ownershipMetrics } from './ownership/metrics.js'
import { pluginsForRoles, type Kernel, type PluginDescriptor } from './plugin.js'
import { rateLimitPlugin, rateLimits } from './rate-limit.js'
import { createRedisFactory, type RedisFactory } from './redis.js'
import { version } from './version.js'

export interface AppDeps {
  /** The plugin manifest; the role picks from it. main.ts passes plugins/index.ts's manifest. */
  plugins?: readonly PluginDescriptor[]
  logger?: Logger
  bus?: Bus
  db?: Database
  flags?: FlagSource
  clock?: Clock
  /** Redis connections; by default from REDIS_URL (none without it). */
  redis?: RedisFactory | null
  /** Tracing; by default none (core/telemetry sets it up when OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  trace?: Tracing
}

export interface Helix {
  kernel: Kernel
  gate: OwnershipGate
  /** Which processes are announced, what they could own, and whether they are ready. */
  liveOwners: LiveOwners
  workers: WorkerSupervisor
  plugins: readonly LoadedPlugin[]
  /** Where the JWT secret came from: HELIX_JWT_SECRET, the development file in HELIX_DATA_DIR, or this boot. */
  jwtSecretSource: JwtSecretSource
}

declare module 'fastify' {
  interface FastifyInstance {
    helix: Helix
  }
}

/** How long boot waits for the bus to connect before plugins are built (it keeps reconnecting after). */
const BUS_BOOT_WAIT_MS = 5000

function waitAtMost(work: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([work, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer))
}

/** How long boot waits for flags (Unleash) before going on with bootstrap values. */
const FLAGS_BOOT_WAIT_MS = 1500

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const log = deps.logger ?? pino(loggerOptions(config, { traceIds: deps.trace?.enabled }))
  const app: FastifyInstance = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    trustProxy: config.trustProxy,
    // Answered by core/error-handler.ts in the documented shape instead of Fastify's own bodies.
    return503OnClosing: false,
    frameworkErrors,
    clientErrorHandler,
    // Unknown properties are an error (400) where a schema says additionalProperties: false.
    ajv: { customOptions: { removeAdditional: false } }
  })
  installErrorHandlers(app)
  installInputGuard(app)

  const clock = deps.clock ?? systemClock
  const redis = deps.redis !== undefined ? deps.redis : config.redisUrl ? createRedisFactory(config.redisUrl, log) : null
  const registry = createRegistry(config.roles)
  const bus = deps.bus ?? createBus(config, log, redis, registry, deps.trace)
  const db = deps.db ?? createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log })
  const flags = deps.flags ?? (await createFlags(config, log, bus, redis).catch(async (err: unknown) => {
    await Promise.allSettled([bus.close(), db.close()])
    throw err
  }))
  const descriptors = pluginsForRoles(deps.plugins ?? [], config.roles)
  const liveOwners = new LiveOwners({
    registry: redis ? new RedisOwnerRegistry(redis, config.redisPrefix) : new MemoryOwnerRegistry(bus, clock),
    bus,
    clock,
    log,
    ttlMs: config.liveOwnerTtlMs,
    self: {
      roles: [...config.roles],
      plugins: descriptors.filter((d) => d.ownershipFlag).map((d) => d.name),
      kind: config.monolith ? 'all' : 'dedicated',
      url: config.publicUrl,
      version
    },
    probe: async () => (await Promise.all([bus.isReady(), db.isReady(), flags.isReady()])).every(Boolean)
  })
  const gate = new OwnershipGate(config, flags, liveOwners)
  const loaded: LoadedPlugin[] = []
  const loadedNames = new Set<string>()
  const clients = createServiceClients({ app, config, gate, bus, loaded: () => loadedNames })
  const lease = (name: string, ttlMs?: number) => createLease(redis, config.redisPrefix, { name, ttlMs, log, clock })
  const kernel: Kernel = { config, log, bus, db, flags, metrics: registry, clock, redis, gate, clients, lease, rateLimits: rateLimits(config), trace: deps.trace ?? noTracing }
  const leaseNames = new Map<string, string>(descriptors.map((d) => [d.name, d.lease ?? `workers:${d.name}`]))
  const leaseTtls = new Map<string, number | undefined>(descriptors.map((d) => [d.name, d.leaseTtlMs?.(settingsFor(config, d))]))
  const workers = new WorkerSupervisor(loaded, gate, log, (plugin) => lease(leaseNames.get(plugin) ?? `workers:${plugin}`, leaseTtls.get(plugin)))
  const proxyAgent = createProxyAgent()

  const { secrets: jwtSecrets, source: jwtSecretSource } = jwtSecretsFor(config)
  const revocations = createRevocationList({ redis, prefix: config.redisPrefix, log, clock })
  app.decorate('helix', { kernel, gate, liveOwners, workers, plugins: loaded, jwtSecretSource })

  // A refused WebSocket upgrade (401, 403, 429, 503) is answered on a socket that no longer has an
  // HTTP parser: end it, or it lingers half-closed and holds up server.close() forever.
  app.addHook('onResponse', async (request, reply) => {
    if (request.headers.upgrade && reply.statusCode >= 200) request.raw.socket?.end()
  })
  // While closing, keep-alive connections whose in-flight request has finished are closed as they
  // go idle; otherwise server.close() would wait for their keep-alive timeout.
  let idleSweep: NodeJS.Timeout | undefined
  app.addHook('preClose', async () => {
    idleSweep = setInterval(() => app.server.closeIdleConnections(), 50)
    // Withdrawn first, so the monolith takes this process's plugins back while its requests drain.
    await liveOwners.stop()
  })

  async function release(): Promise<void> {
    clearInterval(idleSweep)
    await liveOwners.stop()
    await workers.stopAll()
    for (const { instance } of loaded) await instance.close?.()
    await Promise.allSettled([clients.close(), flags.close(), bus.close(), db.close(), proxyAgent.close(), revocations.close()])
  }
  app.addHook('onClose', release)

  try {
    await registerEverything()
  } catch (err) {
    // A failed boot (a migration, a plugin) leaves no connection or timer behind.
    await release()
    throw err
  }
  return app

  /** Infrastructure plugins first, then the role's plugins (migrated, built, gated), then operations routes. */
  async function registerEverything(): Promise<void> {
    await app.register(underPressure, {
      maxEventLoopDelay: 1000,
      retryAfter: 5,
      exposeStatusRoute: false
    })
    await app.register(swagger, {
      openapi: {
        info: { title: 'Helix', description: 'The Helix collective backend', version },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
        security: [{ bearer: [] }]
      }
    })
    await app.register(swaggerUi, { routePrefix: '/docs', logLevel: 'warn' })
    await app.register(metricsPlugin, { registry: kernel.metrics, token: config.metricsToken })
    await revocations.start()
    await app.register(authPlugin, { secrets: jwtSecrets, revocations })
    await app.register(rateLimitPlugin, { config, redis })

    // The bus publisher has no offline queue, so plugins' first publishes (seeding, announcements)
    // need it connected; boot's preflight already saw Redis answer, so this is short.
    await waitAtMost(bus.connected(), BUS_BOOT_WAIT_MS)
    // The first ownership decision must know who else is ready, or a booting monolith would take a
    // plugin its dedicated service holds.
    await liveOwners.start()
    gate.track(descriptors)
    liveOwnerGauge(kernel.metrics, liveOwners, descriptors.filter((d) => d.ownershipFlag).map((d) => d.name))
    registerKernelMetrics({ kernel, gate, descriptors, plugins: loaded })
    await db.migrate(descriptors.flatMap((d) => d.migrations ?? []))
    for (const descriptor of descriptors) {
      const instance = await descriptor.create(kernel, app, settingsFor(config, descriptor))
      loaded.push({ descriptor, instance })
      loadedNames.add(descriptor.name)
      if (instance.routes) await app.register(gatedRoutes(descriptor, instance.routes, { gate, config, agent: proxyAgent, app, metrics: ownershipMetrics(kernel.metrics) }))
    }
    if (flags instanceof LayeredFlagSource) await app.register(adminFlagRoutes, { flags, gate, liveOwners })
    await app.register(adminTokenRoutes)

    await app.register(healthRoutes, { kernel, plugins: loaded, gate })
    await app.register(discoveryRoutes, { config, plugins: loaded, gate })

    const flagsKnown = await flags.ready(FLAGS_BOOT_WAIT_MS)
    if (!flagsKnown) log.warn('flags not loaded in time; starting with bootstrap values')
    gate.onChange(() => void workers.sync())
    announceOwnerChanges(gate, descriptors, bus, config, log)
    app.addHook('onReady', async () => {
      await liveOwners.markBooted()
      await workers.sync()
    })
  }
}

/** A plugin's parsed settings; config must have been loaded with the manifest that holds the plugin. */
function settingsFor(config: Config, descriptor: PluginDescriptor): SettingsOf<EnvSpec> {
  const settings = config.settings[descriptor.name]
  if (descriptor.settings && !settings) {
    throw new Error(`The ${descriptor.name} plugin's settings were not parsed: load the config with its manifest (loadConfig(env, manifest))`)
  }
  return (settings ?? {}) as SettingsOf<EnvSpec>
}
