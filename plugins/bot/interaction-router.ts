// Routes each interaction from the gateway: autocomplete answers, then for slash commands the access
// check, an immediate deferral (Discord's 3 s deadline), the handler, and a friendly ephemeral reply
// for anything that failed, so no member ever sees "This interaction failed".
import { MessageFlags, type AutocompleteInteraction, type ChatInputCommandInteraction, type Interaction } from 'discord.js'
import type { Logger } from 'pino'
import type { FlagSource } from '../../flags/source.js'
import { refusal, type AccessRoles } from './access.js'
import type { ChoiceSource } from './autocomplete.js'
import { friendlyMessage } from './friendly-errors.js'
import type { BotMetrics } from './metrics.js'
import type { SlashHandler } from './slash-handlers.js'

/** Commands whose replies only the caller sees. */
const PRIVATE_COMMANDS: ReadonlySet<string> = new Set(['flags', 'voice'])
const VOICE_COMMANDS: ReadonlySet<string> = new Set(['speak', 'voice'])
const SERVICE_OF: Record<string, string> = { speak: 'voice', voice: 'voice', flags: 'Helix' }

export interface RouterDeps {
  handlers: Record<string, SlashHandler>
  choices: ChoiceSource
  access: AccessRoles
  flags: FlagSource
  log: Logger
  metrics?: BotMetrics
}

/** The subject every call is made on behalf of, so commands and rituals record who asked. */
export const actorOf = (interaction: Interaction) => `discord:${interaction.user.id}`

export class InteractionRouter {
  private readonly inFlight = new Set<Promise<void>>()

  constructor(private readonly deps: RouterDeps) {}

  readonly handle = async (interaction: Interaction): Promise<void> => {
    const work = interaction.isAutocomplete() ? this.autocomplete(interaction) : interaction.isChatInputCommand() ? this.command(interaction) : null
    if (!work) return
    this.inFlight.add(work)
    try {
      await work
    } finally {
      this.inFlight.delete(work)
    }
  }

  /**
   * Waits for the interactions being handled, at most `timeoutMs`: a /command following its outcome
   * may take minutes, and the session must log out within the hand-over; what is left loses its edits.
   */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))
    await Promise.race([Promise.allSettled([...this.inFlight]), timeout])
    clearTimeout(timer)
  }

  private async command(interaction: ChatInputCommandInteraction): Promise<void> {
    const { log, metrics } = this.deps
    const name = interaction.commandName
    const handler = this.deps.handlers[name]
    const label = Object.hasOwn(this.deps.handlers, name) ? name : 'unknown'
    const refused = !handler
      ? `/${name} is not a command this bot knows (re-register the commands with helix bot:register).`
      : VOICE_COMMANDS.has(name) && !this.deps.flags.isEnabled('helix.bot.voice')
        ? 'Voice features are off on this Helix (flag helix.bot.voice).'
        : refusal(interaction, this.deps.access)
    try {
      if (refused) {
        await interaction.reply({ content: refused, flags: MessageFlags.Ephemeral })
        metrics?.interaction(label, 'refused')
        return
      }
      await interaction.deferReply(PRIVATE_COMMANDS.has(name) ? { flags: MessageFlags.Ephemeral } : {})
    } catch (err) {
      metrics?.interaction(label, 'late')
      log.warn({ err: (err as Error).message, command: name }, 'could not answer an interaction in time')
      return
    }
    try {
      await handler(interaction, actorOf(interaction))
      metrics?.interaction(label, 'ok')
    } catch (err) {
      metrics?.interaction(label, 'failed')
      log.info({ err: (err as Error).message, command: name, user: interaction.user.id }, 'slash command failed')
      await this.fail(interaction, friendlyMessage(err, SERVICE_OF[name] ?? 'orchestrator'), PRIVATE_COMMANDS.has(name))
    }
  }

  /** The deferred public reply is replaced by a message only the caller sees. */
  private async fail(interaction: ChatInputCommandInteraction, message: string, ephemeral: boolean): Promise<void> {
    try {
      if (ephemeral) await interaction.editReply({ content: message, embeds: [] })
      else {
        await interaction.deleteReply().catch(() => undefined)
        await interaction.followUp({ content: message, flags: MessageFlags.Ephemeral })
      }
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'could not tell the member that a command failed')
    }
  }

  private async autocomplete(interaction: AutocompleteInteraction): Promise<void> {
    const focused = interaction.options.getFocused(true)
    const actor = actorOf(interaction)
    const { choices } = this.deps
    try {
      const options = focused.name === 'command'
        ? await choices.commandChoices(focused.value, interaction.options.getString('agent'), actor)
        : interaction.commandName === 'ritual'
          ? choices.ritualChoices(focused.value)
          : await choices.agentChoices(focused.value, actor)
      await interaction.respond(options)
    } catch (err) {
      this.deps.log.debug({ err: (err as Error).message }, 'autocomplete failed')
      await interaction.respond([]).catch(() => undefined)
    }
  }
}
