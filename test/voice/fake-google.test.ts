// The fake Google Speech and Text-to-Speech driven by the real @google-cloud clients: real audio both
// ways in every encoding, scripted failures as the client surfaces them, and no network or credentials.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { SpeechClient } from '@google-cloud/speech'
import { TextToSpeechClient } from '@google-cloud/text-to-speech'
import { status } from '@grpc/grpc-js'
import t from 'tap'
import { probe, wavFile } from '../helpers/audio.js'
import { googleClientOptions, startFakeGoogle } from '../helpers/fake-google/index.js'

const PHRASE = 'helix kael status'
const NO_RETRY = { retry: null }

// No credentials anywhere: a client looking for some would end at the metadata server, redirected here.
const metadataHits: string[] = []
const metadataServer = http.createServer((req, res) => {
  metadataHits.push(`${req.method} ${req.url}`)
  res.writeHead(404).end()
})
await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve))
const savedEnv = { ...process.env }
process.env.GCE_METADATA_HOST = `127.0.0.1:${(metadataServer.address() as AddressInfo).port}`
delete process.env.GOOGLE_APPLICATION_CREDENTIALS
process.env.CLOUDSDK_CONFIG = '/nonexistent/gcloud'
t.teardown(async () => {
  process.env = savedEnv
  await new Promise((resolve) => metadataServer.close(resolve))
})

const fake = await startFakeGoogle()
t.teardown(() => fake.close())
const tts = new TextToSpeechClient(googleClientOptions(fake.endpoint))
const speech = new SpeechClient(googleClientOptions(fake.endpoint))
t.teardown(() => Promise.all([tts.close(), speech.close()]))

/** The gRPC code a client call failed with (and the failure if it did not fail). */
async function codeOf(call: Promise<unknown>): Promise<number> {
  try {
    await call
  } catch (err) {
    return (err as { code: number }).code
  }
  throw new Error('the call succeeded')
}

const calls = (method: string) => fake.calls.filter((c) => c.method === method)

async function synthesize(audioEncoding: 'LINEAR16' | 'OGG_OPUS' | 'MP3', extra: { name?: string; speakingRate?: number } = {}): Promise<Buffer> {
  const [response] = await tts.synthesizeSpeech({
    input: { text: PHRASE },
    voice: { languageCode: 'en-US', name: extra.name },
    audioConfig: { audioEncoding, speakingRate: extra.speakingRate }
  })
  return Buffer.from(response.audioContent as Uint8Array)
}

const audio: Record<'LINEAR16' | 'OGG_OPUS' | 'MP3', Buffer> = {} as never

t.test('SynthesizeSpeech answers real speech in LINEAR16 (WAV), OGG_OPUS and MP3', async (t) => {
  [audio.LINEAR16, audio.OGG_OPUS, audio.MP3] = await Promise.all([synthesize('LINEAR16'), synthesize('OGG_OPUS'), synthesize('MP3')])

  t.equal(audio.LINEAR16.toString('ascii', 0, 4), 'RIFF', 'LINEAR16 carries a WAV header, as Google sends it')
  t.equal(audio.LINEAR16.toString('ascii', 8, 12), 'WAVE')
  t.equal(audio.OGG_OPUS.toString('ascii', 0, 4), 'OggS')
  t.ok(audio.OGG_OPUS.includes('OpusHead'), 'the Ogg stream is Opus')
  const mp3 = audio.MP3
  t.ok(mp3.toString('ascii', 0, 3) === 'ID3' || (mp3[0] === 0xff && (mp3[1] & 0xe0) === 0xe0), 'an ID3 tag or an MPEG frame sync')

  const [wav, ogg, mpeg] = await Promise.all([probe(audio.LINEAR16), probe(audio.OGG_OPUS), probe(audio.MP3)])
  t.match(wav, { codec: 'pcm_s16le', sampleRate: 24_000, channels: 1 }, "the voice's natural 24 kHz")
  t.match(ogg, { codec: 'opus', sampleRate: 48_000, channels: 1 })
  t.match(mpeg, { codec: 'mp3', sampleRate: 24_000, channels: 1 })
  for (const [name, info] of Object.entries({ wav, ogg, mpeg })) {
    t.ok(info.durationMs > 700 && info.durationMs < 4000, `${name} lasts as long as three spoken words (${info.durationMs} ms)`)
  }
  t.same(calls('SynthesizeSpeech').map((c) => c.request.audioConfig.audioEncoding).sort(), ['LINEAR16', 'MP3', 'OGG_OPUS'])
})

t.test('voices and speaking rate change the audio', async (t) => {
  const [a, c, fast] = await Promise.all([
    synthesize('LINEAR16', { name: 'en-US-Standard-A' }),
    synthesize('LINEAR16', { name: 'en-US-Standard-C' }),
    synthesize('LINEAR16', { name: 'en-US-Standard-A', speakingRate: 2 })
  ])
  t.not(a.equals(c), true, 'two voices do not sound the same')
  const [normal, quick] = await Promise.all([probe(a), probe(fast)])
  t.ok(quick.durationMs < normal.durationMs * 0.75, `speaking rate 2 is shorter (${quick.durationMs} vs ${normal.durationMs} ms)`)
})

t.test('Recognize hears the synthesized phrase back from each encoding', async (t) => {
  const recognize = (content: Buffer, config: Record<string, unknown>) =>
    speech.recognize({ audio: { content }, config: { languageCode: 'en-US', ...config } }).then(([r]) => r)
  const [fromWav, fromOgg, fromMp3] = await Promise.all([
    recognize(audio.LINEAR16, { encoding: 'LINEAR16' }),
    recognize(audio.OGG_OPUS, { encoding: 'OGG_OPUS', sampleRateHertz: 48_000 }),
    recognize(audio.MP3, { encoding: 'MP3', sampleRateHertz: 24_000 })
  ])
  for (const [name, response] of Object.entries({ fromWav, fromOgg, fromMp3 })) {
    const alternative = response.results?.[0]?.alternatives?.[0]
    t.equal(alternative?.transcript, PHRASE, `${name}: the phrase`)
    t.ok((alternative?.confidence ?? 0) > 0, `${name}: with a confidence`)
  }
  t.equal(Number(fromWav.totalBilledTime?.seconds), 2, 'billed by the started second')
})

type StreamingResponse = { results?: { isFinal?: boolean; alternatives?: { transcript?: string }[] }[] }

/** Streams `audio` in chunks after the config (the client sends the config first); all the responses. */
async function streamRecognize(audio: Buffer, chunk: number, config: Record<string, unknown>, options: { timeout?: number } = {}): Promise<StreamingResponse[]> {
  const stream = speech.streamingRecognize({ config: { languageCode: 'en-US', ...config } }, options)
  const responses: StreamingResponse[] = []
  const ended = new Promise<StreamingResponse[]>((resolve, reject) => {
    stream.on('data', (r: StreamingResponse) => responses.push(r))
    stream.on('error', reject)
    stream.on('end', () => resolve(responses))
  })
  for (let at = 0; at < audio.length; at += chunk) stream.write(audio.subarray(at, at + chunk))
  stream.end()
  return ended
}

const finalTranscript = (responses: StreamingResponse[]) =>
  responses.flatMap((r) => r.results ?? []).find((r) => r.isFinal)?.alternatives?.[0]?.transcript

t.test('StreamingRecognize hears the phrase sent in chunks after the config', async (t) => {
  const pcm = audio.LINEAR16.subarray(44)
  const CHUNK = 4800 // 100 ms of 24 kHz 16-bit audio
  const before = calls('StreamingRecognize').length
  const [fromPcm, fromOgg] = await Promise.all([
    streamRecognize(pcm, CHUNK, { encoding: 'LINEAR16', sampleRateHertz: 24_000 }),
    streamRecognize(audio.OGG_OPUS, 1000, { encoding: 'OGG_OPUS', sampleRateHertz: 48_000 })
  ])
  t.equal(finalTranscript(fromPcm), PHRASE, 'raw LINEAR16')
  t.equal(finalTranscript(fromOgg), PHRASE, 'Ogg/Opus')

  const call = calls('StreamingRecognize').slice(before).find((c) => c.request.streamingConfig.config.encoding === 'LINEAR16')!
  t.equal(call.request.streamingConfig.config.sampleRateHertz, 24_000, 'the first message was the config')
  t.equal(call.audioChunks.length, Math.ceil(pcm.length / CHUNK), 'then the audio, chunk by chunk')
  t.ok(Buffer.concat(call.audioChunks).equals(pcm), 'all of it')
})

t.test('silence is recognized as no result, as Google answers it', async (t) => {
  const [response] = await speech.recognize({ audio: { content: wavFile(Buffer.alloc(32_000), 16_000) }, config: { languageCode: 'en-US', encoding: 'LINEAR16' } })
  t.same(response.results, [])
})

t.test('ListVoices lists voices, by language when asked', async (t) => {
  const [all] = await tts.listVoices({})
  const [british] = await tts.listVoices({ languageCode: 'en-GB' })
  t.ok(all.voices!.length >= 4, 'several voices')
  t.ok(all.voices!.every((v) => v.name && v.languageCodes?.length && v.naturalSampleRateHertz), 'each named, with its language and rate')
  t.ok(british.voices!.length > 0 && british.voices!.every((v) => v.languageCodes!.includes('en-GB')), 'only en-GB voices for en-GB')
})

t.test('UNAVAILABLE twice, then ok: the client sees the code each time when its retries are off', async (t) => {
  fake.script('SynthesizeSpeech', { code: status.UNAVAILABLE, times: 2 })
  const before = calls('SynthesizeSpeech').length
  const request = { input: { text: PHRASE }, voice: { languageCode: 'en-US' }, audioConfig: { audioEncoding: 'LINEAR16' as const } }
  t.equal(await codeOf(tts.synthesizeSpeech(request, NO_RETRY)), status.UNAVAILABLE)
  t.equal(await codeOf(tts.synthesizeSpeech(request, NO_RETRY)), status.UNAVAILABLE)
  const [ok] = await tts.synthesizeSpeech(request, NO_RETRY)
  t.ok((ok.audioContent as Uint8Array).length > 1000, 'the third call gets audio')
  t.same(calls('SynthesizeSpeech').slice(before).map((c) => c.code), [status.UNAVAILABLE, status.UNAVAILABLE, status.OK])

  // With its default retry settings the client hides the same two failures: three attempts, one success.
  fake.script('ListVoices', { code: status.UNAVAILABLE, times: 2 })
  const listed = calls('ListVoices').length
  const [voices] = await tts.listVoices({})
  t.ok(voices.voices!.length > 0)
  t.same(calls('ListVoices').slice(listed).map((c) => c.code), [status.UNAVAILABLE, status.UNAVAILABLE, status.OK])

  // A stream is not retried: the error ends it.
  fake.script('StreamingRecognize', { code: status.UNAVAILABLE, times: 1 })
  const pcm = audio.LINEAR16.subarray(44)
  t.equal(await codeOf(streamRecognize(pcm, 4800, { encoding: 'LINEAR16', sampleRateHertz: 24_000 })), status.UNAVAILABLE, 'a stream ends with the code')
  t.equal(finalTranscript(await streamRecognize(pcm, 4800, { encoding: 'LINEAR16', sampleRateHertz: 24_000 })), PHRASE, 'the next stream is heard')
})

t.test('a hanging method ends at the client deadline as DEADLINE_EXCEEDED', async (t) => {
  fake.script('Recognize', 'hang')
  t.teardown(() => fake.script('Recognize', 'ok'))
  const started = Date.now()
  const code = await codeOf(speech.recognize({ audio: { content: audio.LINEAR16 }, config: { languageCode: 'en-US' } }, { timeout: 500, ...NO_RETRY }))
  const elapsed = Date.now() - started
  t.equal(code, status.DEADLINE_EXCEEDED)
  t.ok(elapsed >= 450 && elapsed < 5000, `after the deadline, not long after (${elapsed} ms)`)
  t.equal(calls('Recognize').at(-1)!.code, undefined, 'the fake never answered')

  fake.script('StreamingRecognize', 'hang')
  t.teardown(() => fake.script('StreamingRecognize', 'ok'))
  const streamStarted = Date.now()
  const streamCode = await codeOf(streamRecognize(audio.LINEAR16.subarray(44), 4800, { encoding: 'LINEAR16', sampleRateHertz: 24_000 }, { timeout: 500 }))
  t.equal(streamCode, status.DEADLINE_EXCEEDED, 'a stream too')
  t.ok(Date.now() - streamStarted < 5000)
})

t.test('INVALID_ARGUMENT, scripted or from bad requests, reaches the client as such', async (t) => {
  fake.script('ListVoices', { code: status.INVALID_ARGUMENT, message: 'scripted bad request' })
  t.teardown(() => fake.script('ListVoices', 'ok'))
  const err = await tts.listVoices({}, NO_RETRY).then(() => undefined, (e: { code: number; details: string }) => e)
  t.equal(err?.code, status.INVALID_ARGUMENT)
  t.match(err?.details, /scripted bad request/)

  const synth = (input: { text: string }, voice: { languageCode: string; name?: string }, audioConfig: Record<string, unknown> = { audioEncoding: 'MP3' }) =>
    codeOf(tts.synthesizeSpeech({ input, voice, audioConfig }, NO_RETRY))
  t.equal(await synth({ text: '' }, { languageCode: 'en-US' }), status.INVALID_ARGUMENT, 'empty text')
  t.equal(await synth({ text: 'a'.repeat(5001) }, { languageCode: 'en-US' }), status.INVALID_ARGUMENT, 'text over 5,000 bytes')
  t.equal(await synth({ text: PHRASE }, { languageCode: 'en-US', name: 'en-US-Nonexistent-Z' }), status.INVALID_ARGUMENT, 'unknown voice')
  t.equal(await synth({ text: PHRASE }, { languageCode: 'en-US' }, { audioEncoding: 'MP3', pitch: 25 }), status.INVALID_ARGUMENT, 'pitch out of range')
  t.equal(await codeOf(speech.recognize({ audio: { content: audio.LINEAR16 }, config: { languageCode: 'en-US', sampleRateHertz: 16_000 } }, NO_RETRY)),
    status.INVALID_ARGUMENT, 'a sample rate the WAV header contradicts')
  t.equal(await codeOf(speech.recognize({ audio: { content: Buffer.from('not audio at all, just words') }, config: { languageCode: 'en-US', encoding: 'MP3' } }, NO_RETRY)),
    status.INVALID_ARGUMENT, 'undecodable audio')
})

t.test('the clients reached the fake with no credentials and no metadata-server probe', async (t) => {
  t.ok(fake.calls.length > 10)
  t.same(metadataHits, [], 'no request to the metadata server')
  t.ok(fake.calls.every((c) => c.metadata.authorization === undefined), 'no call carried a token')
  t.ok(fake.calls.every((c) => String(c.metadata['x-goog-api-client']).includes('gax/')), 'every call came from google-gax')

  t.same(googleClientOptions('https://speech.example.com:8443'), { apiEndpoint: 'speech.example.com', port: 8443 }, 'https: TLS and real credentials')
  t.same(googleClientOptions('speech.example.com'), { apiEndpoint: 'speech.example.com', port: 443 }, 'a bare host: TLS on 443')

  // The trap the options avoid, to show the check above can fail: no universe domain, and the client
  // probes the metadata server for one before its first call.
  const { universeDomain: _universeDomain, ...trap } = googleClientOptions(fake.endpoint)
  const probing = new TextToSpeechClient(trap)
  t.teardown(() => probing.close())
  await probing.listVoices({})
  t.ok(metadataHits.length > 0, `without universeDomain: ${metadataHits.join(', ')}`)
})
