// Which process owns each loaded plugin (DESIGN section 5): owns(p) = role has 'all' ? !flag(p) :
// role has p && flag(p). A map lookup per request, with change notifications for workers and sockets.
import type { Config } from '../../config/index.js'
import { DEDICATED_PLUGINS, type DedicatedPluginName } from '../../config/roles.js'
import { ownershipFlag } from '../../flags/names.js'
import type { FlagSource } from '../../flags/source.js'
import type { PluginDescriptor, PluginInstance } from '../plugin.js'

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

  /** Who owns a plugin, by name, whether or not this process loads it. */
  ownerOfPlugin(plugin: string): Owner {
    return isDedicatedPlugin(plugin) && this.flags.isEnabled(ownershipFlag(plugin)) ? 'dedicated' : 'all'
  }

  /** Whether this process loads and owns the plugin. */
  ownsPlugin(plugin: string): boolean {
    const descriptor = this.tracked.find((d) => d.name === plugin)
    return descriptor !== undefined && this.owns(descriptor)
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

function isDedicatedPlugin(plugin: string): plugin is DedicatedPluginName {
  return (DEDICATED_PLUGINS as readonly string[]).includes(plugin)
}
