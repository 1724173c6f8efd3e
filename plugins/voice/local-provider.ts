// The local provider: speech from espeak-ng encoded by ffmpeg, recognition by pocketsphinx within
// the command grammar. It needs no network and no credentials; it hears Helix's commands only.
import { writeFile, readFile } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { encode, wavFile } from './audio.js'
import { commandGrammar, type Grammar } from './grammar.js'
import { espeakVoice, localVoices } from './local-voices.js'
import { runTool, withTempDir, type ToolLimits } from './tools.js'
import type { CommandWords, Recognition, SpeechInput, SpeechProvider, SynthesisRequest } from './types.js'

/** pocketsphinx_continuous prints no score; a fixed confidence stands in for one. */
const CONFIDENCE = 0.8
/** Audio chunks a stream may hold: 60 s of 16 kHz 16-bit mono. */
const MAX_STREAM_BYTES = 60 * 32_000

export class UnknownVoiceError extends Error {
  override name = 'UnknownVoiceError'
}

export class LocalProvider implements SpeechProvider {
  readonly name = 'local' as const
  private grammar: { key: string; value: Promise<Grammar> } | null = null

  constructor(private readonly limits: ToolLimits) {}

  async synthesize(request: SynthesisRequest): Promise<Buffer> {
    const voice = espeakVoice(request.voice)
    if (!voice) throw new UnknownVoiceError(`The local provider has no voice "${request.voice.name ?? request.voice.languageCode}"`)
    const wpm = Math.round(Math.min(450, Math.max(80, voice.wpm * request.speakingRate)))
    const pitch = Math.round(Math.min(99, Math.max(0, voice.pitch + request.pitch * 2)))
    const wav = await withTempDir(async (dir) => {
      const file = path.join(dir, 'speech.wav')
      // The text goes through stdin so that no text can be read as an option.
      await runTool('espeak-ng', ['-v', voice.voice, '-s', String(wpm), '-p', String(pitch), '-w', file, '--stdin'], request.text, this.limits)
      return readFile(file)
    })
    return encode(wav, request.encoding, this.limits)
  }

  async transcribe(input: SpeechInput): Promise<Recognition> {
    const grammar = await this.grammarFor(input.phrases)
    const transcript = await withTempDir(async (dir) => {
      // pocketsphinx_continuous skips a 44-byte header only for files named *.wav.
      const files = { audio: path.join(dir, 'audio.wav'), jsgf: path.join(dir, 'grammar.jsgf'), dict: path.join(dir, 'words.dict') }
      await Promise.all([writeFile(files.audio, wavFile(input.pcm16k, 16_000)), writeFile(files.jsgf, grammar.jsgf), writeFile(files.dict, grammar.dictionary)])
      const out = await runTool('pocketsphinx_continuous', ['-infile', files.audio, '-jsgf', files.jsgf, '-dict', files.dict, '-logfn', '/dev/null'], '', this.limits)
      return out.toString().split('\n').map((l) => l.trim()).filter(Boolean).join(' ')
    })
    return { transcript, confidence: transcript ? CONFIDENCE : 0 }
  }

  async streamingTranscribe(chunks: Readable, input: Omit<SpeechInput, 'pcm16k'>): Promise<Recognition> {
    const parts: Buffer[] = []
    let size = 0
    for await (const chunk of chunks) {
      size += (chunk as Buffer).length
      if (size > MAX_STREAM_BYTES) break
      parts.push(chunk as Buffer)
    }
    return this.transcribe({ ...input, pcm16k: Buffer.concat(parts) })
  }

  async voices() {
    return localVoices()
  }

  async knowsVoice(name: string): Promise<boolean> {
    return espeakVoice({ languageCode: 'en-US', name }) !== null
  }

  async close(): Promise<void> {}

  /** The grammar of the current words, rebuilt only when they change. */
  private grammarFor(words: CommandWords): Promise<Grammar> {
    const key = JSON.stringify(words)
    if (this.grammar?.key !== key) {
      const value = commandGrammar(words)
      this.grammar = { key, value }
      value.catch(() => (this.grammar = null))
    }
    return this.grammar!.value
  }
}
