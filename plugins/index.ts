// The plugin manifest: every plugin Helix ships, in load order. Explicit and typed; HELIX_ROLE picks
// from it (core/plugin.ts pluginsForRoles).
import type { PluginDescriptor } from '../core/plugin.js'
import { botPlugin } from './bot/index.js'
import dashboardPlugin from './dashboard/index.js'
import { orchestratorPlugin } from './orchestrator/index.js'
import { streamPlugin } from './stream/index.js'
import { voicePlugin } from './voice/index.js'
import { zapierPlugin } from './zapier/index.js'

export const manifest: readonly PluginDescriptor[] = [streamPlugin, orchestratorPlugin, voicePlugin, zapierPlugin, dashboardPlugin, botPlugin]
