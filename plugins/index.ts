// The plugin manifest: every plugin Helix ships, in load order. Explicit and typed; HELIX_ROLE picks
// from it (core/plugin.ts pluginsForRoles).
import type { PluginDescriptor } from '../core/plugin.js'

export const manifest: readonly PluginDescriptor[] = []
