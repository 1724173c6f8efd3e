// Which process owns each loaded plugin (DESIGN section 5): owns(p) = role has 'all' ? !flag(p) :
// role has p && flag(p), where the flag counts only while a ready dedicated process is announced (live
// owners): a plugin is never handed to nobody. A lookup per request, with change notifications for
// workers and sockets.
import type { Config } from '../../config/index.js'
import { DEDICATED_PLUGINS, type DedicatedPluginName } from '../../config/roles.js'
import { ownershipFlag, type FlagName } from '../../flags/names.js'
import type { FlagSource } from '../../flags/source.js'
import type { PluginDescriptor, PluginInstance } from '../plugin.js'
import type { LiveOwners } from './live-owners.js'

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

/** A plugin whose flag says dedicated while no dedicated process is ready: the monolith keeps it. */
export interface NoOwnerChange {
  plugin: string
  flag: string
  /** True when the condition starts, false when a ready dedicated process took the plugin. */
  noOwner: boolean
}

export class OwnershipGate {
  private readonly listeners = new Set<(change: OwnershipChange) => void>()
  private readonly noOwnerListeners = new Set<(change: NoOwnerChange) => void>()
  private readonly known = new Map<string, boolean>()
  private readonly knownNoOwner = new Map<string, boolean>()
  private tracked: readonly PluginDescriptor[] = []

  /**
   * Without live owners (a gate on its own, as in a unit test) the flag alone decides; with them, a
   * dedicated process owns only while ready, and the monolith lets go only while one is.
   */
  constructor(
    private readonly config: Config,
    private readonly flags: FlagSource,
    private readonly owners: LiveOwners | null = null
  ) {
    flags.onChange(() => this.recompute())
    owners?.onChange(() => this.recompute())
  }

  /** Starts tracking the loaded plugins so ownership changes are announced. */
  track(descriptors: readonly PluginDescriptor[]): void {
    this.tracked = descriptors
    for (const d of descriptors) {
      this.known.set(d.name, this.owns(d))
      if (d.ownershipFlag) this.knownNoOwner.set(d.name, this.config.monolith && this.hasNoOwner(d.name))
    }
  }

  /** Listens for a plugin losing (or regaining) a ready dedicated owner while its flag says dedicated. */
  onNoOwner(listener: (change: NoOwnerChange) => void): () => void {
    this.noOwnerListeners.add(listener)
    return () => this.noOwnerListeners.delete(listener)
  }

  /** Listens for a change in this process's ownership of any loaded plugin. Returns an unsubscribe. */
  onChange(listener: (change: OwnershipChange) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private recompute(): void {
    for (const d of this.tracked) {
      const owned = this.owns(d)
      if (this.known.get(d.name) !== owned) {
        this.known.set(d.name, owned)
        for (const listener of this.listeners) listener({ plugin: d.name, owned, owner: this.ownerOf(d) })
      }
      // The monolith is the one that keeps a plugin nobody else is ready for, so it raises the alarm.
      if (!d.ownershipFlag || !this.config.monolith) continue
      const noOwner = this.hasNoOwner(d.name)
      if (this.knownNoOwner.get(d.name) === noOwner) continue
      this.knownNoOwner.set(d.name, noOwner)
      for (const listener of this.noOwnerListeners) listener({ plugin: d.name, flag: d.ownershipFlag, noOwner })
    }
  }

  /** The flag says dedicated, and a dedicated process is ready to take it (always, without live owners). */
  private dedicated(plugin: string, flag: FlagName): boolean {
    return this.flags.isEnabled(flag) && (this.owners === null || this.owners.hasReadyDedicated(plugin))
  }

  /** The flag says dedicated but no dedicated process is ready for the plugin. */
  hasNoOwner(plugin: string): boolean {
    if (!isDedicatedPlugin(plugin) || this.owners === null) return false
    const flag = ownershipFlag(plugin)
    return this.flags.isEnabled(flag) && !this.owners.hasReadyDedicated(plugin)
  }

  /** Who owns the plugin across the deployment right now. */
  ownerOf(descriptor: PluginDescriptor): Owner {
    return descriptor.ownershipFlag && this.dedicated(descriptor.name, descriptor.ownershipFlag) ? 'dedicated' : 'all'
  }

  /** Who owns a plugin, by name, whether or not this process loads it. */
  ownerOfPlugin(plugin: string): Owner {
    return isDedicatedPlugin(plugin) && this.dedicated(plugin, ownershipFlag(plugin)) ? 'dedicated' : 'all'
  }

  /** Whether this process loads and owns the plugin. */
  ownsPlugin(plugin: string): boolean {
    const descriptor = this.tracked.find((d) => d.name === plugin)
    return descriptor !== undefined && this.owns(descriptor)
  }

  /** Whether this process owns the plugin: a map lookup, cheap enough for every request. */
  owns(descriptor: PluginDescriptor): boolean {
    if (!descriptor.ownershipFlag) return true
    if (this.config.monolith) return !this.dedicated(descriptor.name, descriptor.ownershipFlag)
    return this.config.roles.includes(descriptor.name as never) && this.flags.isEnabled(descriptor.ownershipFlag) && (this.owners?.isSelfReady() ?? true)
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
