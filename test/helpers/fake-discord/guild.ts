// The one guild the fake serves: channels (text, alerts, voice), roles (operator, admin), the bot and
// three test users as members, and who sits in the voice channel; plus the shapes Discord sends it in.
import {
  ChannelType,
  Locale,
  PermissionFlagsBits,
  type APIChannel,
  type APIGuild,
  type APIGuildMember,
  type APIRole,
  type APIUser,
  type GatewayGuildCreateDispatchData,
  type GatewayVoiceState,
  type GuildMemberFlags,
  type GuildSystemChannelFlags,
  type RoleFlags
} from 'discord.js'
import type { NextId } from './ids.js'

/** Text and voice channels as the gateway sends them (without `guild_id`) and REST returns them. */
type GuildChannel = Extract<APIChannel, { type: ChannelType.GuildText | ChannelType.GuildVoice }>

export interface FakeGuild {
  id: string
  name: string
  channels: { text: GuildChannel; alerts: GuildChannel; voice: GuildChannel }
  roles: { everyone: APIRole; bot: APIRole; operator: APIRole; admin: APIRole }
  /** `operator` has the operator role and sits in the voice channel, `admin` has both roles, `visitor` none. */
  users: { operator: APIUser; admin: APIUser; visitor: APIUser }
  members: APIGuildMember[]
  voiceStates: GatewayVoiceState[]
}

const member = PermissionFlagsBits.ViewChannel | PermissionFlagsBits.SendMessages | PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.Connect | PermissionFlagsBits.Speak | PermissionFlagsBits.UseApplicationCommands
const bot = member | PermissionFlagsBits.EmbedLinks | PermissionFlagsBits.AttachFiles

export function user(id: string, username: string, isBot = false): APIUser {
  return { id, username, discriminator: '0', global_name: isBot ? null : username, avatar: null, bot: isBot }
}

function role(id: string, name: string, position: number, permissions: bigint, extra: Partial<APIRole> = {}): APIRole {
  return {
    id, name, position, permissions: permissions.toString(), color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false, icon: null, unicode_emoji: null, managed: false, mentionable: false, flags: 0 as RoleFlags, ...extra
  }
}

function guildMember(u: APIUser, roles: string[], joinedAt: string): APIGuildMember {
  return { user: u, roles, nick: null, avatar: null, banner: null, joined_at: joinedAt, deaf: false, mute: false, flags: 0 as GuildMemberFlags, pending: false }
}

function textChannel(id: string, name: string, position: number): GuildChannel {
  return {
    id, name, position, type: ChannelType.GuildText, permission_overwrites: [], parent_id: null, topic: null,
    nsfw: false, last_message_id: null, rate_limit_per_user: 0
  }
}

export function createGuild(nextId: NextId, botUser: APIUser): FakeGuild {
  const id = nextId()
  const joinedAt = new Date().toISOString()
  const users = { operator: user(nextId(), 'ada'), admin: user(nextId(), 'grace'), visitor: user(nextId(), 'linus') }
  const roles = {
    everyone: role(id, '@everyone', 0, member),
    bot: role(nextId(), botUser.username, 1, bot, { managed: true, tags: { bot_id: botUser.id } }),
    operator: role(nextId(), 'Operator', 2, member),
    admin: role(nextId(), 'Admin', 3, PermissionFlagsBits.Administrator)
  }
  const voice: GuildChannel = {
    id: nextId(), name: 'Voice', position: 2, type: ChannelType.GuildVoice, permission_overwrites: [], parent_id: null,
    nsfw: false, bitrate: 64_000, user_limit: 0, rtc_region: null, rate_limit_per_user: 0, last_message_id: null
  }
  return {
    id,
    name: 'Helix Test',
    channels: { text: textChannel(nextId(), 'general', 0), alerts: textChannel(nextId(), 'alerts', 1), voice },
    roles,
    users,
    members: [
      guildMember(botUser, [roles.bot.id], joinedAt),
      guildMember(users.operator, [roles.operator.id], joinedAt),
      guildMember(users.admin, [roles.operator.id, roles.admin.id], joinedAt),
      guildMember(users.visitor, [], joinedAt)
    ],
    voiceStates: [{
      channel_id: voice.id, user_id: users.operator.id, session_id: nextId(), deaf: false, mute: false,
      self_deaf: false, self_mute: false, self_video: false, suppress: false, request_to_speak_timestamp: null
    }]
  }
}

export function guildChannels(guild: FakeGuild): GuildChannel[] {
  return Object.values(guild.channels)
}

export function findChannel(guild: FakeGuild, channelId: string): GuildChannel | undefined {
  return guildChannels(guild).find((c) => c.id === channelId)
}

export function findMember(guild: FakeGuild, userId: string): APIGuildMember | undefined {
  return guild.members.find((m) => m.user.id === userId)
}

/** The member's permissions in the guild, as the `permissions` string of an interaction's member. */
export function memberPermissions(guild: FakeGuild, roleIds: string[]): string {
  const roles = Object.values(guild.roles).filter((r) => r.id === guild.id || roleIds.includes(r.id))
  const bits = roles.reduce((all, r) => all | BigInt(r.permissions), 0n)
  // Discord answers every permission set for administrators.
  return ((bits & PermissionFlagsBits.Administrator) ? (1n << 53n) - 1n : bits).toString()
}

/** The guild as `GET /guilds/:id` answers it. */
export function guildObject(guild: FakeGuild, ownerId: string): APIGuild {
  return {
    id: guild.id, name: guild.name, icon: null, splash: null, discovery_splash: null, owner_id: ownerId,
    afk_channel_id: null, afk_timeout: 300, verification_level: 0, default_message_notifications: 0,
    explicit_content_filter: 0, roles: Object.values(guild.roles), emojis: [], features: [], mfa_level: 0,
    application_id: null, system_channel_id: guild.channels.text.id, system_channel_flags: 0 as GuildSystemChannelFlags, rules_channel_id: null,
    vanity_url_code: null, description: null, banner: null, premium_tier: 0, preferred_locale: Locale.EnglishUS,
    public_updates_channel_id: null, nsfw_level: 0, premium_progress_bar_enabled: false,
    safety_alerts_channel_id: null, hub_type: null, incidents_data: null, stickers: [], region: 'us-east',
    max_members: 500_000, max_video_channel_users: 25, max_stage_video_channel_users: 50
  }
}

/** The `GUILD_CREATE` dispatch that follows READY for the guild. */
export function guildCreate(guild: FakeGuild, ownerId: string): GatewayGuildCreateDispatchData {
  return {
    ...guildObject(guild, ownerId),
    joined_at: guild.members[0].joined_at ?? new Date().toISOString(),
    large: false,
    unavailable: false,
    member_count: guild.members.length,
    voice_states: guild.voiceStates,
    members: guild.members,
    channels: guildChannels(guild),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: []
  }
}
