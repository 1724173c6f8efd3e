// Role and plugin names: HELIX_ROLE is a comma list of roles; `all` is the monolith.
export const ROLES = ['all', 'stream', 'orchestrator', 'voice', 'zapier', 'bot'] as const
export type Role = (typeof ROLES)[number]

/** Plugins that a dedicated service can own; each has a `helix.<plugin>.dedicated` flag. */
export const DEDICATED_PLUGINS = ['stream', 'orchestrator', 'voice', 'zapier', 'bot'] as const
export type DedicatedPluginName = (typeof DEDICATED_PLUGINS)[number]

export const PLUGIN_NAMES = [...DEDICATED_PLUGINS, 'dashboard'] as const
export type PluginName = (typeof PLUGIN_NAMES)[number]

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value)
}
