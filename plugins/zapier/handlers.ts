// What each inbound event type does to the rest of Helix (DESIGN section 11), through the kernel's
// clients on behalf of `zapier:<source>`. Handlers are idempotent per event id (the pipeline is
// at-least-once): commands carry an Idempotency-Key made from it, a status change is a set.
import type { Static } from 'typebox'
import type { Bus } from '../../core/bus/types.js'
import { BOT_POST_REQUESTED, BOT_POSTS_CHANNEL, type BotPostRequest } from '../../core/contracts/bot.js'
import type { ServiceClients } from '../../core/clients/index.js'
import { HelixError } from '../../core/errors.js'
import type { InboundEvent } from './event-store.js'
import type { DATA_SCHEMAS } from './schemas.js'

/** A failure that another run cannot fix (the input is wrong): the event ends `failed` at once. */
export class PermanentFailure extends Error {
  override name = 'PermanentFailure'
}

/** A call's error: a 4xx answer (but 429) will be the same on every run; anything else may pass later. */
export function isPermanent(err: unknown): boolean {
  if (err instanceof PermanentFailure) return true
  return err instanceof HelixError && err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 429
}

type Data<K extends keyof typeof DATA_SCHEMAS> = Static<(typeof DATA_SCHEMAS)[K]>
export type Handler = (event: InboundEvent) => Promise<unknown>

/** The internal bus channel and type of a Discord post the bot fulfils. */

/** DESIGN section 11: an emergency boost lifts harmony and prana and eases klesha. */
const EMERGENCY_BOOST = { harmony: 0.15, prana: 0.1, klesha: -0.05 }

export function createHandlers(deps: { clients: ServiceClients; bus: Bus }): Record<string, Handler> {
  const { clients, bus } = deps
  const subject = (event: InboundEvent) => `zapier:${event.source}`

  /** Adds the deltas through the orchestrator, once per event: a replay of the event adds nothing. */
  async function adjust(event: InboundEvent, deltas: Record<string, number>): Promise<unknown> {
    const state = await clients.orchestrator.for(subject(event)).adjustUcf(deltas, { reason: `zapier ${event.type}`, idempotencyKey: `zapier:${event.id}` })
    return { deltas, ucf: state.metrics, phase: state.phase }
  }

  return {
    async ucf_update(event) {
      return adjust(event, event.data as Data<'ucf_update'>)
    },

    async emergency_boost(event) {
      return adjust(event, EMERGENCY_BOOST)
    },

    async agent_activation(event) {
      const { agent, status = 'active' } = event.data as Data<'agent_activation'>
      const updated = await clients.transport.json<{ id: string; slug: string; status: string }>('orchestrator', {
        method: 'PATCH',
        path: `/api/agents/${encodeURIComponent(agent)}`,
        body: { status, statusReason: `zapier:${event.source} event ${event.id}` },
        scopes: ['agents:write'],
        onBehalfOf: subject(event)
      })
      return { agent: updated.slug, status: updated.status }
    },

    async ritual_trigger(event) {
      const { name, steps } = event.data as Data<'ritual_trigger'>
      const ritual = await clients.orchestrator.for(subject(event)).startRitual({ name, steps })
      return { ritualId: ritual.id }
    },

    async discord_notification(event) {
      const { message, channelId } = event.data as Data<'discord_notification'>
      const request: BotPostRequest = { message, source: subject(event), ...(channelId ? { channelId } : {}) }
      await bus.publishInternal(BOT_POSTS_CHANNEL, BOT_POST_REQUESTED, request)
      return { requested: true, channel: BOT_POSTS_CHANNEL }
    }
  }
}

/** Any other type: the stored row is the whole effect. */
export const storeGeneric: Handler = async () => ({ stored: true })
