// The providers on their own: streaming recognition (the bot's path, audio arriving in chunks) on
// Google through the real client and locally, and the concurrency limit answering 429 + Retry-After.
import { Readable } from 'node:stream'
import t from 'tap'
import { speak, toPcm } from '../helpers/audio.js'
import { startFakeGoogle } from '../helpers/fake-google/index.js'
import { GoogleProvider } from '../../plugins/voice/google-provider.js'
import { LocalProvider } from '../../plugins/voice/local-provider.js'
import { DEFAULT_TOOL_LIMITS } from '../../plugins/voice/tools.js'
import { synthesize, voiceApp } from './voice-app.js'

const PHRASE = 'helix kael status'
const phrases = {
  wakeWords: ['helix', 'manus', 'collective'],
  agents: ['kael', 'lumina', 'vega'],
  commands: ['status', 'sync', 'harmony pulse']
}
const pcm = await toPcm(await speak(PHRASE), 16_000)
/** 100 ms chunks, as a voice connection delivers them. */
const chunks = () => Readable.from(Array.from({ length: Math.ceil(pcm.length / 3200) }, (_, i) => pcm.subarray(i * 3200, (i + 1) * 3200)))

t.test('streaming recognition on Google: config first, then the chunks; the phrase back', async (t) => {
  const fake = await startFakeGoogle()
  t.teardown(() => fake.close())
  const google = new GoogleProvider({ speechEndpoint: fake.endpoint, ttsEndpoint: fake.endpoint }, { ttsMs: 5000, sttMs: 10_000 })
  t.teardown(() => google.close())
  const heard = await google.streamingTranscribe(chunks(), { languageCode: 'en-US', phrases })
  t.equal(heard.transcript, PHRASE)
  t.ok(heard.confidence > 0)
  const call = fake.calls.find((c) => c.method === 'StreamingRecognize')!
  t.match(call.request.streamingConfig.config, { encoding: 'LINEAR16', sampleRateHertz: 16_000 })
  t.ok(Buffer.concat(call.audioChunks).equals(pcm), 'every chunk arrived')
})

t.test('streaming recognition locally hears the same phrase within the grammar', async (t) => {
  const local = new LocalProvider(DEFAULT_TOOL_LIMITS)
  t.equal((await local.streamingTranscribe(chunks(), { languageCode: 'en-US', phrases })).transcript, PHRASE)
  const changed = { ...phrases, agents: ['lumina'] }
  t.not((await local.transcribe({ pcm16k: pcm, languageCode: 'en-US', phrases: changed })).transcript, PHRASE, 'a grammar without kael cannot hear kael')
})

t.test('past the concurrency limit and its queue: 429 with Retry-After, never a 500', async (t) => {
  const { app } = await voiceApp(t, { VOICE_PROVIDER: 'local', HELIX_VOICE_CONCURRENCY: '1', HELIX_VOICE_QUEUE: '1', LOG_LEVEL: 'silent' })
  const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => synthesize(app, { text: `the limit ${i}`, encoding: 'MP3' })))
  const refused = answers.filter((a) => a.statusCode === 429)
  t.ok(refused.length >= 1, `${refused.length} of 6 refused`)
  t.equal(answers.filter((a) => a.statusCode === 200).length + refused.length, 6, 'the others were served')
  t.equal(refused[0]!.headers['retry-after'], '1')
  t.equal(refused[0]!.json().error, 'too_many_requests')
})
