// The FlagSource every process uses: override > Unleash > bootstrap file (+ HELIX_FLAG_* env) > code
// default. Effective values are cached in one map, so a read on the request path is a lookup.
import type { BootstrapFlagSource } from './bootstrap-source.js'
import { FLAGS, type FlagName } from './names.js'
import type { FlagOverride, OverrideStore } from './override-store.js'
import type { FlagOrigin, FlagSource } from './source.js'
import type { UnleashFlagSource } from './unleash-source.js'

/** One row of GET /admin/flags. */
export interface FlagReport {
  name: FlagName
  description: string
  enabled: boolean
  source: FlagOrigin
  /** The Unleash server's value; null when Unleash is not configured, not reached yet, or lacks the flag. */
  unleash: boolean | null
  override: FlagOverride | null
}

export class LayeredFlagSource implements FlagSource {
  private readonly effective = new Map<FlagName, { enabled: boolean; source: FlagOrigin }>()
  private readonly listeners = new Set<(changed: FlagName[]) => void>()

  constructor(
    private readonly bootstrap: BootstrapFlagSource,
    private readonly unleash: UnleashFlagSource | null,
    readonly overrides: OverrideStore
  ) {
    for (const name of Object.keys(FLAGS) as FlagName[]) this.effective.set(name, this.resolve(name))
    unleash?.onChange((names) => this.recompute(names))
    overrides.onChange((names) => this.recompute(names))
  }

  isEnabled(name: FlagName): boolean {
    return this.effective.get(name)?.enabled ?? false
  }

  onChange(listener: (changed: FlagName[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Waits for the overrides and the first Unleash answer, never longer than `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
    })
    const loaded = Promise.all([this.overrides.ready(), this.unleash?.ready(timeoutMs) ?? true]).then(([, synced]) => synced)
    try {
      return await Promise.race([loaded, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Values are always known (bootstrap); ready once the overrides were read, so none is missed. */
  isReady(): boolean {
    return this.overrides.isReady()
  }

  report(): FlagReport[] {
    return (Object.keys(FLAGS) as FlagName[]).map((name) => ({
      name,
      description: FLAGS[name].description,
      ...this.effective.get(name)!,
      unleash: this.unleash?.value(name) ?? null,
      override: this.overrides.get(name) ?? null
    }))
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.unleash?.close(), this.overrides.close()])
  }

  private resolve(name: FlagName): { enabled: boolean; source: FlagOrigin } {
    const override = this.overrides.get(name)
    if (override) return { enabled: override.enabled, source: 'override' }
    const fromUnleash = this.unleash?.value(name)
    if (fromUnleash !== undefined) return { enabled: fromUnleash, source: 'unleash' }
    return { enabled: this.bootstrap.isEnabled(name), source: this.bootstrap.origin(name) }
  }

  private recompute(names: readonly FlagName[]): void {
    const changed: FlagName[] = []
    for (const name of names) {
      const next = this.resolve(name)
      const before = this.effective.get(name)
      this.effective.set(name, next)
      if (before?.enabled !== next.enabled) changed.push(name)
    }
    if (changed.length > 0) for (const listener of this.listeners) listener(changed)
  }
}
