// The plugin contract. Each plugin folder exports a descriptor; the kernel loads the descriptors a
// role lists, runs their migrations, registers their routes (encapsulated) and drives their workers.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config } from '../config/index.js'
import type { PluginName, Role } from '../config/roles.js'
import type { FlagSource } from '../flags/source.js'
import type { FlagName } from '../flags/names.js'
import type { Bus } from './bus/types.js'
import type { Database, Migration } from './db/index.js'

/** What the kernel hands every plugin: shared infrastructure, built once by the composition root. */
export interface Kernel {
  config: Config
  log: Logger
  bus: Bus
  db: Database
  flags: FlagSource
  metrics: Registry
}

/** Background work a plugin runs only while its process owns it (queue consumers, tickers). */
export interface Worker {
  name: string
  start(): Promise<void> | void
  /** Stops taking new work and resolves when the work in flight has finished. */
  stop(): Promise<void> | void
}

export interface PluginInstance {
  /** The plugin's routes, registered in their own encapsulated context. */
  routes: FastifyPluginAsync
  workers?: Worker[]
  /** Readiness beyond the kernel's (bus, database, flags); false keeps /health/ready at 503. */
  isReady?(): boolean | Promise<boolean>
  /** Called on shutdown after the workers stopped. */
  close?(): Promise<void> | void
}

export interface PluginDescriptor {
  name: PluginName
  /** Roles that load this plugin besides `all`, which loads every plugin. */
  roles: readonly Role[]
  /** The flag that moves the plugin to its dedicated service; null: owned wherever it is loaded. */
  ownershipFlag: FlagName | null
  /**
   * Workers that coordinate through the database (a queue with row locks) run in every owning
   * replica at once. Otherwise a per-plugin lease keeps them in one process of the deployment.
   */
  sharedWorkers?: boolean
  /** Path of the plugin's WebSocket endpoint, if any; discovery reports its ws:// URL. */
  websocketPath?: string
  /** Database migrations, run at boot (and by `npm run migrate`) wherever the plugin is loaded. */
  migrations?: readonly Migration[]
  /** Builds the plugin from the kernel. Called once per process. */
  create(kernel: Kernel, app: FastifyInstance): Promise<PluginInstance> | PluginInstance
}

export function definePlugin(descriptor: PluginDescriptor): PluginDescriptor {
  return descriptor
}

/** The descriptors a process with these roles loads, in manifest order. */
export function pluginsForRoles(manifest: readonly PluginDescriptor[], roles: readonly Role[]): PluginDescriptor[] {
  if (roles.includes('all')) return [...manifest]
  return manifest.filter((p) => p.roles.some((r) => roles.includes(r)))
}
