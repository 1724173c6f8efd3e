// Every bad input of the voice API is a coded error (never a 500): text, voices, agents, audio bodies
// that are empty, random, lying, too big, too long or of the wrong type.
import t from 'tap'
import { speak, toOggOpus48k, wavFile } from '../helpers/audio.js'
import { bearer } from '../helpers/build.js'
import { synthesize, transcribe, voiceApp } from './voice-app.js'

const { app } = await voiceApp(t, { VOICE_PROVIDER: 'local', HELIX_VOICE_MAX_BYTES: String(10 * 1024 * 1024) })

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

/** Asserts a coded error: the status and the `error` code of the documented body. */
function coded(t: Test, res: { statusCode: number; json(): { error?: string } }, status: number, code: string, what: string) {
  t.equal(res.statusCode, status, `${what}: ${status}`)
  t.equal(res.json().error, code, `${what}: ${code}`)
}

t.test('synthesis: empty, blank and 5,001-byte text, unknown voice, unknown agent, bad fields', async (t) => {
  coded(t, await synthesize(app, { text: '' }), 400, 'validation_failed', 'empty text')
  coded(t, await synthesize(app, { text: '   ' }), 400, 'bad_request', 'blank text')
  coded(t, await synthesize(app, { text: 'a'.repeat(5001) }), 413, 'payload_too_large', '5,001 bytes')
  coded(t, await synthesize(app, { text: 'é'.repeat(2501) }), 413, 'payload_too_large', '2,501 two-byte characters are 5,002 bytes')
  t.equal((await synthesize(app, { text: 'a'.repeat(5000), encoding: 'MP3' })).statusCode, 200, '5,000 bytes are fine')
  coded(t, await synthesize(app, { text: 'hi', voice: 'nobody-speaks-this' }), 422, 'unprocessable', 'unknown voice')
  coded(t, await synthesize(app, { text: 'hi', agent: 'nobody' }), 404, 'not_found', 'unknown agent')
  coded(t, await synthesize(app, { text: 'hi', encoding: 'FLAC' }), 400, 'validation_failed', 'unknown encoding')
  coded(t, await synthesize(app, { text: 'hi', speakingRate: 9 }), 400, 'validation_failed', 'rate out of range')
  const noToken = await app.inject({ method: 'POST', url: '/api/voice/synthesize', payload: { text: 'hi' } })
  coded(t, noToken, 401, 'unauthorized', 'no token')
  const wrongScope = await app.inject({ method: 'POST', url: '/api/voice/synthesize', headers: bearer(app, ['agents:read']), payload: { text: 'hi' } })
  coded(t, wrongScope, 403, 'forbidden', 'no voice scope')
})

t.test('transcription: empty, random, lying, oversized, overlong and mistyped audio', async (t) => {
  const speech = await speak('helix kael status')
  coded(t, await transcribe(app, Buffer.alloc(0), 'audio/wav'), 400, 'bad_request', 'empty body')
  const random = Buffer.alloc(50_000)
  for (let i = 0; i < random.length; i++) random[i] = (i * 7919 + 13) % 251
  coded(t, await transcribe(app, random, 'audio/ogg'), 422, 'unprocessable', 'random bytes')
  coded(t, await transcribe(app, random.subarray(0, 2000), 'audio/wav'), 422, 'unprocessable', 'random bytes as WAV')

  // A header claiming ten seconds in front of a fraction of one.
  const pcm = speech.subarray(44, 44 + 8000)
  const lying = wavFile(pcm, 22_050)
  lying.writeUInt32LE(441_000, 40)
  lying.writeUInt32LE(441_036, 4)
  const liar = await transcribe(app, lying, 'audio/wav')
  t.equal(liar.statusCode, 200, 'a WAV lying about its length is read for what it holds')
  t.ok(liar.json().durationMs < 1000, `${liar.json().durationMs} ms, not ten seconds`)
  const headerOnly = wavFile(Buffer.alloc(0), 16_000)
  headerOnly.writeUInt32LE(320_000, 40)
  coded(t, await transcribe(app, headerOnly, 'audio/wav'), 422, 'unprocessable', 'a header and no samples')

  const eleven = Buffer.alloc(11 * 1024 * 1024)
  coded(t, await transcribe(app, eleven, 'audio/wav'), 413, 'payload_too_large', '11 MB of audio')
  const eleventhJson = await app.inject({
    method: 'POST', url: '/api/voice/transcribe', headers: bearer(app, ['voice']),
    payload: { audio: eleven.toString('base64'), contentType: 'audio/wav' }
  })
  coded(t, eleventhJson, 413, 'payload_too_large', '11 MB of audio as base64 JSON')

  const minute = wavFile(Buffer.alloc(61 * 32_000), 16_000)
  coded(t, await transcribe(app, minute, 'audio/wav'), 413, 'payload_too_large', '61 s of WAV, refused while streaming in')
  coded(t, await transcribe(app, Buffer.alloc(61 * 32_000), 'audio/l16;rate=16000'), 413, 'payload_too_large', '61 s of L16')
  const longOgg = await toOggOpus48k(wavFile(Buffer.alloc(61 * 32_000), 16_000))
  coded(t, await transcribe(app, longOgg, 'audio/ogg'), 413, 'payload_too_large', '61 s of Ogg/Opus, found when decoded')

  coded(t, await transcribe(app, speech, 'text/plain'), 415, 'unsupported_media_type', 'text/plain')
  coded(t, await transcribe(app, speech, 'image/png'), 415, 'unsupported_media_type', 'image/png')
  coded(t, await transcribe(app, speech, 'audio/l16'), 400, 'bad_request', 'L16 without its rate')
  const notBase64 = await app.inject({ method: 'POST', url: '/api/voice/transcribe', headers: bearer(app, ['voice']), payload: { audio: '!!not base64!!' } })
  coded(t, notBase64, 400, 'bad_request', 'JSON audio that is not base64')
  const emptyJson = await app.inject({ method: 'POST', url: '/api/voice/transcribe', headers: bearer(app, ['voice']), payload: {} })
  coded(t, emptyJson, 400, 'validation_failed', 'JSON without audio')
  const noToken = await app.inject({ method: 'POST', url: '/api/voice/transcribe', headers: { 'content-type': 'audio/wav' }, payload: eleven })
  coded(t, noToken, 401, 'unauthorized', 'no token, refused before the body is read')

  const json = await app.inject({
    method: 'POST', url: '/api/voice/transcribe?languageCode=en-US', headers: bearer(app, ['voice']),
    payload: { audio: speech.toString('base64'), contentType: 'audio/wav' }
  })
  t.equal(json.statusCode, 200, 'base64 JSON is heard like the raw body')
  t.equal(json.json().transcript, 'helix kael status')
})
