// Slash-command interactions: the INTERACTION_CREATE payloads the fake sends (chat input and
// autocomplete), and the routes the bot answers them on (callback, original reply, follow-ups), with
// Discord's rules: one callback per interaction, within the acknowledgement deadline.
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  InteractionResponseType,
  InteractionType,
  Locale,
  MessageFlags,
  MessageType,
  type APIApplicationCommandInteractionDataOption,
  type APIApplicationCommandOption,
  type APIInteraction,
  type APIInteractionDataResolved,
  type APIMessage,
  type APIUser
} from 'discord.js'
import type { CommandRegistry } from './commands.js'
import { discordErrors } from './errors.js'
import { findChannel, findMember, memberPermissions, type FakeGuild } from './guild.js'
import type { NextId } from './ids.js'
import type { MessageStore, UploadedFile } from './messages.js'
import { noContent, ok, type Route } from './rest.js'

type OptionValue = string | number | boolean

export interface InteractionInput {
  /** The command's name: `status`, `agent`. */
  command: string
  /** The subcommand, for commands like `/voice join`. */
  subcommand?: string
  /**
   * Option values by name, typed from the registered command when there is one (else strings,
   * integers, numbers and booleans by their JavaScript type); or the raw options for other types.
   */
  options?: Record<string, OptionValue> | APIApplicationCommandInteractionDataOption[]
  /** Users, members, roles or channels that raw options refer to. */
  resolved?: APIInteractionDataResolved
  /** Who runs it (default: the guild's operator). */
  user?: APIUser
  /** The member's roles instead of those the user has in the guild (a user without the role). */
  roles?: string[]
  /** Where it runs (default: the guild's text channel). */
  channelId?: string
}

export interface AutocompleteInput extends InteractionInput {
  /** The option being typed; its value is what has been typed so far. */
  focused: string
}

/** An interaction the fake sent, and what the bot has answered to it so far. */
export interface InteractionState {
  id: string
  token: string
  type: InteractionType.ApplicationCommand | InteractionType.ApplicationCommandAutocomplete
  user: APIUser
  channelId: string
  sentAt: number
  /** The callback type the bot answered with; null until it answered. */
  response: InteractionResponseType | null
  originalId: string | null
  followUpIds: string[]
}

export interface InteractionDeps {
  nextId: NextId
  guild: FakeGuild
  botUser: APIUser
  applicationId: string
  messages: MessageStore
  commands: CommandRegistry
  /** Discord forgets an interaction that was not answered within 3 s. */
  ackDeadlineMs: number
}

function inferType(value: OptionValue): ApplicationCommandOptionType {
  if (typeof value === 'boolean') return ApplicationCommandOptionType.Boolean
  if (typeof value === 'number') return Number.isInteger(value) ? ApplicationCommandOptionType.Integer : ApplicationCommandOptionType.Number
  return ApplicationCommandOptionType.String
}

function toOptions(
  values: Record<string, OptionValue>,
  declared: APIApplicationCommandOption[] | undefined,
  focused: string | undefined
): APIApplicationCommandInteractionDataOption[] {
  return Object.entries(values).map(([name, value]) => ({
    name,
    type: declared?.find((o) => o.name === name)?.type ?? inferType(value),
    value,
    ...(name === focused ? { focused: true } : {})
  }) as APIApplicationCommandInteractionDataOption)
}

export function createInteractions(deps: InteractionDeps) {
  const { nextId, guild, applicationId, messages } = deps
  const byId = new Map<string, InteractionState>()
  const byToken = new Map<string, InteractionState>()

  function build(input: InteractionInput, focused?: string): { payload: APIInteraction; state: InteractionState } {
    const user = input.user ?? guild.users.operator
    const member = findMember(guild, user.id)
    const roles = input.roles ?? member?.roles ?? []
    const channel = findChannel(guild, input.channelId ?? guild.channels.text.id)
    if (!channel) throw new Error(`fake-discord: no channel ${input.channelId} in the guild`)
    const command = deps.commands.find(input.command, guild.id)
    let declared = command?.options
    if (input.subcommand) declared = (declared?.find((o) => o.name === input.subcommand) as { options?: APIApplicationCommandOption[] } | undefined)?.options
    const given = input.options ?? {}
    let options = Array.isArray(given) ? given : toOptions(given, declared, focused)
    if (input.subcommand) options = [{ type: ApplicationCommandOptionType.Subcommand, name: input.subcommand, options } as APIApplicationCommandInteractionDataOption]
    const type = focused === undefined ? InteractionType.ApplicationCommand : InteractionType.ApplicationCommandAutocomplete
    const state: InteractionState = {
      id: nextId(), token: `interaction-token-${nextId()}`, type, user, channelId: channel.id, sentAt: Date.now(),
      response: null, originalId: null, followUpIds: []
    }
    const payload = {
      id: state.id,
      application_id: applicationId,
      type,
      token: state.token,
      version: 1,
      data: {
        id: command?.id ?? nextId(),
        name: input.command,
        type: ApplicationCommandType.ChatInput,
        guild_id: guild.id,
        options,
        ...(input.resolved ? { resolved: input.resolved } : {})
      },
      guild: { id: guild.id, features: [], locale: Locale.EnglishUS },
      guild_id: guild.id,
      guild_locale: Locale.EnglishUS,
      channel: { ...channel, guild_id: guild.id },
      channel_id: channel.id,
      member: {
        user, roles, nick: null, avatar: null, banner: null, deaf: false, mute: false, flags: 0, pending: false,
        joined_at: member?.joined_at ?? new Date().toISOString(),
        permissions: memberPermissions(guild, roles)
      },
      app_permissions: memberPermissions(guild, [guild.roles.bot.id]),
      locale: Locale.EnglishUS,
      entitlements: [],
      authorizing_integration_owners: { 0: guild.id },
      context: 0,
      attachment_size_limit: 10 * 1024 * 1024
    } as unknown as APIInteraction
    byId.set(state.id, state)
    byToken.set(state.token, state)
    return { payload, state }
  }

  function webhookInteraction(app: string, token: string): InteractionState {
    const state = byToken.get(token)
    if (app !== applicationId || !state || state.response === null) throw discordErrors.unknownWebhook()
    return state
  }

  function webhookMessageId(state: InteractionState, message: string): string {
    const id = message === '@original' ? state.originalId : message
    if (!id || ![state.originalId, ...state.followUpIds].includes(id) || !messages.get(id)) throw discordErrors.unknownMessage()
    return id
  }

  function replyMessage(state: InteractionState, data: any, files: UploadedFile[], loading: boolean): APIMessage {
    return messages.create({
      channelId: state.channelId,
      author: deps.botUser,
      type: MessageType.ChatInputCommand,
      body: { ...data, flags: (data?.flags ?? 0) | (loading ? MessageFlags.Loading : 0) },
      files,
      loading,
      interaction: { id: state.id, type: state.type, user: state.user, applicationId }
    })
  }

  const accepted: Record<InteractionState['type'], Set<number>> = {
    [InteractionType.ApplicationCommand]: new Set([
      InteractionResponseType.ChannelMessageWithSource,
      InteractionResponseType.DeferredChannelMessageWithSource,
      InteractionResponseType.Modal
    ]),
    [InteractionType.ApplicationCommandAutocomplete]: new Set([InteractionResponseType.ApplicationCommandAutocompleteResult])
  }

  const routes: Route[] = [
    {
      method: 'POST', path: '/interactions/:id/:token/callback', auth: false,
      handle({ params, query, body, files }) {
        const state = byId.get(params.id)
        if (!state || state.token !== params.token) throw discordErrors.unknownInteraction()
        if (state.response !== null) throw discordErrors.alreadyAcknowledged()
        if (Date.now() - state.sentAt > deps.ackDeadlineMs) throw discordErrors.unknownInteraction()
        if (!accepted[state.type].has(body?.type)) {
          throw discordErrors.invalidForm([{ path: ['type'], code: 'INTERACTION_RESPONSE_TYPE_INVALID', message: 'Interaction response type is invalid for this interaction' }])
        }
        if (body.type === InteractionResponseType.ApplicationCommandAutocompleteResult && (body.data?.choices?.length ?? 0) > 25) {
          throw discordErrors.invalidForm([{ path: ['data', 'choices'], code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer in length.' }])
        }
        const creates = body.type === InteractionResponseType.ChannelMessageWithSource || body.type === InteractionResponseType.DeferredChannelMessageWithSource
        const message = creates ? replyMessage(state, body.data, files, body.type === InteractionResponseType.DeferredChannelMessageWithSource) : undefined
        state.response = body.type
        state.originalId = message?.id ?? null
        if (query.get('with_response') !== 'true') return noContent()
        return ok({
          interaction: {
            id: state.id, type: state.type, response_message_id: message?.id,
            response_message_loading: Boolean((message?.flags ?? 0) & MessageFlags.Loading),
            response_message_ephemeral: Boolean((message?.flags ?? 0) & MessageFlags.Ephemeral)
          },
          resource: { type: body.type, ...(message ? { message } : {}) }
        })
      }
    },
    {
      method: 'GET', path: '/webhooks/:app/:token/messages/:message', auth: false,
      handle({ params }) {
        const state = webhookInteraction(params.app, params.token)
        return ok(messages.get(webhookMessageId(state, params.message)))
      }
    },
    {
      method: 'PATCH', path: '/webhooks/:app/:token/messages/:message', auth: false,
      handle({ params, body, files }) {
        const state = webhookInteraction(params.app, params.token)
        return ok(messages.edit(webhookMessageId(state, params.message), body ?? {}, files))
      }
    },
    {
      method: 'DELETE', path: '/webhooks/:app/:token/messages/:message', auth: false,
      handle({ params }) {
        const state = webhookInteraction(params.app, params.token)
        messages.remove(webhookMessageId(state, params.message))
        return noContent()
      }
    },
    {
      method: 'POST', path: '/webhooks/:app/:token', auth: false,
      handle({ params, query, body, files }) {
        const state = webhookInteraction(params.app, params.token)
        const message = messages.create({
          channelId: state.channelId, author: deps.botUser, type: MessageType.ChatInputCommand, body: body ?? {}, files,
          interaction: { id: state.id, type: state.type, user: state.user, applicationId }
        })
        state.followUpIds.push(message.id)
        return query.get('wait') === 'true' ? ok(message) : noContent()
      }
    }
  ]

  return {
    /** A chat-input command interaction, registered so the bot's answers to it are accepted. */
    command: (input: InteractionInput) => build(input),
    /** An autocomplete interaction for the focused option. */
    autocomplete: (input: AutocompleteInput) => build(input, input.focused),
    routes
  }
}
