// Runs each plugin's workers only where the plugin is owned; singleton workers hand over through a
// lease. Each plugin is supervised on its own, so one slow stop (a Discord logout, a stuck delivery)
// never holds up another plugin's flip or the shutdown.
import type { Logger } from 'pino'
import type { Lease } from '../lease.js'
import type { LoadedPlugin, OwnershipGate } from './gate.js'

/** How long a plugin's workers get to finish their work in flight before the supervisor moves on. */
export const DEFAULT_STOP_TIMEOUT_MS = 8000

/**
 * Starts a plugin's workers when its process owns it and stops them (after their work in flight) when
 * not. With `leaseFor`, a new owner starts only once the old owner's workers stopped and freed the
 * plugin's lease, so one process runs them at any moment, also during a flip.
 */
export class WorkerSupervisor {
  private readonly running = new Set<string>()
  private readonly leases = new Map<string, Lease>()
  private readonly competing = new Set<string>()
  /** One serial queue per plugin: its syncs never overlap, other plugins' never wait for it. */
  private readonly queues = new Map<string, Promise<void>>()
  private stopped = false

  constructor(
    private readonly plugins: readonly LoadedPlugin[],
    private readonly gate: OwnershipGate,
    private readonly log: Logger,
    private readonly leaseFor?: (plugin: string) => Lease,
    private readonly stopTimeoutMs = DEFAULT_STOP_TIMEOUT_MS
  ) {}

  /** Brings every plugin's workers in line with ownership, each plugin independently. */
  async sync(): Promise<void> {
    await Promise.all(this.plugins.map((plugin) => this.syncPlugin(plugin)))
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

  private syncPlugin(plugin: LoadedPlugin): Promise<void> {
    const name = plugin.descriptor.name
    const next = (this.queues.get(name) ?? Promise.resolve())
      .then(() => this.apply(plugin))
      .catch((err) => this.log.error({ err, plugin: name }, 'worker sync failed'))
    this.queues.set(name, next)
    return next
  }

  private lease(plugin: LoadedPlugin): Lease | null {
    if (!this.leaseFor) return null
    const name = plugin.descriptor.name
    let lease = this.leases.get(name)
    if (!lease) {
      lease = this.leaseFor(name)
      lease.onChange((held) => {
        if (!held) void this.syncPlugin(plugin)
      })
      this.leases.set(name, lease)
    }
    return lease
  }

  /** Competes for the plugin's lease in the background; once held, that plugin (only) is synced again. */
  private compete(plugin: LoadedPlugin, lease: Lease): void {
    const name = plugin.descriptor.name
    if (this.competing.has(name)) return
    this.competing.add(name)
    lease.acquire().then(() => {
      this.competing.delete(name)
      void this.syncPlugin(plugin)
    }, () => this.competing.delete(name))
  }

  private async apply(plugin: LoadedPlugin): Promise<void> {
    const { descriptor, instance } = plugin
    const workers = instance.workers ?? []
    if (workers.length === 0) return
    const name = descriptor.name
    const owned = !this.stopped && this.gate.owns(descriptor)
    const lease = descriptor.sharedWorkers ? null : this.lease(plugin)
    if (owned && lease && !lease.isHeld()) this.compete(plugin, lease)
    const want = owned && (!lease || lease.isHeld())
    const has = this.running.has(name)
    if (want && !has) {
      for (const w of workers) await w.start()
      this.running.add(name)
      this.log.debug({ plugin: name, workers: workers.map((w) => w.name), token: lease?.token }, 'workers started')
    } else if (!want && has) {
      this.running.delete(name)
      const finished = await this.bounded(Promise.all(workers.map((w) => w.stop())))
      if (finished) this.log.debug({ plugin: name }, 'workers stopped')
      else this.log.warn({ plugin: name, timeoutMs: this.stopTimeoutMs }, 'workers did not stop in time; moving on without them')
    }
    // Freed only after the work in flight finished (or its time ran out): the next owner starts from here.
    if (!owned && lease) await lease.release()
  }

  /** Resolves true when `work` settles within the stop timeout, false when the time ran out first. */
  private async bounded(work: Promise<unknown>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), this.stopTimeoutMs)))
    try {
      return await Promise.race([work.then(() => true, (err: unknown) => {
        this.log.error({ err }, 'a worker failed to stop')
        return true
      }), timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}
