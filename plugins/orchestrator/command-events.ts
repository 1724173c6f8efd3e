// What the command queue announces: every transition as `command.updated`, the agent it changes as
// `agent.updated`, and the agent-error alert raised or resolved by how a command ended. The events
// were stored with the transition (outbox.ts): published here at once, by the relay if not.
import type { Logger } from 'pino'
import type { AlertService } from './alert-service.js'
import { AGENT_EVENT, COMMAND_EVENT } from './command-dal.js'
import type { Claimed } from './command-types.js'
import type { Outbox, OutboxEvent } from './outbox.js'
import type { Agent, Command } from './types.js'

const commandEvent = (command: Command): OutboxEvent => ({ ...COMMAND_EVENT, data: command })
const agentEvent = (agent: Agent): OutboxEvent => ({ ...AGENT_EVENT, data: agent })

export class CommandEvents {
  constructor(
    private readonly outbox: Outbox,
    private readonly alerts: AlertService,
    private readonly log?: Logger
  ) {}

  /**
   * A command just stored. Stored is accepted: the reply does not wait for the announcement (it goes
   * out in this tick's bus batch), nor does any transition's. Should one fail, the relay publishes
   * it, and the workers' backstop poll still finds the command.
   */
  queued(command: Command, outbox: readonly number[]): void {
    this.outbox.publish([commandEvent(command)], outbox)
  }

  /** Commands claimed and their agents, now busy: published in one tick, so in one bus batch, in this order. */
  claimed(claimed: readonly Claimed[]): void {
    this.outbox.publish(claimed.flatMap((c) => [commandEvent(c.command), agentEvent(c.agent)]), claimed.flatMap((c) => c.outbox))
  }

  /**
   * A finished command, its agent (freed, or busy with `next`) and the next command, in one bus
   * batch; then the agent-error alert, raised or resolved by the agent's change.
   */
  async finished(command: Command, agent: Agent | null, wasError: boolean, outbox: readonly number[], next?: Command): Promise<void> {
    const events = [commandEvent(command)]
    if (agent) events.push(agentEvent(agent))
    if (next) events.push(commandEvent(next))
    this.outbox.publish(events, outbox)
    if (!agent) return
    await this.alerts.transition(wasError, agent.status === 'error', {
      key: `agent.error:${agent.id}`,
      kind: 'agent',
      severity: 'high',
      message: `Agent ${agent.name} is in error: ${agent.statusReason ?? ''}`.trim(),
      data: { agentId: agent.id, slug: agent.slug, commandId: command.id }
    }).catch((err: unknown) => {
      // The outcome and its events are stored whatever happens here; only the alert is missed.
      this.log?.warn({ err, agentId: agent.id }, 'could not raise or resolve the agent-error alert')
    })
  }

  /** A command queued again after its worker was lost, and its agent, freed. */
  requeued(command: Command, agent: Agent | null, outbox: readonly number[]): void {
    this.outbox.publish(agent ? [commandEvent(command), agentEvent(agent)] : [commandEvent(command)], outbox)
  }
}
