// Options that point the real Google clients at an endpoint URL, exactly as the voice plugin reads
// GOOGLE_SPEECH_ENDPOINT: `http://host:port` is plaintext gRPC with no credential lookup at all.
import type { ClientOptions } from 'google-gax'
import { googleClientOptions as voiceOptions } from '../../../plugins/voice/google-options.js'

export function googleClientOptions(endpoint: string): ClientOptions {
  return voiceOptions({}, endpoint)
}
