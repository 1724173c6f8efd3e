// The Google provider through the API, the real @google-cloud clients talking to the local fake:
// round trips, the kill switch, retries and timeouts, the breaker failing over to local and closing
// again, and INVALID_ARGUMENT as the caller's error.
import { status } from '@grpc/grpc-js'
import t from 'tap'
import type { BusEvent } from '../../core/bus/types.js'
import { probe, toOggOpus48k } from '../helpers/audio.js'
import { startFakeGoogle } from '../helpers/fake-google/index.js'
import { waitFor } from '../helpers/wait.js'
import { synthesize, transcribe, voiceApp } from './voice-app.js'

const PHRASE = 'helix kael status'
const fake = await startFakeGoogle()
t.teardown(() => fake.close())

const { app, flags } = await voiceApp(t, {
  GOOGLE_SPEECH_ENDPOINT: fake.endpoint,
  GOOGLE_TTS_ENDPOINT: fake.endpoint,
  HELIX_VOICE_TTS_TIMEOUT_MS: '3000',
  HELIX_VOICE_RETRIES: '2',
  HELIX_VOICE_BREAKER_THRESHOLD: '3',
  HELIX_VOICE_BREAKER_RESET_MS: '3000'
})
const events: BusEvent[] = []
await app.helix.kernel.bus.subscribe('voice', (event) => void events.push(event))

/** The value of one metric series (0 when absent). */
async function counter(series: string): Promise<number> {
  const line = (await app.helix.kernel.metrics.metrics()).split('\n').find((l) => l.startsWith(`${series} `))
  return line ? Number(line.slice(series.length + 1)) : 0
}

const calls = (method: string) => fake.calls.filter((c) => c.method === method)
let text = 0
/** A text never synthesized before, so the cache does not answer. */
const fresh = () => `${PHRASE} ${++text}`

t.test('Google round trip: synthesized speech is heard back, from WAV and from Ogg/Opus 48 kHz stereo', async (t) => {
  const wav = await synthesize(app, { text: PHRASE, encoding: 'LINEAR16' })
  t.equal(wav.statusCode, 200)
  t.equal(wav.headers['x-voice-provider'], 'google')
  t.match(calls('SynthesizeSpeech').at(-1)!.request, { input: { text: PHRASE }, audioConfig: { audioEncoding: 'LINEAR16' } })

  const heard = await transcribe(app, wav.rawPayload, 'audio/wav')
  t.match(heard.json(), { transcript: PHRASE, provider: 'google' })
  const recognize = calls('Recognize').at(-1)!.request
  t.match(recognize.config, { encoding: 'LINEAR16', sampleRateHertz: 16_000, languageCode: 'en-US' }, 'decoded once to 16 kHz PCM')
  t.ok(recognize.config.speechContexts[0].phrases.includes('kael'), 'biased toward the roster')

  const opus = await synthesize(app, { text: PHRASE, encoding: 'OGG_OPUS' })
  t.equal(opus.headers['content-type'], 'audio/ogg')
  t.match(await probe(opus.rawPayload), { codec: 'opus', sampleRate: 48_000 })
  const stereo = await toOggOpus48k(wav.rawPayload, { stereo: true })
  t.match((await transcribe(app, stereo, 'audio/ogg')).json(), { transcript: PHRASE, provider: 'google' })

  const pcm = (await probe(wav.rawPayload)) && wav.rawPayload.subarray(44)
  const be = Buffer.alloc(pcm.length)
  for (let i = 0; i + 1 < pcm.length; i += 2) be.writeInt16BE(pcm.readInt16LE(i), i)
  t.match((await transcribe(app, be, 'audio/l16;rate=24000')).json(), { transcript: PHRASE }, 'raw L16 with its rate')
})

t.test('silence: 200, an empty transcript, the provider named', async (t) => {
  const silence = Buffer.alloc(32_000)
  const res = await transcribe(app, silence, 'audio/l16;rate=16000')
  t.equal(res.statusCode, 200)
  t.match(res.json(), { transcript: '', provider: 'google', durationMs: 1000 })
})

t.test("an agent speaks with its profile's voice; an unknown voice is 422 and an unknown agent 404", async (t) => {
  const res = await synthesize(app, { text: fresh(), agent: 'lumina', encoding: 'MP3' })
  t.equal(res.statusCode, 200)
  t.match(calls('SynthesizeSpeech').at(-1)!.request.voice, { languageCode: 'en-US' }, "Lumina's language (the fake lacks Neural2 voices)")
  const named = await synthesize(app, { text: fresh(), voice: 'en-GB-Standard-A' })
  t.equal(named.statusCode, 200)
  t.equal(calls('SynthesizeSpeech').at(-1)!.request.voice.name, 'en-GB-Standard-A')
  const unknown = await synthesize(app, { text: fresh(), voice: 'xx-XX-Nothing' })
  t.equal(unknown.statusCode, 422)
  t.equal(unknown.json().error, 'unprocessable')
  const nobody = await synthesize(app, { text: fresh(), agent: 'nobody' })
  t.equal(nobody.statusCode, 404)
  t.equal(nobody.json().error, 'not_found')
})

t.test('transient failures are retried; INVALID_ARGUMENT is not, and is the caller\'s 422', async (t) => {
  const before = calls('SynthesizeSpeech').length
  fake.script('SynthesizeSpeech', { code: status.UNAVAILABLE, times: 1 })
  const retried = await synthesize(app, { text: fresh() })
  t.equal(retried.headers['x-voice-provider'], 'google', 'the second attempt answered')
  t.equal(calls('SynthesizeSpeech').length - before, 2)

  fake.script('SynthesizeSpeech', { code: status.INVALID_ARGUMENT, times: 1, message: 'bad request' })
  const refused = await synthesize(app, { text: fresh() })
  t.equal(refused.statusCode, 422)
  t.match(refused.json(), { error: 'unprocessable', provider: 'google', code: 'INVALID_ARGUMENT' })
  t.equal(calls('SynthesizeSpeech').length - before, 3, 'one attempt, no retry, no failover')
  fake.script('SynthesizeSpeech', 'ok')
})

t.test('a hanging call ends at the timeout and the retry answers', async (t) => {
  const before = calls('SynthesizeSpeech').length
  fake.script('SynthesizeSpeech', (n) => (n === before + 1 ? 'hang' : 'ok'))
  const started = Date.now()
  const res = await synthesize(app, { text: fresh() })
  t.equal(res.statusCode, 200)
  t.equal(res.headers['x-voice-provider'], 'google')
  t.equal(calls('SynthesizeSpeech').length - before, 2, 'the hung attempt and the retry')
  t.ok(Date.now() - started >= 2900, 'after the 3 s deadline')
  t.equal(await counter(`helix_voice_provider_errors_total{provider="google",operation="synthesize",code="TIMEOUT",role="all"}`), 1, 'counted as a timeout')
  fake.script('SynthesizeSpeech', 'ok')
})

t.test('failover: Google failing opens the breaker, local serves, voice.degraded; recovery closes it', async (t) => {
  const unavailable = `helix_voice_provider_errors_total{provider="google",operation="synthesize",code="UNAVAILABLE",role="all"}`
  const failedBefore = await counter(unavailable)
  fake.script('SynthesizeSpeech', { code: status.UNAVAILABLE })
  const failing = await synthesize(app, { text: fresh(), encoding: 'LINEAR16' })
  t.equal(failing.statusCode, 200, 'the user sees no error')
  t.equal(failing.headers['x-voice-provider'], 'local', 'local served after the retries failed')
  const degraded = await waitFor(() => events.find((e) => e.type === 'voice.degraded'), 'voice.degraded')
  t.match(degraded.data, { provider: 'google', fallback: 'local', code: 'UNAVAILABLE' })
  const metrics = await app.helix.kernel.metrics.metrics()
  t.match(metrics, /helix_voice_breaker_state\{provider="google",role="all"\} 2/)
  t.equal(await counter(unavailable) - failedBefore, 3, 'three attempts: the first and two retries')

  const attempts = calls('SynthesizeSpeech').length
  const whileOpen = await synthesize(app, { text: fresh() })
  t.equal(whileOpen.headers['x-voice-provider'], 'local')
  t.equal(calls('SynthesizeSpeech').length, attempts, 'an open breaker sends nothing to Google')

  fake.script('SynthesizeSpeech', 'ok')
  await waitFor(async () => (await synthesize(app, { text: fresh() })).headers['x-voice-provider'] === 'google', 'Google to serve again')
  const recovered = await waitFor(() => events.find((e) => e.type === 'voice.recovered'), 'voice.recovered')
  t.match(recovered.data, { provider: 'google' })
  t.match(await app.helix.kernel.metrics.metrics(), /helix_voice_breaker_state\{provider="google",role="all"\} 0/)
})

t.test('the kill switch: helix.voice.google off switches to local at once, on switches back', async (t) => {
  flags.flip('helix.voice.google', false)
  const before = fake.calls.length
  const res = await synthesize(app, { text: fresh() })
  t.equal(res.headers['x-voice-provider'], 'local')
  const voices = await app.inject({ url: '/api/voice/voices', headers: { authorization: `Bearer ${app.auth.sign({ sub: 'x', scopes: ['voice'], ttlSeconds: 60 })}` } })
  t.equal(voices.json().provider, 'local')
  t.equal(fake.calls.length, before, 'Google was not called')
  flags.flip('helix.voice.google', true)
  t.equal((await synthesize(app, { text: fresh() })).headers['x-voice-provider'], 'google')
})

t.test('events: voice.synthesized and voice.transcribed on the voice channel', async (t) => {
  t.ok(events.some((e) => e.type === 'voice.synthesized' && (e.data as { provider: string }).provider === 'google'))
  t.ok(events.some((e) => e.type === 'voice.transcribed'))
})
