// Audio bodies of transcription and voice commands: raw bytes (WAV, Ogg/Opus, `audio/l16;rate=`)
// read with their own limit while they stream in, or base64 in JSON; then decoded once by ffmpeg to
// the 16 kHz mono PCM every recogniser takes, with the 60-second limit.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from '../../core/errors.js'
import { decodeToPcm16k, pcm16kDurationMs, type RawPcm } from './audio.js'
import { ToolError, type ToolLimits } from './tools.js'

export const MAX_AUDIO_MS = 60_000
/** Raw audio types the routes read; others answer `415`. */
export const AUDIO_TYPES = ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave', 'audio/ogg', 'audio/opus', 'audio/webm', 'audio/mpeg', 'audio/l16', 'application/octet-stream']

/** A parsed audio body, before it is decoded. */
export interface AudioBody {
  audio: Buffer | string
  contentType?: string
  languageCode?: string
}

/** `audio/l16;rate=16000;channels=1`: the format ffmpeg needs to read headerless samples. */
export function l16Format(contentType: string): RawPcm | undefined {
  if (!/^audio\/l16\b/i.test(contentType)) return undefined
  const param = (name: string) => new RegExp(`;\\s*${name}\\s*=\\s*(\\d+)`, 'i').exec(contentType)?.[1]
  const rate = Number(param('rate'))
  if (!Number.isInteger(rate) || rate < 8000 || rate > 48_000) throw errors.badRequest('audio/l16 needs a rate parameter from 8000 to 48000, e.g. audio/l16;rate=16000')
  const channels = Number(param('channels') ?? 1)
  if (!Number.isInteger(channels) || channels < 1 || channels > 2) throw errors.badRequest('audio/l16 takes 1 or 2 channels')
  return { sampleRate: rate, channels }
}

/**
 * Bytes per second of uncompressed audio, once its first bytes are in: known for L16 and for a WAV
 * with its `fmt ` chunk first, so 61 seconds of it are refused before the rest arrives.
 */
function byteRate(contentType: string, head: Buffer): number | undefined {
  const l16 = l16Format(contentType)
  if (l16) return l16.sampleRate * l16.channels * 2
  if (head.length >= 36 && head.toString('ascii', 0, 4) === 'RIFF' && head.toString('ascii', 12, 16) === 'fmt ') {
    const rate = head.readUInt32LE(28)
    return rate > 0 ? rate : undefined
  }
  return undefined
}

const tooLarge = (maxBytes: number) => errors.payloadTooLarge(`Audio bodies are limited to ${maxBytes} bytes (HELIX_VOICE_MAX_BYTES)`)
const tooLong = () => errors.payloadTooLarge(`Audio is limited to ${MAX_AUDIO_MS / 1000} seconds`)

/** Registers the raw audio parser in the voice routes' context; it enforces the limits while reading. */
export function installAudioParser(app: FastifyInstance, maxBytes: number): void {
  // text/plain is not audio: without its parser it is a `415`, not a body the schema refuses.
  app.removeContentTypeParser('text/plain')
  app.addContentTypeParser(AUDIO_TYPES, (request, payload, done) => {
    const contentType = String(request.headers['content-type'])
    const declared = Number(request.headers['content-length'])
    if (declared > maxBytes) return done(tooLarge(maxBytes), undefined)
    let rate: number | undefined
    try {
      rate = l16Format(contentType) ? byteRate(contentType, Buffer.alloc(0)) : undefined
    } catch (err) {
      return done(err as Error, undefined)
    }
    const chunks: Buffer[] = []
    let size = 0
    let failed = false
    const fail = (err: Error) => {
      if (failed) return
      failed = true
      payload.removeAllListeners('data')
      payload.resume()
      done(err, undefined)
    }
    payload.on('data', (chunk: Buffer) => {
      if (failed) return
      size += chunk.length
      if (size > maxBytes) return fail(tooLarge(maxBytes))
      chunks.push(chunk)
      if (rate === undefined && size >= 36) rate = byteRate(contentType, Buffer.concat(chunks).subarray(0, 64))
      // A second of slack for headers and rounding.
      if (rate && size > (MAX_AUDIO_MS / 1000 + 1) * rate) fail(tooLong())
    })
    payload.on('error', (err) => fail(err))
    payload.on('end', () => {
      if (!failed) done(null, { audio: Buffer.concat(chunks), contentType } satisfies AudioBody)
    })
  })
}

export interface DecodedAudio {
  pcm16k: Buffer
  durationMs: number
}

/** The body's audio as 16 kHz mono PCM; coded errors for every way it can be wrong. */
export async function decodeBody(request: FastifyRequest, body: AudioBody, maxBytes: number, limits: ToolLimits): Promise<DecodedAudio> {
  let bytes: Buffer
  let contentType = body.contentType ?? String(request.headers['content-type'] ?? '')
  if (typeof body.audio === 'string') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body.audio)) throw errors.badRequest('audio must be base64')
    if (Math.floor((body.audio.length * 3) / 4) > maxBytes) throw tooLarge(maxBytes)
    bytes = Buffer.from(body.audio, 'base64')
    if (!body.contentType) contentType = 'application/octet-stream'
  } else if (Buffer.isBuffer(body.audio)) {
    bytes = body.audio
  } else {
    throw errors.badRequest('audio must be base64 in JSON or the raw body')
  }
  if (bytes.length === 0) throw errors.badRequest('The audio is empty')
  const raw = l16Format(contentType)
  let pcm: Buffer
  try {
    // 61 s of 16 kHz 16-bit mono at most: longer audio is cut off and refused below.
    pcm = await decodeToPcm16k(bytes, { ...limits, maxOutputBytes: (MAX_AUDIO_MS / 1000 + 1) * 32_000 }, raw)
  } catch (err) {
    if (err instanceof ToolError && err.reason === 'output') throw tooLong()
    if (err instanceof ToolError && err.reason !== 'exit') throw errors.unavailable('The audio decoder is not available right now', 2)
    throw errors.unprocessable('The audio could not be decoded', { contentType })
  }
  if (pcm.length === 0) throw errors.unprocessable('The audio holds no samples', { contentType })
  const durationMs = pcm16kDurationMs(pcm)
  if (durationMs > MAX_AUDIO_MS) throw tooLong()
  return { pcm16k: pcm, durationMs }
}
