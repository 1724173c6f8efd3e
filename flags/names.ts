// Every flag Helix reads, with its code default and what it means. Unknown flags are off.
import { DEDICATED_PLUGINS, type DedicatedPluginName } from '../config/roles.js'

export const FLAGS = {
  'helix.stream.dedicated': { default: false, description: 'The dedicated stream service owns WebSocket streaming (off: the monolith does).' },
  'helix.orchestrator.dedicated': { default: false, description: 'The dedicated orchestrator service owns agents, commands, UCF and rituals.' },
  'helix.voice.dedicated': { default: false, description: 'The dedicated voice service owns speech-to-text and text-to-speech.' },
  'helix.zapier.dedicated': { default: false, description: 'The dedicated Zapier service owns inbound webhooks and outbound deliveries.' },
  'helix.bot.dedicated': { default: false, description: 'The dedicated bot service holds the Discord gateway session.' },
  'helix.voice.google': { default: false, description: 'Use Google Cloud speech (off: the local espeak-ng and pocketsphinx provider).' },
  'helix.zapier.outbound': { default: false, description: 'Deliver outbound Zapier REST Hooks (off: hold deliveries in the queue).' },
  'helix.bot.voice': { default: false, description: 'Discord voice channel features (off: text commands only).' }
} as const satisfies Record<string, { default: boolean; description: string }>

export type FlagName = keyof typeof FLAGS

export function isFlagName(name: string): name is FlagName {
  return Object.hasOwn(FLAGS, name)
}

export function ownershipFlag(plugin: DedicatedPluginName): FlagName {
  return `helix.${plugin}.dedicated`
}

export const OWNERSHIP_FLAGS = DEDICATED_PLUGINS.map(ownershipFlag)
