// Voice below the network layer (no voice gateway: UDP, encryption and DAVE are out of scope): the
// voice plugin's Ogg/Opus played by a guild's AudioPlayer to Idle, 200 play cycles without a leaked
// listener, and recorded Opus packets of "helix kael status" decoded into a STATUS command for Kael;
// plus /speak and /voice through the fake gateway, and the flag that turns voice off.
import t from 'tap'
import { GuildPlayers } from '../../plugins/bot/voice/guild-players.js'
import { VoiceChannels } from '../../plugins/bot/voice/voice-channels.js'
import { speak, toOggOpus48k, wavFile } from '../helpers/audio.js'
import { bearer } from '../helpers/build.js'
import { waitFor } from '../helpers/wait.js'
import { registerInFake, startBotApp } from './bot-app.js'

/** The Opus packets of an Ogg stream, in order, without the two header packets (OpusHead, OpusTags). */
function oggOpusPackets(ogg: Buffer): Buffer[] {
  const packets: Buffer[] = []
  let partial: Buffer[] = []
  for (let at = 0; at + 27 <= ogg.length;) {
    if (ogg.toString('ascii', at, at + 4) !== 'OggS') throw new Error(`not an Ogg page at ${at}`)
    const segments = ogg[at + 26]
    let body = at + 27 + segments
    for (let i = 0; i < segments; i++) {
      const size = ogg[at + 27 + i]
      partial.push(ogg.subarray(body, body + size))
      body += size
      if (size < 255) {
        packets.push(Buffer.concat(partial))
        partial = []
      }
    }
    at = body
  }
  return packets.filter((p) => !p.subarray(0, 8).toString('ascii').startsWith('Opus'))
}

const silentLog = { info() {}, warn() {}, debug() {}, error() {} } as never

t.test('Ogg/Opus from the voice plugin plays through a guild\'s AudioPlayer to Idle, in about its length', async (t) => {
  const { app } = await startBotApp(t, { voice: true, services: false })
  const audio = await app.helix.kernel.clients.voice.for('discord:1').synthesize({ text: 'Harmony is rising', agent: 'kael', encoding: 'OGG_OPUS' })
  t.equal(audio.contentType, 'audio/ogg')
  const lengthMs = oggOpusPackets(audio.bytes).length * 20
  const players = new GuildPlayers()
  t.teardown(() => players.destroyAll())
  const started = performance.now()
  await players.play('g1', audio.bytes)
  const took = performance.now() - started
  t.ok(lengthMs > 500, `${lengthMs} ms of audio`)
  t.ok(took >= lengthMs - 100 && took <= lengthMs + 300, `played to Idle in ${took.toFixed(0)} ms for ${lengthMs} ms of audio`)
  t.equal(players.pending('g1'), 0)
})

t.test('200 play cycles leak no listeners; a queue plays in order; destroy rejects what was queued', async (t) => {
  const blip = await toOggOpus48k(wavFile(Buffer.alloc(48_000 * 2 * 0.04), 48_000), { stereo: true })
  const players = new GuildPlayers()
  t.teardown(() => players.destroyAll())
  await players.play('g', blip)
  const listeners = players.listenerCount('g')
  for (let i = 0; i < 200; i++) await players.play('g', blip)
  t.equal(players.listenerCount('g'), listeners, `still ${listeners} listeners after 200 plays`)

  const order: number[] = []
  await Promise.all([1, 2, 3].map((n) => players.play('g', blip).then(() => order.push(n))))
  t.same(order, [1, 2, 3], 'one queue per guild, in order')

  const queued = [players.play('g', blip), players.play('g', blip)]
  players.destroy('g')
  for (const p of queued) await t.rejects(p, /playback stopped/)
  t.equal(players.listenerCount('g'), 0, 'nothing left after teardown')
})

t.test('recorded Opus packets of "helix kael status" become a STATUS command for Kael', async (t) => {
  const { app } = await startBotApp(t, { voice: true })
  const packets = oggOpusPackets(await toOggOpus48k(await speak('helix kael status'), { stereo: true }))
  const posted: { channelId: string; description?: string }[] = []
  const channels = new VoiceChannels({ voice: app.helix.kernel.clients.voice, players: new GuildPlayers(), log: silentLog, post: (channelId, embed) => posted.push({ channelId, description: embed.description }) })
  const result = await channels.handleUtterance('42', packets, '777')
  t.equal(result?.command?.command, 'STATUS')
  t.equal(result?.heard?.agent, 'kael')
  const stored = (await app.inject({ url: `/api/commands/${result!.command!.id}`, headers: bearer(app, ['agents:read']) })).json()
  const kael = (await app.inject({ url: '/api/agents/kael', headers: bearer(app, ['agents:read']) })).json()
  t.equal(stored.agentId, kael.id, 'for Kael')
  t.match(posted, [{ channelId: '777', description: /<@42>: “helix kael status”\n→ STATUS sent to kael/ }])
})

t.test('/speak plays in the caller\'s voice channel; /voice join and leave; the flag off refuses both', async (t) => {
  const { fake } = await startBotApp(t, { voice: true, services: false, env: { HELIX_FLAG_HELIX_BOT_VOICE: 'on' } })
  await waitFor(() => fake.openSessions().length === 1 || null, 'a session')
  await registerInFake(fake)
  const spoken = fake.sendInteraction({ command: 'speak', options: { text: 'Hello collective', agent: 'kael' } })
  t.equal((await spoken.response()).body.type, 5)
  const joined = await fake.waitForSession((s) => s.received.some((p) => p.op === 4 && (p.d as { channel_id?: string }).channel_id === fake.guild.channels.voice.id))
  t.ok(joined, 'joined the caller\'s voice channel (voice state update)')
  t.match((await spoken.edit((b) => /Spoke/.test(b.content), 20_000)).body.content, `🔊 Spoke as kael in <#${fake.guild.channels.voice.id}>.`)

  const join = fake.sendInteraction({ command: 'voice', subcommand: 'join' })
  t.match((await join.edit()).body.content, /^🎙️ Listening in/)
  const leave = fake.sendInteraction({ command: 'voice', subcommand: 'leave' })
  t.equal((await leave.edit()).body.content, 'Left the voice channel.')

  const elsewhere = fake.sendInteraction({ command: 'speak', options: { text: 'hi' }, user: fake.guild.users.admin })
  t.match((await elsewhere.followUp()).body.content, 'Join a voice channel first', 'a caller outside voice is told so')
})

t.test('with helix.bot.voice off, /speak and /voice answer that voice is off', async (t) => {
  const { fake } = await startBotApp(t, { orchestrator: false, services: false })
  await waitFor(() => fake.openSessions().length === 1 || null, 'a session')
  await registerInFake(fake)
  const sent = fake.sendInteraction({ command: 'speak', options: { text: 'hi' } })
  t.match((await sent.response()).body.data, { content: 'Voice features are off on this Helix (flag helix.bot.voice).', flags: 64 })
})
