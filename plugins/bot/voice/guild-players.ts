// One audio player and queue per guild: Ogg/Opus from the voice plugin is demuxed by
// @discordjs/voice itself (StreamType.OggOpus: no ffmpeg, no re-encoding) and played in order; each
// play resolves when the player is Idle again. Teardown stops the player and leaves no listener.
import { Readable } from 'node:stream'
import {
  AudioPlayerStatus,
  createAudioPlayer,
  createAudioResource,
  NoSubscriberBehavior,
  StreamType,
  type AudioPlayer,
  type AudioPlayerState,
  type PlayerSubscription,
  type VoiceConnection
} from '@discordjs/voice'

interface Track {
  audio: Buffer
  done(err?: Error): void
}

interface GuildPlayer {
  player: AudioPlayer
  queue: Track[]
  current: Track | null
  subscription: PlayerSubscription | null
  onState(old: AudioPlayerState, next: AudioPlayerState): void
  onError(err: Error): void
}

export class GuildPlayers {
  private readonly players = new Map<string, GuildPlayer>()

  /**
   * Queues Ogg/Opus audio for the guild; resolves once it has been played (the player back to Idle).
   * Without a connection the player plays to no one (tests, benchmarks): the same timing, no network.
   */
  play(guildId: string, audio: Buffer, connection?: VoiceConnection): Promise<void> {
    const entry = this.players.get(guildId) ?? this.create(guildId)
    if (connection && !entry.subscription) entry.subscription = connection.subscribe(entry.player) ?? null
    return new Promise<void>((resolve, reject) => {
      entry.queue.push({ audio, done: (err) => (err ? reject(err) : resolve()) })
      if (!entry.current) this.next(entry)
    })
  }

  /** Tracks waiting or playing in the guild. */
  pending(guildId: string): number {
    const entry = this.players.get(guildId)
    return entry ? entry.queue.length + (entry.current ? 1 : 0) : 0
  }

  /** Listeners on the guild's player (a leak check for tests and the benchmark). */
  listenerCount(guildId: string): number {
    const player = this.players.get(guildId)?.player
    return player ? player.eventNames().reduce((n, e) => n + player.listenerCount(e), 0) : 0
  }

  /** Stops the guild's player; what was queued is rejected. */
  destroy(guildId: string): void {
    const entry = this.players.get(guildId)
    if (!entry) return
    this.players.delete(guildId)
    const stopped = new Error('playback stopped')
    for (const track of entry.queue.splice(0)) track.done(stopped)
    entry.current?.done(stopped)
    entry.current = null
    entry.subscription?.unsubscribe()
    entry.player.off('stateChange', entry.onState)
    entry.player.off('error', entry.onError)
    entry.player.stop(true)
  }

  destroyAll(): void {
    for (const guildId of [...this.players.keys()]) this.destroy(guildId)
  }

  private create(guildId: string): GuildPlayer {
    // Play with no listener too: the queue keeps moving (and resolves) while nobody is connected.
    const player = createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Play } })
    const entry: GuildPlayer = {
      player,
      queue: [],
      current: null,
      subscription: null,
      onState: (old, next) => {
        if (next.status === AudioPlayerStatus.Idle && old.status !== AudioPlayerStatus.Idle) {
          entry.current?.done()
          entry.current = null
          this.next(entry)
        }
      },
      onError: (err) => {
        entry.current?.done(err)
        entry.current = null
        this.next(entry)
      }
    }
    player.on('stateChange', entry.onState)
    player.on('error', entry.onError)
    this.players.set(guildId, entry)
    return entry
  }

  private next(entry: GuildPlayer): void {
    const track = entry.queue.shift()
    if (!track) return
    entry.current = track
    entry.player.play(createAudioResource(Readable.from([track.audio]), { inputType: StreamType.OggOpus }))
  }
}
