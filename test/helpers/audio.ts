// Real audio for tests: speech made by espeak-ng, converted and encoded by ffmpeg, recognised by
// pocketsphinx against a JSGF grammar. Every tool is spawned with an argument array and a timeout.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { commandGrammar as voiceGrammar, type Grammar } from '../../plugins/voice/grammar.js'
import type { CommandWords } from '../../plugins/voice/types.js'

const TOOL_TIMEOUT_MS = 20_000

/**
 * The espeak-ng voice tests speak with: pocketsphinx's en-us model recognises espeak's Klatt voices
 * almost perfectly and its default voice poorly ("kael" comes back as "echo").
 */
export const DEFAULT_ESPEAK_VOICE = 'en-us+klatt'

/** Runs a tool with stdin `input`, resolving with its stdout; a non-zero exit or the timeout rejects. */
export function runTool(command: string, args: readonly string[], input?: Buffer | string, timeoutMs = TOOL_TIMEOUT_MS): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)))
    // A tool that rejects its input exits before reading it all; the exit code tells why.
    child.stdin.on('error', () => {})
    child.once('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(Buffer.concat(out))
      else reject(new Error(`${command} ${signal === 'SIGKILL' ? `timed out after ${timeoutMs} ms` : `exited with ${code ?? signal}`}: ${err.trim()}`))
    })
    child.stdin.end(input ?? '')
  })
}

async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'helix-audio-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export interface SpeakOptions {
  /** An espeak-ng voice, `en-us+klatt` by default. */
  voice?: string
  /** Words per minute (espeak's `-s`, 80 to 450; 175 is normal speech). */
  rate?: number
  /** 0 to 99 (espeak's `-p`; 50 is the voice's own pitch). */
  pitch?: number
  /** The text is SSML (espeak-ng's `-m`). */
  ssml?: boolean
}

/** Speaks `text` with espeak-ng: a WAV file (mono, 16-bit, espeak's own 22,050 Hz). */
export function speak(text: string, options: SpeakOptions = {}): Promise<Buffer> {
  const rate = Math.round(Math.min(450, Math.max(80, options.rate ?? 175)))
  const pitch = Math.round(Math.min(99, Math.max(0, options.pitch ?? 50)))
  // The text goes through stdin so that no text can be read as an option.
  const args = ['-v', options.voice ?? DEFAULT_ESPEAK_VOICE, '-s', String(rate), '-p', String(pitch), ...(options.ssml ? ['-m'] : [])]
  return withTempDir(async (dir) => {
    const file = path.join(dir, 'speech.wav')
    await runTool('espeak-ng', [...args, '-w', file, '--stdin'], text)
    return readFile(file)
  })
}

/** What ffmpeg needs to read headerless audio. */
export interface RawFormat {
  format: 's16le' | 'mulaw' | 'alaw'
  sampleRate: number
  channels?: number
}

function inputArgs(raw?: RawFormat): string[] {
  const head = ['-hide_banner', '-loglevel', 'error', '-nostdin']
  if (!raw) return [...head, '-i', 'pipe:0']
  return [...head, '-f', raw.format, '-ar', String(raw.sampleRate), '-ac', String(raw.channels ?? 1), '-i', 'pipe:0']
}

/**
 * A WAV header in front of `data`. ffmpeg writing WAV to a pipe cannot go back to fill in the sizes,
 * so WAVs are assembled here from the samples it writes.
 */
export function wavFile(data: Buffer, sampleRate: number, channels = 1, codec: 'pcm' | 'mulaw' | 'alaw' = 'pcm'): Buffer {
  const bits = codec === 'pcm' ? 16 : 8
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + data.length, 4)
  header.write('WAVEfmt ', 8, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE({ pcm: 1, alaw: 6, mulaw: 7 }[codec], 20)
  header.writeUInt16LE(channels, 22)
  header.writeUInt32LE(sampleRate, 24)
  header.writeUInt32LE((sampleRate * channels * bits) / 8, 28)
  header.writeUInt16LE((channels * bits) / 8, 32)
  header.writeUInt16LE(bits, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(data.length, 40)
  return Buffer.concat([header, data])
}

/** Decodes any audio ffmpeg reads (or headerless audio as `raw` says) to 16-bit PCM samples. */
export function toPcm(audio: Buffer, sampleRate: number, channels = 1, raw?: RawFormat): Promise<Buffer> {
  return runTool('ffmpeg', [...inputArgs(raw), '-vn', '-ac', String(channels), '-ar', String(sampleRate), '-f', 's16le', 'pipe:1'], audio)
}

/** Any audio to 16-bit mono WAV, as a sample rate asks (Google's LINEAR16 is WAV with its header). */
export async function toWav(audio: Buffer, sampleRate: number, raw?: RawFormat): Promise<Buffer> {
  return wavFile(await toPcm(audio, sampleRate, 1, raw), sampleRate)
}

/** Any audio to the 16 kHz mono WAV pocketsphinx's en-us model wants. */
export function toWav16kMono(audio: Buffer, raw?: RawFormat): Promise<Buffer> {
  return toWav(audio, 16_000, raw)
}

/** Any audio to G.711 (mu-law or A-law) in WAV, 8 bits a sample. */
export async function toG711Wav(audio: Buffer, codec: 'mulaw' | 'alaw', sampleRate = 8000): Promise<Buffer> {
  const data = await runTool('ffmpeg', [...inputArgs(), '-vn', '-ac', '1', '-ar', String(sampleRate), '-f', codec, 'pipe:1'], audio)
  return wavFile(data, sampleRate, 1, codec)
}

/**
 * Any audio to Ogg/Opus. 48 kHz stereo is what Discord plays without transcoding; Google's OGG_OPUS
 * is mono. 20 ms frames, libopus's default.
 */
export function toOggOpus48k(audio: Buffer, options: { stereo?: boolean; sampleRate?: number; raw?: RawFormat } = {}): Promise<Buffer> {
  return runTool('ffmpeg', [
    ...inputArgs(options.raw), '-vn', '-ac', options.stereo ? '2' : '1', '-ar', String(options.sampleRate ?? 48_000),
    '-c:a', 'libopus', '-b:a', '64k', '-f', 'ogg', 'pipe:1'
  ], audio)
}

/** Any audio to MP3 (mono, with an ID3v2 tag in front as ffmpeg writes it). */
export function toMp3(audio: Buffer, sampleRate = 24_000): Promise<Buffer> {
  return runTool('ffmpeg', [...inputArgs(), '-vn', '-ac', '1', '-ar', String(sampleRate), '-c:a', 'libmp3lame', '-b:a', '64k', '-f', 'mp3', 'pipe:1'], audio)
}

export interface AudioInfo {
  codec: string
  sampleRate: number
  channels: number
  /** From the decoded samples, so it is exact whatever the container says. */
  durationMs: number
}

/** What ffprobe says the audio is, and how long it lasts once decoded. */
export async function probe(audio: Buffer): Promise<AudioInfo> {
  const json = await runTool('ffprobe', ['-hide_banner', '-loglevel', 'error', '-show_entries', 'stream=codec_name,sample_rate,channels', '-of', 'json', 'pipe:0'], audio)
  const stream = (JSON.parse(json.toString()) as { streams?: { codec_name: string; sample_rate: string; channels: number }[] }).streams?.[0]
  if (!stream) throw new Error('ffprobe found no audio stream')
  const pcm = await toPcm(audio, 16_000)
  return { codec: stream.codec_name, sampleRate: Number(stream.sample_rate), channels: stream.channels, durationMs: Math.round(pcm.length / 32) }
}

export type { CommandWords, Grammar }

/** Helix's wake words, the 14 agents and the command catalogue's commands as they are said. */
export const HELIX_COMMAND_WORDS: CommandWords = {
  wakeWords: ['helix', 'manus', 'collective'],
  agents: ['kael', 'lumina', 'vega', 'gemini', 'agni', 'kavach', 'sanghacore', 'shadow', 'echo', 'phoenix', 'oracle', 'claude', 'manus', 'discordbridge'],
  commands: ['status', 'reflect', 'sync', 'archive', 'generate', 'memory append', 'harmony pulse', 'insight', 'execute task']
}

/**
 * "<wake word> <agent> <command>" as a grammar, built by the voice plugin's own grammar module (the
 * fake recognises with what the local provider would); a word no dictionary knows throws, naming it.
 */
export async function commandGrammar(words: CommandWords = HELIX_COMMAND_WORDS): Promise<Grammar> {
  const grammar = await voiceGrammar(words)
  if (grammar.unknown.length > 0) throw new Error(`no pronunciation for ${grammar.unknown.join(', ')}: add it to PRONUNCIATIONS in plugins/voice/grammar.ts`)
  return grammar
}

/**
 * What pocketsphinx hears in a 16 kHz mono WAV, within `grammar`: the words, or '' when nothing in
 * the grammar was said (silence, noise, other words).
 */
export function recognize(wav16k: Buffer, grammar: Grammar): Promise<string> {
  const plain = wav16k.length >= 44 && wav16k.toString('ascii', 0, 4) === 'RIFF' && wav16k.toString('ascii', 36, 40) === 'data' &&
    wav16k.readUInt16LE(20) === 1 && wav16k.readUInt16LE(22) === 1 && wav16k.readUInt32LE(24) === 16_000 && wav16k.readUInt16LE(34) === 16
  if (!plain) return Promise.reject(new Error('recognize() wants 16 kHz mono 16-bit WAV with a 44-byte header: convert it with toWav16kMono()'))
  return withTempDir(async (dir) => {
    // pocketsphinx_continuous skips a 44-byte header only for files named *.wav.
    const files = { audio: path.join(dir, 'audio.wav'), jsgf: path.join(dir, 'grammar.jsgf'), dict: path.join(dir, 'words.dict') }
    await Promise.all([writeFile(files.audio, wav16k), writeFile(files.jsgf, grammar.jsgf), writeFile(files.dict, grammar.dictionary)])
    const out = await runTool('pocketsphinx_continuous', ['-infile', files.audio, '-jsgf', files.jsgf, '-dict', files.dict, '-logfn', '/dev/null'])
    return out.toString().split('\n').map((l) => l.trim()).filter(Boolean).join(' ')
  })
}
