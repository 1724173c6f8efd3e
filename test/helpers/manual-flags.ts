// A FlagSource a test flips by hand, for ownership changes without Unleash or Redis.
import type { FlagName } from '../../flags/names.js'
import type { FlagSource } from '../../flags/source.js'

export class ManualFlags implements FlagSource {
  private readonly values = new Map<string, boolean>()
  private readonly listeners = new Set<(changed: FlagName[]) => void>()

  isEnabled(name: FlagName): boolean {
    return this.values.get(name) ?? false
  }

  flip(name: FlagName, value: boolean): void {
    this.values.set(name, value)
    for (const listener of this.listeners) listener([name])
  }

  onChange(listener: (changed: FlagName[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async ready(): Promise<boolean> {
    return true
  }

  isReady(): boolean {
    return true
  }

  async close(): Promise<void> {}
}
