// What each slash command does, on behalf of `discord:<userId>`, through the kernel's clients. Each
// handler has already been deferred by the router; it edits the reply with the outcome.
import type { ChatInputCommandInteraction } from 'discord.js'
import type { ServiceClients } from '../../core/clients/index.js'
import { isTerminal, type RitualName } from '../../core/contracts/orchestrator.js'
import { agentEmbed, commandEmbed, flagsEmbed, ritualDoneEmbed, ritualProgressEmbed, rosterEmbed, statusEmbed } from './embeds.js'
import { BotInputError } from './friendly-errors.js'
import type { RitualWatcher } from './ritual-watcher.js'

export interface SlashDeps {
  clients: ServiceClients
  rituals: RitualWatcher
  /** How long /command and /ritual keep editing their reply (an interaction token lives 15 minutes). */
  followMs: number
  /** Shortest gap between two progress edits of one reply (Discord allows about 5 edits per 5 s). */
  progressEditMs: number
}

export type SlashHandler = (interaction: ChatInputCommandInteraction, actor: string) => Promise<void>

export function slashHandlers(deps: SlashDeps): Record<string, SlashHandler> {
  const { clients } = deps
  const orchestrator = (actor: string) => clients.orchestrator.for(actor)

  return {
    async status(interaction, actor) {
      const calls = orchestrator(actor)
      const [ucf, summary] = await Promise.all([calls.ucf(), calls.agentSummary()])
      await interaction.editReply({ embeds: [statusEmbed(ucf, summary)] })
    },

    async agents(interaction, actor) {
      const page = await orchestrator(actor).listAgents({ limit: 100 })
      await interaction.editReply({ embeds: [rosterEmbed(page.items)] })
    },

    async agent(interaction, actor) {
      const agent = await orchestrator(actor).getAgent(interaction.options.getString('name', true))
      await interaction.editReply({ embeds: [agentEmbed(agent)] })
    },

    async command(interaction, actor) {
      const agent = interaction.options.getString('agent', true)
      const name = interaction.options.getString('command', true).trim().toUpperCase()
      const args = parseArgs(interaction.options.getString('args'))
      // Discord may deliver an interaction twice; the interaction id makes the second one the same command.
      const queued = await orchestrator(actor).sendCommand(agent, { command: name, args }, { idempotencyKey: `discord:${interaction.id}` })
      await interaction.editReply({ embeds: [commandEmbed(queued, agent)] })
      const final = await clients.orchestrator.waitForFinal(queued, { timeoutMs: deps.followMs, onBehalfOf: actor })
      if (isTerminal(final.status) || final.status !== queued.status) await interaction.editReply({ embeds: [commandEmbed(final, agent)] })
    },

    async ritual(interaction, actor) {
      const name = interaction.options.getString('name', true) as RitualName
      const steps = interaction.options.getInteger('steps') ?? undefined
      await deps.rituals.ready()
      const calls = orchestrator(actor)
      const ritual = await calls.startRitual({ name, steps })
      await interaction.editReply({ embeds: [ritualProgressEmbed(ritual.name, 0, ritual.steps)] })
      let lastEdit = 0
      let editing: Promise<unknown> = Promise.resolve()
      const progress = ({ step, steps: total }: { step: number; steps: number }) => {
        const now = Date.now()
        if (now - lastEdit < deps.progressEditMs || step >= total) return
        lastEdit = now
        editing = interaction.editReply({ embeds: [ritualProgressEmbed(ritual.name, step, total)] }).catch(() => undefined)
      }
      const done = await deps.rituals.follow(ritual.id, () => calls.getRitual(ritual.id), progress, deps.followMs)
      await editing
      await interaction.editReply({ embeds: [ritualDoneEmbed(done ?? (await calls.getRitual(ritual.id)))] })
    },

    async flags(interaction, actor) {
      const flags = await clients.admin.for('bot', actor).flags()
      await interaction.editReply({ embeds: [flagsEmbed(flags)] })
    }
  }
}

function parseArgs(raw: string | null): Record<string, unknown> {
  if (raw === null || raw.trim() === '') return {}
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    throw new BotInputError('`args` must be a JSON object, e.g. {"prompt":"hello"}.')
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BotInputError('`args` must be a JSON object, e.g. {"prompt":"hello"}.')
  return parsed as Record<string, unknown>
}
