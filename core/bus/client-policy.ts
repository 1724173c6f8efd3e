// What a client (a `stream:publish` token) may publish, enforced by the bus for every client-sourced
// event (DESIGN section 6): never a type Helix reserves for its own events, never on `system`.
import { BusRefusal } from './refusal.js'
import { baseOf } from './types.js'

/** Only Helix publishes types with these prefixes: consumers trust them as Helix's own events. */
export const RESERVED_TYPE_PREFIXES = ['ucf.', 'agent.', 'command.', 'ritual.', 'alert.', 'voice.', 'zapier.', 'bot.', 'system.', 'ownership.'] as const

/** Base channels only Helix publishes on (with their sub-channels). */
export const HELIX_ONLY_CHANNELS: readonly string[] = ['system']

const CLIENT_SOURCE_PREFIX = 'client:'

/** The `source` of an event a client published: set by the server, never by the client. */
export function clientSource(subject: string): string {
  return `${CLIENT_SOURCE_PREFIX}${subject}`
}

export function isClientSource(source: string): boolean {
  return source.startsWith(CLIENT_SOURCE_PREFIX)
}

/** Why a client may not publish `type` on `channel`, or null when it may. */
export function clientPublishRefusal(channel: string, type: string): string | null {
  const base = baseOf(channel) ?? channel
  if (HELIX_ONLY_CHANNELS.includes(base)) return `Clients may not publish on ${JSON.stringify(base)}: only Helix does`
  // Case-folded so `UCF.updated` cannot pass for a Helix event with a consumer that compares loosely.
  const folded = type.toLowerCase()
  const reserved = RESERVED_TYPE_PREFIXES.find((prefix) => folded.startsWith(prefix))
  return reserved ? `Event types starting with "${reserved}" are reserved for Helix` : null
}

/** Throws a `forbidden` BusRefusal for a client-sourced event that breaks the rules. */
export function checkClientPublish(channel: string, type: string, source: string): void {
  if (!isClientSource(source)) return
  const refusal = clientPublishRefusal(channel, type)
  if (refusal) throw new BusRefusal('forbidden', refusal)
}
