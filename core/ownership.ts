// Which process owns each loaded plugin (DESIGN section 5), and the workers that run only where
// their plugin is owned: owns(p) = role has 'all' ? !flag(p) : role has p && flag(p).
import type { Logger } from 'pino'
import type { Config } from '../config/index.js'
import type { FlagSource } from '../flags/source.js'
import type { Lease } from './lease.js'
import type { PluginDescriptor, PluginInstance } from './plugin.js'

export type Owner = 'all' | 'dedicated'

export interface LoadedPlugin {
  descriptor: PluginDescriptor
  instance: PluginInstance
}

export interface OwnershipChange {
  plugin: string
  /** Whether this process owns the plugin now. */
  owned: boolean
  owner: Owner
}

export class OwnershipGate {
  private readonly listeners = new Set<(change: OwnershipChange) => void>()
  private readonly known = new Map<string, boolean>()
  private tracked: readonly PluginDescriptor[] = []

  constructor(
    private readonly config: Config,
    private readonly flags: FlagSource
  ) {
    flags.onChange(() => this.recompute())
  }

  /** Starts tracking the loaded plugins so ownership changes are announced. */
  track(descriptors: readonly PluginDescriptor[]): void {
    this.tracked = descriptors
    for (const d of descriptors) this.known.set(d.name, this.owns(d))
  }

  /** Listens for a change in this process's ownership of any loaded plugin. Returns an unsubscribe. */
  onChange(listener: (change: OwnershipChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private recompute(): void {
    for (const d of this.tracked) {
      const owned = this.owns(d)
      if (this.known.get(d.name) === owned) continue
      this.known.set(d.name, owned)
      for (const listener of this.listeners) listener({ plugin: d.name, owned, owner: this.ownerOf(d) })
    }
  }

  /** Who owns the plugin across the deployment right now. */
  ownerOf(descriptor: PluginDescriptor): Owner {
    return descriptor.ownershipFlag && this.flags.isEnabled(descriptor.ownershipFlag) ? 'dedicated' : 'all'
  }

  /** Whether this process owns the plugin: a map lookup, cheap enough for every request. */
  owns(descriptor: PluginDescriptor): boolean {
    if (!descriptor.ownershipFlag) return true
    const dedicated = this.flags.isEnabled(descriptor.ownershipFlag)
    return this.config.monolith ? !dedicated : this.config.roles.includes(descriptor.name as never) && dedicated
  }

  /** The public URL clients should use for the plugin now: this service's when it owns it, else the owner's (null if unknown). */
  publicUrlOf(descriptor: PluginDescriptor): string | null {
    if (this.owns(descriptor)) return this.config.publicUrl
    const key = this.ownerOf(descriptor) === 'all' ? 'all' : descriptor.name
    return this.config.publicUrls[key] ?? null
  }
}

/**
 * Starts a plugin's workers when its process owns it and stops them (after their work in flight) when
 * not. With `leaseFor`, a new owner starts only once the old owner's workers stopped and freed the
 * plugin's lease, so one process runs them at any moment, also during a flip.
 */
export class WorkerSupervisor {
  private readonly running = new Set<string>()
  private readonly leases = new Map<string, Lease>()
  private readonly competing = new Set<string>()
  private queue: Promise<void> = Promise.resolve()
  private stopped = false

  constructor(
    private readonly plugins: readonly LoadedPlugin[],
    private readonly gate: OwnershipGate,
    private readonly log: Logger,
    private readonly leaseFor?: (plugin: string) => Lease
  ) {}

  /** Brings every plugin's workers in line with ownership; calls are serialised. */
  sync(): Promise<void> {
    this.queue = this.queue.then(() => this.apply()).catch((err) => this.log.error({ err }, 'worker sync failed'))
    return this.queue
  }

  /** Stops every worker (shutdown); later syncs do nothing. */
  async stopAll(): Promise<void> {
    this.stopped = true
    await this.sync()
    await Promise.all([...this.leases.values()].map((lease) => lease.close()))
  }

  isRunning(plugin: string): boolean {
    return this.running.has(plugin)
  }

  private lease(plugin: string): Lease | null {
    if (!this.leaseFor) return null
    let lease = this.leases.get(plugin)
    if (!lease) {
      lease = this.leaseFor(plugin)
      lease.onChange((held) => {
        if (!held) void this.sync()
      })
      this.leases.set(plugin, lease)
    }
    return lease
  }

  private compete(plugin: string, lease: Lease): void {
    if (this.competing.has(plugin)) return
    this.competing.add(plugin)
    lease.acquire().then(() => this.sync(), () => {}).finally(() => this.competing.delete(plugin))
  }

  private async apply(): Promise<void> {
    for (const { descriptor, instance } of this.plugins) {
      const workers = instance.workers ?? []
      if (workers.length === 0) continue
      const owned = !this.stopped && this.gate.owns(descriptor)
      const lease = descriptor.sharedWorkers ? null : this.lease(descriptor.name)
      if (owned && lease && !lease.isHeld()) this.compete(descriptor.name, lease)
      const want = owned && (!lease || lease.isHeld())
      const has = this.running.has(descriptor.name)
      if (want && !has) {
        for (const w of workers) await w.start()
        this.running.add(descriptor.name)
        this.log.info({ plugin: descriptor.name, workers: workers.map((w) => w.name), token: lease?.token }, 'workers started')
      } else if (!want && has) {
        this.running.delete(descriptor.name)
        await Promise.all(workers.map((w) => w.stop()))
        this.log.info({ plugin: descriptor.name }, 'workers stopped')
      }
      // Freed only after the work in flight finished: the next owner starts from here.
      if (!owned && lease) await lease.release()
    }
  }
}
