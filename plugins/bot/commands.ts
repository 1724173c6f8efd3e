// The slash commands the bot registers (DESIGN section 12), as Discord's JSON: used by the gateway
// worker's router and by `helix bot:register`.
import { SlashCommandBuilder, type RESTPostAPIChatInputApplicationCommandsJSONBody } from 'discord.js'
import { RITUAL_NAMES } from '../../core/contracts/orchestrator.js'

const rituals = RITUAL_NAMES.map((name) => ({ name, value: name }))

export const SLASH_COMMANDS: RESTPostAPIChatInputApplicationCommandsJSONBody[] = [
  new SlashCommandBuilder().setName('status').setDescription('The collective\'s UCF: metrics, phase, consciousness level, agents active'),
  new SlashCommandBuilder().setName('agents').setDescription('The agent roster with each agent\'s status'),
  new SlashCommandBuilder().setName('agent').setDescription('An agent\'s profile')
    .addStringOption((o) => o.setName('name').setDescription('Agent').setRequired(true).setAutocomplete(true)),
  new SlashCommandBuilder().setName('command').setDescription('Send a command to an agent and see its result (operators)')
    .addStringOption((o) => o.setName('agent').setDescription('Agent').setRequired(true).setAutocomplete(true))
    .addStringOption((o) => o.setName('command').setDescription('Command, e.g. STATUS').setRequired(true).setAutocomplete(true))
    .addStringOption((o) => o.setName('args').setDescription('Arguments as a JSON object, e.g. {"prompt":"hello"}').setMaxLength(2000)),
  new SlashCommandBuilder().setName('ritual').setDescription('Run a ritual on the UCF and watch its progress (operators)')
    .addStringOption((o) => o.setName('name').setDescription('Ritual').setRequired(true).addChoices(...rituals))
    .addIntegerOption((o) => o.setName('steps').setDescription('Steps of z88 (1 to 1000); the other rituals are one step').setMinValue(1).setMaxValue(1000)),
  new SlashCommandBuilder().setName('speak').setDescription('Say something in your voice channel with an agent\'s voice (operators)')
    .addStringOption((o) => o.setName('text').setDescription('What to say').setRequired(true).setMaxLength(1000))
    .addStringOption((o) => o.setName('agent').setDescription('Whose voice').setAutocomplete(true)),
  new SlashCommandBuilder().setName('voice').setDescription('Listen for "helix <agent> <command>" in your voice channel (operators)')
    .addSubcommand((s) => s.setName('join').setDescription('Join your voice channel and listen'))
    .addSubcommand((s) => s.setName('leave').setDescription('Leave the voice channel')),
  new SlashCommandBuilder().setName('flags').setDescription('Flags: effective value and source, plugin owners (admins)')
].map((builder) => builder.toJSON())

/** Commands that need the operator role, and the one that needs the admin role. */
export const OPERATOR_COMMANDS: ReadonlySet<string> = new Set(['command', 'ritual', 'speak', 'voice'])
export const ADMIN_COMMANDS: ReadonlySet<string> = new Set(['flags'])
