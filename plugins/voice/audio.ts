// Audio conversion with ffmpeg: decoding what clients send to the 16 kHz mono PCM recognisers want,
// and encoding speech to what clients asked for (Ogg/Opus 48 kHz, MP3, WAV).
import { runTool, type ToolLimits } from './tools.js'
import type { AudioEncoding } from './types.js'

/** How ffmpeg must read headerless audio (`audio/l16;rate=`). */
export interface RawPcm {
  sampleRate: number
  channels: number
}

export const CONTENT_TYPES: Record<AudioEncoding, string> = {
  OGG_OPUS: 'audio/ogg',
  MP3: 'audio/mpeg',
  LINEAR16: 'audio/wav'
}

const HEAD = ['-hide_banner', '-loglevel', 'error', '-nostdin']

/** A 44-byte WAV header in front of 16-bit PCM: ffmpeg writing to a pipe cannot fill the sizes in. */
export function wavFile(pcm: Buffer, sampleRate: number, channels = 1): Buffer {
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + pcm.length, 4)
  header.write('WAVEfmt ', 8, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(channels, 22)
  header.writeUInt32LE(sampleRate, 24)
  header.writeUInt32LE(sampleRate * channels * 2, 28)
  header.writeUInt16LE(channels * 2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(pcm.length, 40)
  return Buffer.concat([header, pcm])
}

/** Any audio ffmpeg reads (or raw L16 as `raw` says) to 16 kHz mono 16-bit samples. */
export function decodeToPcm16k(audio: Buffer, limits: ToolLimits, raw?: RawPcm): Promise<Buffer> {
  // L16 is big-endian on the wire (RFC 2586).
  const input = raw ? ['-f', 's16be', '-ar', String(raw.sampleRate), '-ac', String(raw.channels), '-i', 'pipe:0'] : ['-i', 'pipe:0']
  return runTool('ffmpeg', [...HEAD, ...input, '-vn', '-ac', '1', '-ar', '16000', '-f', 's16le', 'pipe:1'], audio, limits)
}

/** Speech (a WAV) in the encoding asked for; Ogg/Opus at 48 kHz, the rate Discord plays as is. */
export async function encode(wav: Buffer, encoding: AudioEncoding, limits: ToolLimits): Promise<Buffer> {
  switch (encoding) {
    case 'OGG_OPUS':
      return runTool('ffmpeg', [...HEAD, '-i', 'pipe:0', '-vn', '-ac', '1', '-ar', '48000', '-c:a', 'libopus', '-b:a', '64k', '-f', 'ogg', 'pipe:1'], wav, limits)
    case 'MP3':
      return runTool('ffmpeg', [...HEAD, '-i', 'pipe:0', '-vn', '-ac', '1', '-ar', '24000', '-c:a', 'libmp3lame', '-b:a', '64k', '-f', 'mp3', 'pipe:1'], wav, limits)
    case 'LINEAR16':
      return wavFile(await runTool('ffmpeg', [...HEAD, '-i', 'pipe:0', '-vn', '-ac', '1', '-ar', '24000', '-f', 's16le', 'pipe:1'], wav, limits), 24_000)
  }
}

/** Duration of 16 kHz mono 16-bit samples. */
export const pcm16kDurationMs = (pcm: Buffer) => Math.round(pcm.length / 32)
