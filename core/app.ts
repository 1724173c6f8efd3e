// The app factory: builds the kernel (bus, database, flags, auth, metrics), loads the plugins the
// role lists, and wires health, discovery, docs and shutdown. Used by main.ts and by every test.
import { randomBytes, randomUUID } from 'node:crypto'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import underPressure from '@fastify/under-pressure'
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { pino, type Logger } from 'pino'
import { Registry } from 'prom-client'
import type { Config } from '../config/index.js'
import { createFlags, LayeredFlagSource } from '../flags/index.js'
import type { FlagSource } from '../flags/source.js'
import { authPlugin } from './auth/index.js'
import { createBus } from './bus/index.js'
import { adminFlagRoutes } from './admin-flags.js'
import type { Bus } from './bus/types.js'
import { createDatabase, type Database } from './db/index.js'
import { discoveryRoutes } from './discovery.js'
import { installErrorHandlers } from './error-handler.js'
import { healthRoutes } from './health.js'
import { loggerOptions } from './logger.js'
import { metricsPlugin } from './metrics.js'
import { createLease } from './lease.js'
import { OwnershipGate, WorkerSupervisor, type LoadedPlugin } from './ownership.js'
import { announceOwnerChanges, createProxyAgent, gatedRoutes } from './ownership-gate.js'
import { pluginsForRoles, type Kernel, type PluginDescriptor } from './plugin.js'
import { version } from './version.js'

export interface AppDeps {
  /** The plugin manifest; the role picks from it. main.ts passes plugins/index.ts's manifest. */
  plugins?: readonly PluginDescriptor[]
  logger?: Logger
  bus?: Bus
  db?: Database
  flags?: FlagSource
}

export interface Helix {
  kernel: Kernel
  gate: OwnershipGate
  workers: WorkerSupervisor
  plugins: readonly LoadedPlugin[]
  /** True when no HELIX_JWT_SECRET was given and this boot made up its own. */
  ephemeralSecret: boolean
}

declare module 'fastify' {
  interface FastifyInstance {
    helix: Helix
  }
}

/** How long boot waits for flags (Unleash) before going on with bootstrap values. */
const FLAGS_BOOT_WAIT_MS = 1500

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const log = deps.logger ?? pino(loggerOptions(config))
  const app: FastifyInstance = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    trustProxy: true,
    return503OnClosing: true,
    // Unknown properties are an error (400) where a schema says additionalProperties: false.
    ajv: { customOptions: { removeAdditional: false } }
  })
  installErrorHandlers(app)

  const bus = deps.bus ?? createBus(config, log)
  const db = deps.db ?? createDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, log })
  const flags = deps.flags ?? (await createFlags(config, log, bus).catch(async (err: unknown) => {
    await Promise.allSettled([bus.close(), db.close()])
    throw err
  }))
  const kernel: Kernel = { config, log, bus, db, flags, metrics: new Registry() }
  const gate = new OwnershipGate(config, flags)
  const loaded: LoadedPlugin[] = []
  const workers = new WorkerSupervisor(loaded, gate, log, (plugin) => createLease(config, { name: `workers:${plugin}`, log }))
  const proxyAgent = createProxyAgent()

  const jwtSecret = config.jwtSecret ?? randomBytes(32).toString('base64url')
  app.decorate('helix', { kernel, gate, workers, plugins: loaded, ephemeralSecret: !config.jwtSecret })

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
  })

  async function release(): Promise<void> {
    clearInterval(idleSweep)
    await workers.stopAll()
    for (const { instance } of loaded) await instance.close?.()
    await Promise.allSettled([flags.close(), bus.close(), db.close(), proxyAgent.close()])
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
    await app.register(authPlugin, { secret: jwtSecret })

    const descriptors = pluginsForRoles(deps.plugins ?? [], config.roles)
    gate.track(descriptors)
    await db.migrate(descriptors.flatMap((d) => d.migrations ?? []))
    for (const descriptor of descriptors) {
      const instance = await descriptor.create(kernel, app)
      loaded.push({ descriptor, instance })
      await app.register(gatedRoutes(descriptor, instance.routes, { gate, config, agent: proxyAgent }))
    }
    if (flags instanceof LayeredFlagSource) await app.register(adminFlagRoutes, { flags })

    await app.register(healthRoutes, { kernel, plugins: loaded, gate })
    await app.register(discoveryRoutes, { config, plugins: loaded, gate })

    const flagsKnown = await flags.ready(FLAGS_BOOT_WAIT_MS)
    if (!flagsKnown) log.warn('flags not loaded in time; starting with bootstrap values')
    gate.onChange(() => void workers.sync())
    announceOwnerChanges(gate, descriptors, bus, config, log)
    app.addHook('onReady', () => workers.sync())
  }
}
