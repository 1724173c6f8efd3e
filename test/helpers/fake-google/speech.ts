// Recognition for the fake Speech service: the audio decoded as the RecognitionConfig says (with
// Google's checks against the WAV header), converted to 16 kHz mono and heard by pocketsphinx.
import { status } from '@grpc/grpc-js'
import { recognize, toWav16kMono, type Grammar, type RawFormat } from '../audio.js'
import { invalidArgument, RpcStatusError } from './behaviour.js'

/** RecognitionConfig as @grpc/proto-loader decodes it (camelCase, enums as names). */
export interface RecognitionConfig {
  encoding?: string
  sampleRateHertz?: number
  audioChannelCount?: number
  languageCode?: string
}

/** pocketsphinx_continuous prints no score; a fixed confidence stands in for one. */
const CONFIDENCE = 0.9
const OPUS_RATES = [8000, 12_000, 16_000, 24_000, 48_000]

interface WavHeader { channels: number; sampleRate: number }

/** The `fmt ` chunk of a RIFF/WAVE file, walking the chunks in front of it. */
function wavHeader(audio: Buffer): WavHeader | undefined {
  if (audio.length < 12 || audio.toString('ascii', 0, 4) !== 'RIFF' || audio.toString('ascii', 8, 12) !== 'WAVE') return undefined
  let at = 12
  while (at + 8 <= audio.length) {
    const size = audio.readUInt32LE(at + 4)
    if (audio.toString('ascii', at, at + 4) === 'fmt ' && at + 24 <= audio.length) {
      return { channels: audio.readUInt16LE(at + 10), sampleRate: audio.readUInt32LE(at + 12) }
    }
    at += 8 + size + (size % 2)
  }
  throw invalidArgument('Invalid WAV header: no fmt chunk.')
}

/** How ffmpeg must read the audio: undefined for a container it recognises on its own. */
function rawFormat(config: RecognitionConfig, audio: Buffer): RawFormat | undefined {
  const encoding = config.encoding ?? 'ENCODING_UNSPECIFIED'
  const rate = config.sampleRateHertz ?? 0
  const wav = wavHeader(audio)
  if (wav) {
    if (rate && rate !== wav.sampleRate) {
      throw invalidArgument(`sample_rate_hertz (${rate}) in RecognitionConfig must either be unspecified or match the value in the WAV header (${wav.sampleRate}).`)
    }
    if (wav.channels > 1 && config.audioChannelCount !== wav.channels) {
      throw invalidArgument(`Must use single channel (mono) audio, but WAV header indicates ${wav.channels} channels.`)
    }
    return undefined
  }
  switch (encoding) {
    case 'LINEAR16':
    case 'MULAW':
      if (!rate) throw invalidArgument(`sample_rate_hertz is required for ${encoding} audio without a WAV header.`)
      return { format: encoding === 'LINEAR16' ? 's16le' : 'mulaw', sampleRate: rate, channels: config.audioChannelCount || 1 }
    case 'OGG_OPUS':
    case 'WEBM_OPUS':
      if (!OPUS_RATES.includes(rate)) throw invalidArgument(`sample_rate_hertz must be one of ${OPUS_RATES.join(', ')} for ${encoding}.`)
      return undefined
    case 'ENCODING_UNSPECIFIED':
      if (audio.toString('ascii', 0, 4) !== 'fLaC') throw invalidArgument("Invalid recognition 'config': bad encoding..")
      return undefined
    default:
      return undefined
  }
}

export interface Transcription {
  transcript: string
  durationMs: number
}

/**
 * Hears `audio` within `grammar`. Audio longer than `maxMs` is refused as Google refuses it
 * (`code`: INVALID_ARGUMENT for Recognize's minute, OUT_OF_RANGE for a stream's 305 seconds).
 */
export async function transcribe(config: RecognitionConfig | null | undefined, audio: Buffer, grammar: Grammar, limit: { maxMs: number; code: status; message: string }): Promise<Transcription> {
  if (!config) throw invalidArgument("Invalid recognition 'config': the config is required.")
  if (!config.languageCode) throw invalidArgument("Invalid recognition 'config': language_code is required.")
  if (audio.length === 0) throw invalidArgument('RecognitionAudio not set.')
  const raw = rawFormat(config, audio)
  let wav: Buffer
  try {
    wav = await toWav16kMono(audio, raw)
  } catch {
    throw invalidArgument("Invalid recognition 'config': bad encoding.. The audio could not be decoded.")
  }
  const durationMs = Math.round((wav.length - 44) / 32)
  if (durationMs > limit.maxMs) throw new RpcStatusError(limit.code, limit.message)
  return { transcript: await recognize(wav, grammar), durationMs }
}

export const duration = (ms: number) => ({ seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 })

/** The alternatives of one result, or no result at all when nothing was heard (as Google answers silence). */
export function results(transcription: Transcription, languageCode: string, extra: Record<string, unknown> = {}) {
  if (!transcription.transcript) return []
  return [{
    alternatives: [{ transcript: transcription.transcript, confidence: CONFIDENCE }],
    resultEndTime: duration(transcription.durationMs),
    languageCode: languageCode.toLowerCase(),
    ...extra
  }]
}

export const RECOGNIZE_LIMIT = {
  maxMs: 60_000,
  code: status.INVALID_ARGUMENT,
  message: 'Sync input too long. For audio longer than 1 min use LongRunningRecognize with a \'uri\' parameter.'
}

export const STREAM_LIMIT = {
  maxMs: 305_000,
  code: status.OUT_OF_RANGE,
  message: 'Exceeded maximum allowed stream duration of 305 seconds.'
}
