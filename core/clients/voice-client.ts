// The typed client of the voice plugin's REST API (DESIGN section 10) for the bot and the Zapier
// pipeline: synthesis, transcription and voice commands, in-process or over HTTP.
import type { Command } from '../contracts/orchestrator.js'
import { serviceError, type ServiceTransport } from './service-transport.js'

export type AudioEncoding = 'OGG_OPUS' | 'MP3' | 'LINEAR16'

export interface SynthesizeInput {
  text: string
  agent?: string
  voice?: string
  languageCode?: string
  encoding?: AudioEncoding
  speakingRate?: number
  pitch?: number
}

export interface Audio {
  bytes: Buffer
  contentType: string
}

export interface Transcript {
  transcript: string
  confidence: number
  languageCode: string
  durationMs: number
  provider: string
}

export interface VoiceCommandResult {
  transcript: string
  command: Command | null
}

export interface VoiceCalls {
  synthesize(input: SynthesizeInput): Promise<Audio>
  transcribe(audio: Audio, options?: { languageCode?: string }): Promise<Transcript>
  command(audio: Audio): Promise<VoiceCommandResult>
  voices(): Promise<unknown[]>
}

export class VoiceClient {
  constructor(private readonly transport: ServiceTransport) {}

  for(onBehalfOf: string): VoiceCalls {
    const t = this.transport
    return {
      synthesize: async (input) => {
        const res = await t.call('voice', { method: 'POST', path: '/api/voice/synthesize', body: input, scopes: ['voice'], onBehalfOf })
        if (res.status !== 200) throw serviceError('voice', res)
        return { bytes: res.body, contentType: String(res.headers['content-type'] ?? 'application/octet-stream') }
      },
      transcribe: (audio, options = {}) => t.json('voice', {
        method: 'POST',
        path: '/api/voice/transcribe',
        query: { languageCode: options.languageCode },
        raw: { bytes: audio.bytes, contentType: audio.contentType },
        scopes: ['voice'],
        onBehalfOf
      }),
      command: (audio) => t.json('voice', {
        method: 'POST',
        path: '/api/voice/commands',
        raw: { bytes: audio.bytes, contentType: audio.contentType },
        scopes: ['voice', 'agents:write'],
        onBehalfOf
      }),
      voices: async () => (await t.json<{ items: unknown[] }>('voice', { method: 'GET', path: '/api/voice/voices', scopes: ['voice'], onBehalfOf })).items
    }
  }
}
