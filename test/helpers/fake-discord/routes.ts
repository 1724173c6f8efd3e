// The bot-token REST routes: gateway discovery, the bot's user and application, command registration,
// channel messages, and the guild's channels, roles, members and voice states.
import { ChannelType, MessageType, type APIApplication, type APIUser } from 'discord.js'
import type { CommandRegistry } from './commands.js'
import { discordErrors } from './errors.js'
import { findChannel, findMember, guildChannels, guildObject, type FakeGuild } from './guild.js'
import type { MessageStore } from './messages.js'
import { noContent, ok, type Route } from './rest.js'

export interface RouteDeps {
  guild: FakeGuild
  botUser: APIUser
  applicationId: string
  gatewayUrl: string
  messages: MessageStore
  commands: CommandRegistry
  /** Identifies so far: Discord counts them against the daily session start limit. */
  identifies(): number
}

const SESSION_START_LIMIT = 1000
const TEXT_TYPES = new Set<number>([ChannelType.GuildText, ChannelType.GuildAnnouncement, ChannelType.GuildVoice])

export function botRoutes(deps: RouteDeps): Route[] {
  const { guild, botUser, applicationId, messages, commands } = deps

  function channel(id: string) {
    const found = findChannel(guild, id)
    if (!found) throw discordErrors.unknownChannel()
    return { ...found, guild_id: guild.id }
  }

  function channelMessage(channelId: string, messageId: string) {
    channel(channelId)
    const message = messages.get(messageId)
    if (!message || message.channel_id !== channelId) throw discordErrors.unknownMessage()
    return message
  }

  function ownGuild(id: string): FakeGuild {
    if (id !== guild.id) throw discordErrors.unknownGuild()
    return guild
  }

  function ownApplication(id: string): void {
    if (id !== applicationId) throw discordErrors.missingAccess()
  }

  const application = {
    id: applicationId, name: botUser.username, icon: null, description: 'Helix (fake Discord)', bot_public: false,
    bot_require_code_grant: false, verify_key: '0'.repeat(64), flags: 0, bot: botUser, owner: botUser, team: null,
    summary: '', rpc_origins: []
  } as unknown as APIApplication

  return [
    {
      method: 'GET', path: '/gateway/bot', auth: true,
      handle: () => ok({
        url: deps.gatewayUrl,
        shards: 1,
        session_start_limit: { total: SESSION_START_LIMIT, remaining: SESSION_START_LIMIT - deps.identifies(), reset_after: 86_400_000, max_concurrency: 1 }
      })
    },
    { method: 'GET', path: '/users/@me', auth: true, handle: () => ok(botUser) },
    {
      method: 'GET', path: '/users/:user', auth: true,
      handle({ params }) {
        const member = findMember(guild, params.user)
        if (!member) throw discordErrors.unknownUser()
        return ok(member.user)
      }
    },
    { method: 'GET', path: '/applications/@me', auth: true, handle: () => ok(application) },
    {
      method: 'GET', path: '/applications/:app/commands', auth: true,
      handle({ params }) {
        ownApplication(params.app)
        return ok(commands.list())
      }
    },
    {
      method: 'PUT', path: '/applications/:app/commands', auth: true,
      handle({ params, body }) {
        ownApplication(params.app)
        return ok(commands.overwrite(body))
      }
    },
    {
      method: 'GET', path: '/applications/:app/guilds/:guild/commands', auth: true,
      handle({ params }) {
        ownApplication(params.app)
        return ok(commands.list(ownGuild(params.guild).id))
      }
    },
    {
      method: 'PUT', path: '/applications/:app/guilds/:guild/commands', auth: true,
      handle({ params, body }) {
        ownApplication(params.app)
        if (params.guild !== guild.id) throw discordErrors.missingAccess()
        return ok(commands.overwrite(body, params.guild))
      }
    },
    { method: 'GET', path: '/channels/:channel', auth: true, handle: ({ params }) => ok(channel(params.channel)) },
    {
      method: 'GET', path: '/channels/:channel/messages', auth: true,
      handle({ params, query }) {
        channel(params.channel)
        const limit = Math.min(Number(query.get('limit') ?? 50), 100)
        return ok(messages.inChannel(params.channel).reverse().slice(0, limit))
      }
    },
    {
      method: 'POST', path: '/channels/:channel/messages', auth: true,
      handle({ params, body, files }) {
        const target = channel(params.channel)
        if (!TEXT_TYPES.has(target.type)) throw discordErrors.nonTextChannel()
        return ok(messages.create({ channelId: target.id, author: botUser, type: MessageType.Default, body: body ?? {}, files }))
      }
    },
    {
      method: 'GET', path: '/channels/:channel/messages/:message', auth: true,
      handle: ({ params }) => ok(channelMessage(params.channel, params.message))
    },
    {
      method: 'PATCH', path: '/channels/:channel/messages/:message', auth: true,
      handle({ params, body, files }) {
        channelMessage(params.channel, params.message)
        return ok(messages.edit(params.message, body ?? {}, files))
      }
    },
    {
      method: 'DELETE', path: '/channels/:channel/messages/:message', auth: true,
      handle({ params }) {
        channelMessage(params.channel, params.message)
        messages.remove(params.message)
        return noContent()
      }
    },
    {
      method: 'POST', path: '/channels/:channel/typing', auth: true,
      handle({ params }) {
        channel(params.channel)
        return noContent()
      }
    },
    { method: 'GET', path: '/guilds/:guild', auth: true, handle: ({ params }) => ok(guildObject(ownGuild(params.guild), botUser.id)) },
    {
      method: 'GET', path: '/guilds/:guild/channels', auth: true,
      handle: ({ params }) => ok(guildChannels(ownGuild(params.guild)).map((c) => ({ ...c, guild_id: guild.id })))
    },
    { method: 'GET', path: '/guilds/:guild/roles', auth: true, handle: ({ params }) => ok(Object.values(ownGuild(params.guild).roles)) },
    { method: 'GET', path: '/guilds/:guild/members', auth: true, handle: ({ params }) => ok(ownGuild(params.guild).members) },
    {
      method: 'GET', path: '/guilds/:guild/members/:user', auth: true,
      handle({ params }) {
        const member = findMember(ownGuild(params.guild), params.user === '@me' ? botUser.id : params.user)
        if (!member) throw discordErrors.unknownMember()
        return ok(member)
      }
    },
    {
      method: 'GET', path: '/guilds/:guild/voice-states/:user', auth: true,
      handle({ params }) {
        const userId = params.user === '@me' ? botUser.id : params.user
        const state = ownGuild(params.guild).voiceStates.find((v) => v.user_id === userId)
        if (!state) throw discordErrors.unknownVoiceState()
        return ok({ ...state, guild_id: guild.id })
      }
    }
  ]
}
