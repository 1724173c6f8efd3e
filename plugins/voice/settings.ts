// The voice plugin's env settings (DESIGN section 10), parsed at boot with the kernel's (config/).
import { Type } from 'typebox'
import { positiveInt } from '../../config/env.js'

const endpoint = (service: string) => ({
  schema: Type.String({ pattern: '^(https?://)?[A-Za-z0-9.-]+(:\\d{1,5})?/?$' }),
  example: 'http://127.0.0.1:9090',
  expect: 'http://host:port (plaintext gRPC), https://host[:port] or a bare host (TLS)',
  doc: `Google ${service} endpoint: \`http://host:port\` is plaintext gRPC with no credential lookup (a local fake), \`https://host[:port]\` or a bare host is TLS. Setting it counts as Google configured.`
})

export const voiceSettings = {
  VOICE_PROVIDER: {
    schema: Type.Union([Type.Literal('auto'), Type.Literal('google'), Type.Literal('local')]),
    default: 'auto',
    example: 'auto',
    expect: 'one of auto, google, local',
    doc: '`auto`: Google when credentials or an endpoint are set and `helix.voice.google` is on, local otherwise; `google`: Google whenever the flag is on (application default credentials allowed); `local`: espeak-ng and pocketsphinx only.'
  },
  GOOGLE_APPLICATION_CREDENTIALS: {
    schema: Type.String({ minLength: 1 }),
    example: '/etc/helix/google-key.json',
    expect: 'a path to a service account key file',
    doc: 'Google service account key file for Speech and Text-to-Speech.'
  },
  GOOGLE_CREDENTIALS_JSON: {
    schema: Type.String({ minLength: 2, pattern: '^\\s*\\{' }),
    example: '{"type":"service_account",...}',
    expect: 'a service account key as JSON',
    doc: 'The service account key itself, for platforms without files (Railway).',
    secret: true
  },
  GOOGLE_SPEECH_ENDPOINT: endpoint('Speech-to-Text'),
  GOOGLE_TTS_ENDPOINT: endpoint('Text-to-Speech'),
  HELIX_VOICE_MAX_BYTES: positiveInt('10485760', 1024, 104_857_600, 'Largest audio body of transcription and voice commands (`413` above it, checked while it streams in); base64 JSON bodies may be 4/3 of it.'),
  HELIX_VOICE_TTS_TIMEOUT_MS: positiveInt('8000', 50, 120_000, 'Deadline of one Google synthesis attempt.'),
  HELIX_VOICE_STT_TIMEOUT_MS: positiveInt('20000', 50, 300_000, 'Deadline of one Google recognition attempt.'),
  HELIX_VOICE_RETRIES: positiveInt('2', 0, 10, 'Retries of a Google call failing with a transient gRPC code (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, ABORTED, UNKNOWN) or timing out.'),
  HELIX_VOICE_BREAKER_THRESHOLD: positiveInt('5', 1, 1000, 'Consecutive transient Google failures that open the circuit breaker (then local serves and `voice.degraded` is published).'),
  HELIX_VOICE_BREAKER_RESET_MS: positiveInt('10000', 10, 3_600_000, 'How long the breaker stays open before one request tests Google again.'),
  HELIX_VOICE_CONCURRENCY: positiveInt('8', 1, 1024, 'Provider calls (syntheses and recognitions) running at once per process.'),
  HELIX_VOICE_QUEUE: positiveInt('64', 0, 100_000, 'Provider calls waiting for a slot; past it `429` with `Retry-After`.'),
  HELIX_VOICE_CACHE_TTL: positiveInt('86400', 1, 31_536_000, 'Seconds a synthesis stays in the cache (memory and Redis).'),
  HELIX_VOICE_CACHE_BYTES: positiveInt('67108864', 1024, 4_294_967_296, 'Bytes of audio the in-memory synthesis cache holds (least recently used out first).')
}
