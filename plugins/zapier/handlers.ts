// What each inbound event type does to the rest of Helix (DESIGN section 11), through the kernel's
// clients on behalf of `zapier:<source>`. Handlers are idempotent per event id (the pipeline is
// at-least-once): commands carry an Idempotency-Key made from it, a status change is a set.
import type { Static } from 'typebox'
import type { Bus } from '../../core/bus/types.js'
import { BOT_POST_REQUESTED, BOT_POSTS_CHANNEL, type BotPostRequest } from '../../core/contracts/bot.js'
import { isTerminal } from '../../core/contracts/orchestrator.js'
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

/** The orchestrator's largest HARMONY_PULSE; its API has no other way to move the UCF by a delta. */
const MAX_PULSE = 0.2
const COMMAND_WAIT_MS = 30_000

export function createHandlers(deps: { clients: ServiceClients; bus: Bus }): Record<string, Handler> {
  const { clients, bus } = deps
  const subject = (event: InboundEvent) => `zapier:${event.source}`

  /** Kael's HARMONY_PULSE (harmony +amount, prana +amount/2), once per event, waited for to its end. */
  async function pulse(event: InboundEvent, amount: number): Promise<unknown> {
    const onBehalfOf = subject(event)
    const orchestrator = clients.orchestrator.for(onBehalfOf)
    const accepted = await orchestrator.sendCommand('kael', { command: 'HARMONY_PULSE', args: { amount } }, { idempotencyKey: `zapier:${event.id}` })
    const command = await clients.orchestrator.waitForFinal(accepted, { timeoutMs: COMMAND_WAIT_MS, onBehalfOf })
    if (!isTerminal(command.status)) throw new Error(`command ${command.id} has not finished yet`)
    if (command.status !== 'succeeded') throw new PermanentFailure(`command ${command.id} ${command.status}: ${command.error ?? ''}`.trim())
    return { commandId: command.id, result: command.result }
  }

  return {
    async ucf_update(event) {
      const delta = event.data as Data<'ucf_update'>
      const others = Object.keys(delta).filter((k) => k !== 'harmony')
      const harmony = delta.harmony ?? 0
      if (others.length > 0 || harmony <= 0 || harmony > MAX_PULSE) {
        throw new PermanentFailure(`the orchestrator's API moves the UCF only by a harmony pulse: ucf_update takes {"harmony": >0 and <=${MAX_PULSE}}${others.length ? `, not ${others.join(', ')}` : ''}`)
      }
      return pulse(event, harmony)
    },

    async emergency_boost(event) {
      return pulse(event, 0.15)
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
