// TypeBox schemas of the voice REST API (DESIGN section 10): validation, types and OpenAPI.
import { Type, type Static } from 'typebox'
import { Command } from '../../core/contracts/orchestrator.js'

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true })
export const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody, 503: ErrorBody }

const LanguageCode = Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$', description: 'BCP-47, e.g. en-US' })
export const Encoding = Type.Union([Type.Literal('OGG_OPUS'), Type.Literal('MP3'), Type.Literal('LINEAR16')], { description: 'OGG_OPUS is 48 kHz (Discord plays it as is); LINEAR16 is WAV' })
export const Provider = Type.Union([Type.Literal('google'), Type.Literal('local')])

export const SynthesizeBody = Type.Object({
  // Its 5,000-byte limit is checked in bytes by the handler, to answer 413 rather than 400.
  text: Type.String({ minLength: 1, description: 'At most 5,000 bytes of UTF-8' }),
  voice: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'A voice name from GET /api/voice/voices' })),
  agent: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: "An agent's slug or id: speaks with the voice of its profile" })),
  languageCode: Type.Optional(LanguageCode),
  encoding: Type.Optional(Encoding),
  speakingRate: Type.Optional(Type.Number({ minimum: 0.25, maximum: 4 })),
  pitch: Type.Optional(Type.Number({ minimum: -20, maximum: 20, description: 'Semitones' }))
}, { additionalProperties: false })
export type SynthesizeBody = Static<typeof SynthesizeBody>

export const SynthesizeJson = Type.Object({
  audio: Type.String({ description: 'base64' }),
  contentType: Type.String(),
  encoding: Encoding,
  provider: Provider,
  cached: Type.Boolean()
})

export const AudioBody = Type.Object({
  // A raw body arrives as bytes; JSON carries base64. Either is checked by the handler.
  audio: Type.Unsafe<string | Buffer>({ description: 'base64 audio in JSON; a raw audio body is taken as it is' }),
  contentType: Type.Optional(Type.String({ maxLength: 100, description: 'The audio type of base64 audio, e.g. audio/l16;rate=16000' })),
  languageCode: Type.Optional(LanguageCode)
}, { additionalProperties: false })

export const LanguageQuery = Type.Object({ languageCode: Type.Optional(LanguageCode) })

export const TranscriptBody = Type.Object({
  transcript: Type.String(),
  confidence: Type.Number(),
  languageCode: Type.String(),
  durationMs: Type.Integer(),
  provider: Provider
})

export const VoiceCommandBody = Type.Object({
  transcript: Type.String(),
  provider: Provider,
  heard: Type.Union([Type.Object({ wakeWord: Type.String(), agent: Type.String(), command: Type.String() }), Type.Null()]),
  command: Type.Union([Command, Type.Null()])
})

export const VoicesBody = Type.Object({
  provider: Provider,
  items: Type.Array(Type.Object({ name: Type.String(), languageCodes: Type.Array(Type.String()), ssmlGender: Type.String(), provider: Provider }))
})
