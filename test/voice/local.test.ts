// The local provider end to end through the API: espeak-ng speech in each encoding, heard back by
// pocketsphinx, every agent with a voice of its own, and an Ogg/Opus 48 kHz stereo round trip.
import t from 'tap'
import { probe, toOggOpus48k } from '../helpers/audio.js'
import { synthesize, transcribe, voiceApp } from './voice-app.js'

const PHRASE = 'helix kael status'
const { app } = await voiceApp(t, { VOICE_PROVIDER: 'local' })

t.test('synthesis answers real audio in each encoding with its content type', async (t) => {
  const [ogg, mp3, wav] = await Promise.all(['OGG_OPUS', 'MP3', 'LINEAR16'].map((encoding) => synthesize(app, { text: PHRASE, encoding })))
  t.equal(ogg.statusCode, 200)
  t.equal(ogg.headers['content-type'], 'audio/ogg')
  t.equal(ogg.headers['x-voice-provider'], 'local')
  t.equal(mp3.headers['content-type'], 'audio/mpeg')
  t.equal(wav.headers['content-type'], 'audio/wav')
  const [oggInfo, mp3Info, wavInfo] = await Promise.all([probe(ogg.rawPayload), probe(mp3.rawPayload), probe(wav.rawPayload)])
  t.match(oggInfo, { codec: 'opus', sampleRate: 48_000 }, 'Ogg/Opus at 48 kHz')
  t.match(mp3Info, { codec: 'mp3' })
  t.match(wavInfo, { codec: 'pcm_s16le' })
  t.ok(wavInfo.durationMs > 700 && wavInfo.durationMs < 4000, `three spoken words (${wavInfo.durationMs} ms)`)

  const json = await synthesize(app, { text: PHRASE, encoding: 'MP3' }, { accept: 'application/json' })
  t.equal(json.statusCode, 200)
  t.match(json.json(), { contentType: 'audio/mpeg', encoding: 'MP3', provider: 'local', cached: true })
  t.ok(Buffer.from(json.json().audio, 'base64').equals(mp3.rawPayload), 'the same bytes in base64, from the cache')
})

t.test('round trip: synthesized speech is heard back, from WAV and from Ogg/Opus 48 kHz stereo', async (t) => {
  const wav = (await synthesize(app, { text: PHRASE, encoding: 'LINEAR16' })).rawPayload
  const heard = await transcribe(app, wav, 'audio/wav')
  t.equal(heard.statusCode, 200)
  t.match(heard.json(), { transcript: PHRASE, provider: 'local', languageCode: 'en-US' })
  t.ok(heard.json().durationMs > 700)

  const stereo = await toOggOpus48k(wav, { stereo: true })
  t.match(await probe(stereo), { codec: 'opus', sampleRate: 48_000, channels: 2 }, "Discord's format")
  const fromOgg = await transcribe(app, stereo, 'audio/ogg')
  t.match(fromOgg.json(), { transcript: PHRASE, provider: 'local' })
})

t.test('each of the 14 agents speaks with a voice of its own', async (t) => {
  const agents = ['kael', 'lumina', 'vega', 'gemini', 'agni', 'kavach', 'sanghacore', 'shadow', 'echo', 'phoenix', 'oracle', 'claude', 'manus', 'discordbridge']
  const audio = await Promise.all(agents.map((agent) => synthesize(app, { text: 'the collective is listening', agent, encoding: 'LINEAR16' })))
  for (const [i, res] of audio.entries()) t.equal(res.statusCode, 200, agents[i])
  const distinct = new Set(audio.map((res) => res.rawPayload.toString('base64')))
  t.equal(distinct.size, 14, 'fourteen different renderings of the same text')
})

t.test('voices lists the local voices', async (t) => {
  const res = await app.inject({ url: '/api/voice/voices', headers: { authorization: `Bearer ${app.auth.sign({ sub: 'x', scopes: ['voice'], ttlSeconds: 60 })}` } })
  t.equal(res.statusCode, 200)
  t.equal(res.json().provider, 'local')
  t.ok(res.json().items.some((v: { name: string }) => v.name === 'en-US-Local-A'))
})
