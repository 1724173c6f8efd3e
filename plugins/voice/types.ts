// The provider interface every speech backend implements (Google Cloud, local espeak-ng and
// pocketsphinx), and the shapes that travel through it.
import type { Readable } from 'node:stream'

export type AudioEncoding = 'OGG_OPUS' | 'MP3' | 'LINEAR16'
export type ProviderName = 'google' | 'local'

/** A voice as the agent profile and the API name it: Google's names (`en-US-Neural2-D`). */
export interface VoiceSelection {
  languageCode: string
  name?: string
}

export interface SynthesisRequest {
  text: string
  voice: VoiceSelection
  encoding: AudioEncoding
  /** 0.25 to 4 (1: normal). */
  speakingRate: number
  /** Semitones, -20 to 20. */
  pitch: number
}

/** Audio the recognisers take: 16 kHz mono 16-bit PCM samples, decoded once by the service. */
export interface SpeechInput {
  pcm16k: Buffer
  languageCode: string
  /** Phrases worth hearing (the command grammar's words): Google biases toward them, local hears only them. */
  phrases: CommandWords
}

export interface CommandWords {
  wakeWords: readonly string[]
  agents: readonly string[]
  /** As said: `memory append` for MEMORY_APPEND. */
  commands: readonly string[]
}

export interface Recognition {
  transcript: string
  confidence: number
}

export interface VoiceInfo {
  name: string
  languageCodes: string[]
  ssmlGender: string
  provider: ProviderName
}

export interface SpeechProvider {
  readonly name: ProviderName
  synthesize(request: SynthesisRequest, signal?: AbortSignal): Promise<Buffer>
  transcribe(input: SpeechInput, signal?: AbortSignal): Promise<Recognition>
  /** Recognition of audio arriving in chunks (Discord voice); the config goes first, as Google wants. */
  streamingTranscribe(chunks: Readable, input: Omit<SpeechInput, 'pcm16k'>, signal?: AbortSignal): Promise<Recognition>
  voices(): Promise<VoiceInfo[]>
  /** Whether this provider can speak with `voice.name` (unknown names are a 422). */
  knowsVoice(name: string): Promise<boolean>
  close(): Promise<void>
}
