// SynthesizeSpeech and ListVoices: real speech from espeak-ng, encoded by ffmpeg the way Google
// encodes it, with Google's validation of text, voice, rate, pitch and encoding.
import { speak, toG711Wav, toMp3, toOggOpus48k, toPcm, toWav } from '../audio.js'
import { invalidArgument } from './behaviour.js'
import { listVoices, selectVoice } from './voices.js'

/** SynthesizeSpeechRequest as @grpc/proto-loader decodes it (camelCase, enums as names). */
export interface SynthesizeRequest {
  input?: { text?: string; ssml?: string; markup?: string; multiSpeakerMarkup?: unknown } | null
  voice?: { languageCode?: string; name?: string; ssmlGender?: string } | null
  audioConfig?: { audioEncoding?: string; speakingRate?: number; pitch?: number; sampleRateHertz?: number } | null
}

const MAX_INPUT_BYTES = 5000
/** Google's LINEAR16, MULAW and ALAW come with a WAV header; PCM is the bare samples. */
const ENCODERS: Record<string, (speech: Buffer, sampleRate: number) => Promise<Buffer>> = {
  LINEAR16: (speech, rate) => toWav(speech, rate),
  PCM: (speech, rate) => toPcm(speech, rate),
  MULAW: (speech, rate) => toG711Wav(speech, 'mulaw', rate),
  ALAW: (speech, rate) => toG711Wav(speech, 'alaw', rate),
  MP3: (speech, rate) => toMp3(speech, rate),
  OGG_OPUS: (speech, rate) => toOggOpus48k(speech, { sampleRate: rate })
}
const OPUS_RATES = [8000, 12_000, 16_000, 24_000, 48_000]
/** espeak-ng's words per minute at Google's speaking rate 1.0. */
const ESPEAK_NORMAL_WPM = 175
/** espeak-ng's pitch is 0 to 99 around 50; Google's is -20 to 20 semitones around 0. */
const ESPEAK_PITCH_PER_SEMITONE = 2.5

function inputText(input: SynthesizeRequest['input']): { text: string; ssml: boolean } {
  if (input?.multiSpeakerMarkup) throw invalidArgument('Multi-speaker markup is not supported by the fake.')
  const text = input?.ssml ?? input?.text ?? input?.markup ?? ''
  if (!text.trim()) throw invalidArgument('Either `input.text` or `input.ssml` must be set and not empty.')
  if (Buffer.byteLength(text) > MAX_INPUT_BYTES) {
    throw invalidArgument(`Either \`input.text\` or \`input.ssml\` is longer than the limit of ${MAX_INPUT_BYTES} bytes. This limit is different from quotas.`)
  }
  return { text, ssml: input?.ssml !== undefined && input.ssml !== null }
}

export async function synthesize(request: SynthesizeRequest): Promise<{ audioContent: Buffer }> {
  const { text, ssml } = inputText(request.input)
  const voice = selectVoice(request.voice)
  const config = request.audioConfig ?? {}
  const speakingRate = config.speakingRate || 1
  if (speakingRate < 0.25 || speakingRate > 4) throw invalidArgument(`speaking_rate ${speakingRate} is out of range: it must be between 0.25 and 4.0.`)
  const pitch = config.pitch ?? 0
  if (pitch < -20 || pitch > 20) throw invalidArgument(`pitch ${pitch} is out of range: it must be between -20.0 and 20.0.`)
  const encoding = config.audioEncoding ?? 'AUDIO_ENCODING_UNSPECIFIED'
  const encode = ENCODERS[encoding]
  if (!encode) throw invalidArgument(`audio_config.audio_encoding ${encoding} is not supported by the fake.`)
  const sampleRate = config.sampleRateHertz || (encoding === 'OGG_OPUS' ? 48_000 : voice.naturalSampleRateHertz)
  if (encoding === 'OGG_OPUS' && !OPUS_RATES.includes(sampleRate)) {
    throw invalidArgument(`sample_rate_hertz ${sampleRate} is not supported for OGG_OPUS: use one of ${OPUS_RATES.join(', ')}.`)
  }

  const speech = await speak(text, {
    voice: voice.espeak,
    rate: ESPEAK_NORMAL_WPM * speakingRate,
    pitch: 50 + (pitch + voice.pitchOffset) * ESPEAK_PITCH_PER_SEMITONE,
    ssml
  })
  return { audioContent: await encode(speech, sampleRate) }
}

export function voices(request: { languageCode?: string }) {
  return { voices: listVoices(request.languageCode) }
}
