// The plugin contract. Each plugin folder exports a descriptor; the kernel loads the descriptors a
// role lists, parses their settings, runs their migrations, registers their routes (encapsulated) and
// drives their workers. A new plugin is a folder plus one line in plugins/index.ts.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config, EnvSpec, SettingsOf } from '../config/index.js'
import type { PluginName, Role } from '../config/roles.js'
import type { FlagSource } from '../flags/source.js'
import type { FlagName } from '../flags/names.js'
import type { Bus } from './bus/types.js'
import type { Clock } from './clock.js'
import type { ServiceClients } from './clients/index.js'
import type { Database, Migration } from './db/index.js'
import type { Lease } from './lease.js'
import type { OwnershipGate } from './ownership/index.js'
import type { RateLimits } from './rate-limit.js'
import type { RedisFactory } from './redis.js'
import type { Tracing } from './trace.js'

/** What the kernel hands every plugin: shared infrastructure, built once by the app factory. */
export interface Kernel {
  config: Config
  log: Logger
  bus: Bus
  db: Database
  flags: FlagSource
  metrics: Registry
  clock: Clock
  /** Makes Redis connections with the kernel's retry settings; null in the embedded default (no Redis). */
  redis: RedisFactory | null
  /** Who owns each plugin now, and change notifications. */
  gate: OwnershipGate
  /** Typed clients of the other plugins' REST APIs, in-process or over HTTP, whoever owns them. */
  clients: ServiceClients
  /** A singleton lease (`<prefix>lease:<name>`) over Redis; always held in the embedded default. */
  lease(name: string, ttlMs?: number): Lease
  /** Route configs for the shared rate limits: `{ config: { rateLimit: kernel.rateLimits.write } }`. */
  rateLimits: RateLimits
  /** Spans and W3C trace context; a no-op unless OpenTelemetry is configured. */
  trace: Tracing
}

/** Background work a plugin runs only while its process owns it (queue consumers, tickers). */
export interface Worker {
  name: string
  start(): Promise<void> | void
  /** Stops taking new work and resolves when the work in flight has finished. */
  stop(): Promise<void> | void
}

export interface PluginInstance {
  /** The plugin's routes, registered in their own encapsulated context; none for a plugin such as the bot. */
  routes?: FastifyPluginAsync
  workers?: Worker[]
  /** Readiness beyond the kernel's (bus, database, flags); false keeps /health/ready at 503. */
  isReady?(): boolean | Promise<boolean>
  /** Called on shutdown after the workers stopped. */
  close?(): Promise<void> | void
}

export interface PluginDescriptor<S extends EnvSpec = EnvSpec> {
  name: PluginName
  /** Heading of its settings in `helix env` and the README, e.g. "Voice (`plugins/voice`)". */
  title?: string
  /** Roles that load this plugin besides `all`, which loads every plugin. */
  roles: readonly Role[]
  /** The flag that moves the plugin to its dedicated service; null: owned wherever it is loaded. */
  ownershipFlag: FlagName | null
  /**
   * Workers that coordinate through the database (a queue with row locks) run in every owning
   * replica at once. Otherwise a per-plugin lease keeps them in one process of the deployment.
   */
  sharedWorkers?: boolean
  /**
   * The lease that keeps the workers in one process (unless sharedWorkers); default
   * `workers:<name>`. The bot names `bot`, so its Discord gateway holds `helix:lease:bot`.
   */
  lease?: string
  /** How long that lease outlives a crashed holder (default 10 s), from the plugin's settings. */
  leaseTtlMs?(settings: SettingsOf<S>): number
  /** Needs the database server (PostgreSQL) when it runs outside the monolith; boot fails without DATABASE_URL. */
  needsDatabase?: boolean
  /** Env variables the plugin reads, parsed and validated at boot with the kernel's. */
  settings?: S
  /** Path of the plugin's WebSocket endpoint, if any; discovery reports its ws:// URL. */
  websocketPath?: string
  /** Database migrations, run at boot (and by `npm run migrate`) wherever the plugin is loaded. */
  migrations?: readonly Migration[]
  /** Builds the plugin from the kernel and its parsed settings. Called once per process. */
  create(kernel: Kernel, app: FastifyInstance, settings: SettingsOf<S>): Promise<PluginInstance> | PluginInstance
}

export function definePlugin<S extends EnvSpec = Record<never, never>>(descriptor: PluginDescriptor<S>): PluginDescriptor {
  return descriptor as unknown as PluginDescriptor
}

/** The descriptors a process with these roles loads, in manifest order. */
export function pluginsForRoles(manifest: readonly PluginDescriptor[], roles: readonly Role[]): PluginDescriptor[] {
  if (roles.includes('all')) return [...manifest]
  return manifest.filter((p) => p.roles.some((r) => roles.includes(r)))
}
