// Registered application commands (global and per guild), kept from bulk overwrites and checked
// against Discord's rules, so `bot:register` fails here for the reasons it would fail in production.
import { ApplicationCommandOptionType, ApplicationCommandType, type APIApplicationCommand, type APIApplicationCommandOption } from 'discord.js'
import { discordErrors, type FormIssue } from './errors.js'
import type { NextId } from './ids.js'

/** Discord's pattern for chat-input command and option names. */
const NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u

/** A command or option as the bot sends it: loosely typed until checked. */
type Input = Record<string, any>

const nesting = new Set<number>([ApplicationCommandOptionType.Subcommand, ApplicationCommandOptionType.SubcommandGroup])

function nameIssues(value: unknown, path: FormIssue['path'], chatInput: boolean): FormIssue[] {
  const ok = typeof value === 'string' && (chatInput ? NAME.test(value) && value === value.toLowerCase() : value.length >= 1 && value.length <= 32)
  return ok ? [] : [{ path, code: 'APPLICATION_COMMAND_INVALID_NAME', message: 'Command name is invalid' }]
}

function descriptionIssues(value: unknown, path: FormIssue['path']): FormIssue[] {
  const ok = typeof value === 'string' && value.length >= 1 && value.length <= 100
  return ok ? [] : [{ path, code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' }]
}

function optionIssues(options: unknown, path: FormIssue['path']): FormIssue[] {
  if (options === undefined || options === null) return []
  if (!Array.isArray(options)) return [{ path, code: 'BASE_TYPE_ARRAY', message: 'Must be an array.' }]
  const issues: FormIssue[] = []
  if (options.length > 25) issues.push({ path, code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' })
  const names = new Set<string>()
  let optionalSeen = false
  options.forEach((option: Input, i) => {
    const at = [...path, i]
    issues.push(...nameIssues(option.name, [...at, 'name'], true), ...descriptionIssues(option.description, [...at, 'description']))
    if (names.has(option.name)) issues.push({ path: [...at, 'name'], code: 'APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME', message: 'Option names must be unique' })
    names.add(option.name)
    if (nesting.has(option.type)) {
      issues.push(...optionIssues(option.options, [...at, 'options']))
      return
    }
    if (option.required && optionalSeen) {
      issues.push({ path: [...at, 'required'], code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', message: 'Required options must be placed before non-required options' })
    }
    if (!option.required) optionalSeen = true
    const choices: Input[] = option.choices ?? []
    if (choices.length > 25) issues.push({ path: [...at, 'choices'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' })
    if (choices.length > 0 && option.autocomplete) {
      issues.push({ path: [...at, 'autocomplete'], code: 'AUTOCOMPLETE_CHOICES_CONFLICT', message: 'Autocomplete cannot be set with choices' })
    }
    choices.forEach((choice, j) => {
      if (typeof choice.name !== 'string' || choice.name.length < 1 || choice.name.length > 100) {
        issues.push({ path: [...at, 'choices', j, 'name'], code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' })
      }
    })
  })
  return issues
}

function commandIssues(commands: Input[]): FormIssue[] {
  const issues: FormIssue[] = []
  const seen = new Set<string>()
  commands.forEach((command, i) => {
    const type = command.type ?? ApplicationCommandType.ChatInput
    const chatInput = type === ApplicationCommandType.ChatInput
    issues.push(...nameIssues(command.name, [i, 'name'], chatInput))
    if (chatInput) issues.push(...descriptionIssues(command.description, [i, 'description']), ...optionIssues(command.options, [i, 'options']))
    const key = `${type}:${command.name}`
    if (seen.has(key)) issues.push({ path: [i, 'name'], code: 'APPLICATION_COMMANDS_DUPLICATE_NAME', message: 'Application command names must be unique' })
    seen.add(key)
  })
  return issues
}

export function createCommandRegistry(nextId: NextId, applicationId: string) {
  /** Commands by scope: `global`, or a guild id. */
  const scopes = new Map<string, APIApplicationCommand[]>()

  return {
    list(guildId?: string): APIApplicationCommand[] {
      return scopes.get(guildId ?? 'global') ?? []
    },

    /** A bulk overwrite (`PUT .../commands`): the new set replaces the old; a kept name keeps its id. */
    overwrite(body: unknown, guildId?: string): APIApplicationCommand[] {
      if (!Array.isArray(body)) throw discordErrors.invalidForm([{ path: [], code: 'BASE_TYPE_ARRAY', message: 'Must be an array.' }])
      const issues = commandIssues(body)
      if (issues.length > 0) throw discordErrors.invalidForm(issues)
      const before = scopes.get(guildId ?? 'global') ?? []
      const commands = (body as Input[]).map((input) => {
        const type = input.type ?? ApplicationCommandType.ChatInput
        const kept = before.find((c) => c.name === input.name && c.type === type)
        return {
          ...input,
          id: kept?.id ?? nextId(),
          application_id: applicationId,
          type,
          description: input.description ?? '',
          options: input.options as APIApplicationCommandOption[] | undefined,
          default_member_permissions: input.default_member_permissions ?? null,
          nsfw: input.nsfw ?? false,
          version: nextId(),
          ...(guildId ? { guild_id: guildId } : {})
        } as APIApplicationCommand
      })
      scopes.set(guildId ?? 'global', commands)
      return commands
    },

    /** The command an interaction in the guild invokes: the guild's own first, as Discord resolves it. */
    find(name: string, guildId: string): APIApplicationCommand | undefined {
      const byName = (c: APIApplicationCommand) => c.name === name && c.type === ApplicationCommandType.ChatInput
      return scopes.get(guildId)?.find(byName) ?? scopes.get('global')?.find(byName)
    }
  }
}

export type CommandRegistry = ReturnType<typeof createCommandRegistry>
