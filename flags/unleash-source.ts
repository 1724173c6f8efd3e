// The Unleash layer: the real unleash-client polling the Unleash server. It reports a value only for
// flags the server defines; until the first answer (or while it is unreachable) the last known values hold.
import type { EventEmitter } from 'node:events'
import os from 'node:os'
import type { Logger } from 'pino'
import { InMemStorageProvider, Unleash } from 'unleash-client'
import type { ClientFeatures } from './bootstrap-source.js'
import { FLAGS, type FlagName } from './names.js'

export interface UnleashSourceOptions {
  url: string
  apiToken: string | null
  refreshMs: number
  appName: string
  instanceId: string | null
  role: string
  /** Bootstrap features, evaluated by the client until the server answers. */
  bootstrap: ClientFeatures
  /** Usage metrics to the Unleash server (off in tests). */
  metrics: boolean
  log: Logger
}

// A feature only the bootstrap data has: the first full answer from the server replaces the client's
// whole feature map, so its absence proves the values come from the server and not from the file.
const BOOTSTRAP_MARKER = 'helix.internal.bootstrap-marker'

export class UnleashFlagSource {
  private readonly client: Unleash
  private readonly values = new Map<FlagName, boolean>()
  private readonly listeners = new Set<(changed: FlagName[]) => void>()
  private readonly context: { properties: Record<string, string> }
  private synced = false
  private syncWaiters: (() => void)[] = []
  /** The problem last logged, so an outage or a broken answer is logged once, not every poll. */
  private problem: string | null = null

  constructor(private readonly options: UnleashSourceOptions) {
    this.context = { properties: { role: options.role } }
    this.client = new Unleash({
      url: options.url,
      appName: options.appName,
      instanceId: options.instanceId ?? os.hostname(),
      refreshInterval: options.refreshMs,
      timeout: Math.max(1000, Math.min(options.refreshMs * 2, 10_000)),
      customHeaders: options.apiToken ? { Authorization: options.apiToken } : {},
      disableMetrics: !options.metrics,
      // A file backup in the shared temp dir would leak one process's flags into another's boot.
      storageProvider: new InMemStorageProvider(),
      bootstrap: { data: [...options.bootstrap.features, { name: BOOTSTRAP_MARKER, enabled: true, strategies: [] }] as never },
      skipInstanceCountWarning: true
    })
    this.client.on('changed', () => this.refresh())
    this.client.on('unchanged', () => this.recovered())
    this.client.on('error', (err: Error) => this.trouble(err.message))
    this.client.on('warn', (msg: unknown) => this.trouble(String(msg)))
  }

  /** The server's value, or undefined when the server does not define the flag (or never answered). */
  value(name: FlagName): boolean | undefined {
    return this.values.get(name)
  }

  isSynchronized(): boolean {
    return this.synced
  }

  onChange(listener: (changed: FlagName[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Resolves true once the server answered, false when `timeoutMs` passed first. */
  ready(timeoutMs: number): Promise<boolean> {
    if (this.synced) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      timer.unref()
      this.syncWaiters.push(() => {
        clearTimeout(timer)
        resolve(true)
      })
    })
  }

  async close(): Promise<void> {
    this.client.removeAllListeners()
    this.client.destroy()
    // destroy() drops the repository's listeners while a poll may still be in flight; its failure
    // would then be an unhandled 'error' event that kills the process (unleash-client 6.12).
    ;(this.client as unknown as { repository?: EventEmitter }).repository?.on('error', () => {})
  }

  private refresh(): void {
    if (this.client.getFeatureToggleDefinition(BOOTSTRAP_MARKER)) return
    this.recovered()
    const changed: FlagName[] = []
    for (const name of Object.keys(FLAGS) as FlagName[]) {
      const next = this.client.getFeatureToggleDefinition(name) ? this.client.isEnabled(name, this.context) : undefined
      if (next === this.values.get(name)) continue
      if (next === undefined) this.values.delete(name)
      else this.values.set(name, next)
      changed.push(name)
    }
    if (!this.synced) {
      this.synced = true
      for (const wake of this.syncWaiters.splice(0)) wake()
      this.options.log.info({ url: this.options.url }, 'flags loaded from Unleash')
    }
    if (changed.length > 0) for (const listener of this.listeners) listener(changed)
  }

  private trouble(message: string): void {
    if (message === this.problem) return
    this.problem = message
    this.options.log.warn({ url: this.options.url, problem: message }, 'Unleash unavailable or answering garbage; keeping the last known flags')
  }

  private recovered(): void {
    if (this.problem === null) return
    this.problem = null
    this.options.log.info({ url: this.options.url }, 'Unleash answering again')
  }
}
