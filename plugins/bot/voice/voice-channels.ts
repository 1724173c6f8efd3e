// Voice in Discord (flag `helix.bot.voice`): /speak synthesizes with the agent's voice and plays it in
// the caller's voice channel; /voice join listens there, each speaker's utterance decoded and sent to
// the voice plugin's command recognition, the outcome posted in the channel /voice join came from.
import { EndBehaviorType, getVoiceConnection, joinVoiceChannel, type VoiceConnection } from '@discordjs/voice'
import type { APIEmbed, ChatInputCommandInteraction, Client } from 'discord.js'
import type { Logger } from 'pino'
import type { VoiceClient, VoiceCommandResult } from '../../../core/clients/index.js'
import { COLORS, clip } from '../embeds.js'
import { BotInputError } from '../friendly-errors.js'
import type { SlashHandler } from '../slash-handlers.js'
import type { GuildPlayers } from './guild-players.js'
import { utteranceWav } from './utterance.js'

export interface VoiceChannelDeps {
  voice: VoiceClient
  players: GuildPlayers
  log: Logger
  /** Posts an embed to a text channel (the ChannelPoster). */
  post(channelId: string, embed: APIEmbed): void
  /** Silence that ends an utterance. */
  silenceMs?: number
}

/** Longest utterance kept: 15 s of 20 ms packets. */
const MAX_PACKETS = 750

interface Listening {
  connection: VoiceConnection
  textChannelId: string
  stop(): void
}

type HeardResult = VoiceCommandResult & { heard?: { wakeWord: string; agent: string; command: string } | null }

export class VoiceChannels {
  private client: Client | null = null
  private readonly listening = new Map<string, Listening>()

  constructor(private readonly deps: VoiceChannelDeps) {}

  /** The logged-in client, or null at logout: every connection and player is torn down then. */
  setClient(client: Client | null): void {
    if (!client) this.leaveAll()
    this.client = client
  }

  handlers(): Record<string, SlashHandler> {
    return {
      speak: async (interaction, actor) => {
        const { guildId, channelId } = this.callerVoice(interaction)
        const agent = interaction.options.getString('agent') ?? undefined
        const audio = await this.deps.voice.for(actor).synthesize({ text: interaction.options.getString('text', true), agent, encoding: 'OGG_OPUS' })
        const playing = this.deps.players.play(guildId, audio.bytes, this.connect(guildId, channelId))
        await interaction.editReply({ content: `🔊 Speaking${agent ? ` as ${agent}` : ''} in <#${channelId}>…` })
        await playing
        await interaction.editReply({ content: `🔊 Spoke${agent ? ` as ${agent}` : ''} in <#${channelId}>.` })
      },
      voice: async (interaction, actor) => {
        const sub = interaction.options.getSubcommand()
        if (sub === 'leave') {
          const left = interaction.guildId !== null && this.leave(interaction.guildId)
          await interaction.editReply({ content: left ? 'Left the voice channel.' : 'I was not in a voice channel.' })
          return
        }
        const { guildId, channelId } = this.callerVoice(interaction)
        this.listen(guildId, channelId, interaction.channelId, actor)
        await interaction.editReply({ content: `🎙️ Listening in <#${channelId}>: say "helix <agent> <command>". Results go to <#${interaction.channelId}>.` })
      }
    }
  }

  /**
   * One speaker's utterance: decoded, recognised by the voice plugin on behalf of the speaker, and the
   * outcome posted. Exposed for the receive path below the network layer (tests, benchmark).
   */
  async handleUtterance(userId: string, packets: readonly Buffer[], textChannelId: string): Promise<HeardResult | null> {
    if (packets.length === 0) return null
    try {
      const result = await this.deps.voice.for(`discord:${userId}`).command({ bytes: utteranceWav(packets), contentType: 'audio/wav' }) as HeardResult
      this.deps.post(textChannelId, heardEmbed(userId, result))
      return result
    } catch (err) {
      this.deps.log.info({ err: (err as Error).message, userId }, 'a voice command was not recognised')
      return null
    }
  }

  leave(guildId: string): boolean {
    const listening = this.listening.get(guildId)
    listening?.stop()
    this.listening.delete(guildId)
    this.deps.players.destroy(guildId)
    const connection = getVoiceConnection(guildId)
    connection?.destroy()
    return Boolean(listening || connection)
  }

  leaveAll(): void {
    for (const guildId of [...this.listening.keys()]) this.leave(guildId)
    this.deps.players.destroyAll()
  }

  private callerVoice(interaction: ChatInputCommandInteraction): { guildId: string; channelId: string } {
    const channelId = interaction.inCachedGuild() ? interaction.member.voice.channelId : null
    if (!interaction.guildId || !channelId) throw new BotInputError('Join a voice channel first, then run the command again.')
    return { guildId: interaction.guildId, channelId }
  }

  private connect(guildId: string, channelId: string): VoiceConnection {
    const existing = getVoiceConnection(guildId)
    if (existing && existing.joinConfig.channelId === channelId) return existing
    const guild = this.client?.guilds.cache.get(guildId)
    if (!guild) throw new BotInputError('The bot is not in this server.')
    return joinVoiceChannel({ guildId, channelId, adapterCreator: guild.voiceAdapterCreator, selfDeaf: false })
  }

  private listen(guildId: string, channelId: string, textChannelId: string, actor: string): void {
    this.listening.get(guildId)?.stop()
    const connection = this.connect(guildId, channelId)
    const receiver = connection.receiver
    const botId = this.client?.user?.id
    const onStart = (userId: string) => {
      if (userId === botId) return
      const stream = receiver.subscribe(userId, { end: { behavior: EndBehaviorType.AfterSilence, duration: this.deps.silenceMs ?? 1000 } })
      const packets: Buffer[] = []
      stream.on('data', (packet: Buffer) => {
        if (packets.length < MAX_PACKETS) packets.push(packet)
      })
      stream.once('end', () => void this.handleUtterance(userId, packets, textChannelId))
    }
    receiver.speaking.on('start', onStart)
    this.deps.log.info({ guildId, channelId, by: actor }, 'listening in a voice channel')
    this.listening.set(guildId, { connection, textChannelId, stop: () => receiver.speaking.off('start', onStart) })
  }
}

function heardEmbed(userId: string, result: HeardResult): APIEmbed {
  const said = `<@${userId}>: “${clip(result.transcript || '…', 300)}”`
  if (!result.command) return { description: `🎙️ ${said}\nNo command heard (say "helix <agent> <command>").`, color: COLORS.warn }
  const to = result.heard?.agent ?? 'the agent'
  return { description: `🎙️ ${said}\n→ ${result.command.command} sent to ${to} (${result.command.status})`, color: COLORS.ok, footer: { text: `command ${result.command.id}` } }
}
