// Registers the slash commands with Discord: in one server (instant) with a guild id, else globally
// (Discord takes up to an hour to show global changes). A PUT replaces the whole set.
import { REST, Routes, type APIApplication, type APIApplicationCommand } from 'discord.js'
import { SLASH_COMMANDS } from './commands.js'

export interface RegistrationInput {
  token: string
  apiUrl: string
  /** Read from the token's application when absent. */
  applicationId?: string
  guildId?: string
}

export interface Registration {
  applicationId: string
  scope: { guildId: string } | 'global'
  commands: APIApplicationCommand[]
}

export async function registerCommands(input: RegistrationInput): Promise<Registration> {
  const rest = new REST({ api: input.apiUrl }).setToken(input.token)
  const applicationId = input.applicationId ?? ((await rest.get(Routes.currentApplication())) as APIApplication).id
  const route = input.guildId ? Routes.applicationGuildCommands(applicationId, input.guildId) : Routes.applicationCommands(applicationId)
  const commands = (await rest.put(route, { body: SLASH_COMMANDS })) as APIApplicationCommand[]
  return { applicationId, scope: input.guildId ? { guildId: input.guildId } : 'global', commands }
}
