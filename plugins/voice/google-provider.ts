// The Google Cloud provider: the official Speech v1 and Text-to-Speech v1 clients, built at start so
// the first request does not pay for it. The clients' own retries are off: the reliability layer
// (reliability.ts) decides what is retried, and the deadline of each call is its timeout.
import type { Readable } from 'node:stream'
import { SpeechClient } from '@google-cloud/speech'
import { TextToSpeechClient } from '@google-cloud/text-to-speech'
import type { GoogleConfig } from './google-config.js'
import { googleClientOptions } from './google-options.js'
import type { Recognition, SpeechInput, SpeechProvider, SynthesisRequest, VoiceInfo } from './types.js'

/** How long the voice list is trusted before ListVoices is asked again. */
const VOICES_TTL_MS = 10 * 60_000
const SAMPLE_RATES = { OGG_OPUS: 48_000, MP3: 24_000, LINEAR16: 24_000 }

export interface GoogleTimeouts {
  ttsMs: number
  sttMs: number
}

type Cancellable<T> = Promise<T> & { cancel?: () => void }

/** Cancels the gRPC call when the reliability layer gives up on it. */
function cancelOn<T>(call: Promise<T>, signal?: AbortSignal): Promise<T> {
  const cancel = () => (call as Cancellable<T>).cancel?.()
  signal?.addEventListener('abort', cancel, { once: true })
  return call.finally(() => signal?.removeEventListener('abort', cancel))
}

interface RecognizeResult { alternatives?: { transcript?: string | null; confidence?: number | null }[] | null }

function recognition(results: RecognizeResult[] | null | undefined): Recognition {
  const best = (results ?? []).map((r) => r.alternatives?.[0]).filter((a) => a?.transcript)
  if (best.length === 0) return { transcript: '', confidence: 0 }
  return {
    transcript: best.map((a) => a!.transcript!.trim()).join(' '),
    confidence: best.reduce((sum, a) => sum + (a!.confidence ?? 0), 0) / best.length
  }
}

export class GoogleProvider implements SpeechProvider {
  readonly name = 'google' as const
  private readonly tts: TextToSpeechClient
  private readonly speech: SpeechClient
  private voiceList: { at: number; voices: Promise<VoiceInfo[]> } | null = null

  constructor(config: GoogleConfig, private readonly timeouts: GoogleTimeouts, private readonly now: () => number = Date.now) {
    this.tts = new TextToSpeechClient(googleClientOptions(config, config.ttsEndpoint))
    this.speech = new SpeechClient(googleClientOptions(config, config.speechEndpoint))
  }

  /** Opens both channels now (the clients otherwise connect on the first call). */
  async initialize(): Promise<void> {
    await Promise.all([this.tts.initialize(), this.speech.initialize()])
  }

  async synthesize(request: SynthesisRequest, signal?: AbortSignal): Promise<Buffer> {
    // A profile's voice this project does not offer (a fake, a region) falls back to its language.
    const name = request.voice.name && await this.knowsVoice(request.voice.name) ? request.voice.name : undefined
    const [response] = await cancelOn(this.tts.synthesizeSpeech({
      input: { text: request.text },
      voice: { languageCode: request.voice.languageCode, name },
      audioConfig: { audioEncoding: request.encoding, speakingRate: request.speakingRate, pitch: request.pitch, sampleRateHertz: SAMPLE_RATES[request.encoding] }
    }, { timeout: this.timeouts.ttsMs, retry: null }), signal)
    return Buffer.from(response.audioContent as Uint8Array)
  }

  async transcribe(input: SpeechInput, signal?: AbortSignal): Promise<Recognition> {
    const [response] = await cancelOn(this.speech.recognize({
      config: this.recognitionConfig(input),
      audio: { content: input.pcm16k }
    }, { timeout: this.timeouts.sttMs, retry: null }), signal)
    return recognition(response.results as RecognizeResult[])
  }

  streamingTranscribe(chunks: Readable, input: Omit<SpeechInput, 'pcm16k'>, signal?: AbortSignal): Promise<Recognition> {
    const stream = this.speech.streamingRecognize({ config: this.recognitionConfig(input), interimResults: false }, { timeout: this.timeouts.sttMs })
    const finals: RecognizeResult[] = []
    const done = new Promise<Recognition>((resolve, reject) => {
      stream.on('data', (r: { results?: (RecognizeResult & { isFinal?: boolean })[] }) => finals.push(...(r.results ?? []).filter((x) => x.isFinal)))
      stream.on('error', reject)
      stream.on('end', () => resolve(recognition(finals)))
    })
    const abort = () => stream.destroy(new Error('aborted'))
    signal?.addEventListener('abort', abort, { once: true })
    chunks.on('error', abort)
    chunks.pipe(stream)
    return done.finally(() => signal?.removeEventListener('abort', abort))
  }

  voices(): Promise<VoiceInfo[]> {
    if (!this.voiceList || this.now() - this.voiceList.at > VOICES_TTL_MS) {
      const voices = this.tts.listVoices({}, { timeout: this.timeouts.ttsMs }).then(([r]) => (r.voices ?? []).map((v) => ({
        name: v.name ?? '',
        languageCodes: v.languageCodes ?? [],
        ssmlGender: String(v.ssmlGender ?? 'SSML_VOICE_GENDER_UNSPECIFIED'),
        provider: 'google' as const
      })))
      this.voiceList = { at: this.now(), voices }
      voices.catch(() => (this.voiceList = null))
    }
    return this.voiceList.voices
  }

  async knowsVoice(name: string): Promise<boolean> {
    return (await this.voices()).some((v) => v.name === name)
  }

  async close(): Promise<void> {
    await Promise.all([this.tts.close(), this.speech.close()])
  }

  private recognitionConfig(input: Omit<SpeechInput, 'pcm16k'>) {
    const { wakeWords, agents, commands } = input.phrases
    return {
      encoding: 'LINEAR16' as const,
      sampleRateHertz: 16_000,
      languageCode: input.languageCode,
      speechContexts: [{ phrases: [...wakeWords, ...agents, ...commands] }]
    }
  }
}
