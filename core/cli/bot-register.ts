// `helix bot:register`: registers the Discord bot's slash commands, in the server DISCORD_GUILD_ID
// names (at once) or globally (Discord shows global changes within an hour).
import { loadConfig } from '../../config/index.js'
import { manifest } from '../../plugins/index.js'
import { registerCommands } from '../../plugins/bot/registration.js'
import { parseOptions, UsageError, type Command } from './command.js'

const help = `Usage: helix bot:register [--guild <id> | --global]

Registers the bot's slash commands (/status, /agents, /agent, /command, /ritual, /speak, /voice,
/flags) with Discord, replacing the ones registered before, and prints what was registered.

Options:
  --guild <id>   register in this server (default: DISCORD_GUILD_ID); shows at once
  --global       register globally even when DISCORD_GUILD_ID is set; takes up to an hour
  -h, --help     show this help

Reads DISCORD_TOKEN (required), DISCORD_APPLICATION_ID (default: the token's application),
DISCORD_GUILD_ID and DISCORD_API_URL from the environment.
`

export const botRegisterCommand: Command = {
  help,
  async run(args) {
    const options = parseOptions(args, { guild: { type: 'string' }, global: { type: 'boolean', default: false } })
    if (options.global && options.guild) throw new UsageError('--guild and --global exclude each other')
    const settings = loadConfig(process.env, manifest).settings.bot as {
      DISCORD_TOKEN?: string
      DISCORD_APPLICATION_ID?: string
      DISCORD_GUILD_ID?: string
      DISCORD_API_URL: string
    }
    if (!settings.DISCORD_TOKEN) throw new Error('DISCORD_TOKEN is not set: copy the bot token from the Developer Portal (Bot page) into it')
    const guildId = options.global ? undefined : (options.guild ?? settings.DISCORD_GUILD_ID)
    if (guildId !== undefined && !/^\d{15,20}$/.test(guildId)) throw new UsageError(`--guild must be a Discord id (15 to 20 digits), not "${guildId}"`)
    const registration = await registerCommands({ token: settings.DISCORD_TOKEN, apiUrl: settings.DISCORD_API_URL, applicationId: settings.DISCORD_APPLICATION_ID, guildId })
    const where = registration.scope === 'global' ? 'globally (visible within an hour)' : `in guild ${registration.scope.guildId}`
    process.stdout.write(`registered ${registration.commands.length} commands ${where} for application ${registration.applicationId}: ${registration.commands.map((c) => `/${c.name}`).join(' ')}\n`)
  }
}
