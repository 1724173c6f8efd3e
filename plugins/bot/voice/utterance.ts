// The receive path's audio: Opus packets one speaker sent (48 kHz stereo, as Discord sends them)
// decoded with opusscript (WebAssembly: no native build) and mixed down to a mono 48 kHz WAV, the
// form the voice plugin's command recognition takes.
import OpusScript from 'opusscript'

const RATE = 48_000
const CHANNELS = 2

/** Decodes the packets of one utterance; packets that do not decode (a lost or damaged one) are skipped. */
export function decodeOpus(packets: readonly Buffer[]): Buffer {
  const decoder = new OpusScript(RATE, CHANNELS, OpusScript.Application.VOIP)
  try {
    const frames: Buffer[] = []
    for (const packet of packets) {
      try {
        frames.push(Buffer.from(decoder.decode(packet)))
      } catch {
        // One bad packet costs 20 ms of audio, not the utterance.
      }
    }
    return Buffer.concat(frames)
  } finally {
    decoder.delete()
  }
}

/** Interleaved 16-bit stereo to mono (the mean of both channels). */
export function toMono(stereo: Buffer): Buffer {
  const frames = Math.floor(stereo.length / 4)
  const mono = Buffer.alloc(frames * 2)
  for (let i = 0; i < frames; i++) mono.writeInt16LE((stereo.readInt16LE(i * 4) + stereo.readInt16LE(i * 4 + 2)) >> 1, i * 2)
  return mono
}

/** A RIFF/WAVE file around 16-bit mono PCM. */
export function wav(pcm: Buffer, sampleRate = RATE): Buffer {
  const header = Buffer.alloc(44)
  header.write('RIFF', 0, 'ascii')
  header.writeUInt32LE(36 + pcm.length, 4)
  header.write('WAVE', 8, 'ascii')
  header.write('fmt ', 12, 'ascii')
  header.writeUInt32LE(16, 16)
  header.writeUInt16LE(1, 20)
  header.writeUInt16LE(1, 22)
  header.writeUInt32LE(sampleRate, 24)
  header.writeUInt32LE(sampleRate * 2, 28)
  header.writeUInt16LE(2, 32)
  header.writeUInt16LE(16, 34)
  header.write('data', 36, 'ascii')
  header.writeUInt32LE(pcm.length, 40)
  return Buffer.concat([header, pcm])
}

/** One speaker's utterance as the WAV file command recognition takes. */
export function utteranceWav(packets: readonly Buffer[]): Buffer {
  return wav(toMono(decodeOpus(packets)))
}
