// POST /api/voice/transcribe: speech to text from a raw audio body or base64 JSON, with its own body
// limit; silence is a 200 with an empty transcript and the provider that listened.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { decodeBody, type AudioBody } from '../audio-input.js'
import type { Roster } from '../roster.js'
import * as S from '../schemas.js'
import type { ToolLimits } from '../tools.js'
import type { VoiceService } from '../voice-service.js'

export interface AudioRouteOptions {
  service: VoiceService
  roster: Roster
  maxBytes: number
  limits: ToolLimits
}

/** JSON carries base64 (4/3 of the audio) and a little more. */
export const jsonBodyLimit = (maxBytes: number) => Math.ceil((maxBytes * 4) / 3) + 4096

export const transcribeRoutes: FastifyPluginAsyncTypebox<AudioRouteOptions> = async (app, { service, roster, maxBytes, limits }) => {
  app.post('/api/voice/transcribe', {
    onRequest: app.auth.requireScope('voice'),
    bodyLimit: jsonBodyLimit(maxBytes),
    schema: {
      tags: ['voice'],
      summary: 'Speech to text: audio/wav, audio/ogg, audio/l16;rate=..., or JSON with base64',
      querystring: S.LanguageQuery,
      body: S.AudioBody,
      response: { 200: S.TranscriptBody, 413: S.ErrorBody, 415: S.ErrorBody, 422: S.ErrorBody, ...S.errorResponses }
    }
  }, async (request) => {
    const body = request.body as AudioBody
    const languageCode = request.query.languageCode ?? body.languageCode ?? 'en-US'
    const audio = await decodeBody(request, body, maxBytes, limits)
    const phrases = await roster.words(request.principal!.actor)
    const heard = await service.transcribe({ pcm16k: audio.pcm16k, languageCode, phrases })
    return { transcript: heard.transcript, confidence: heard.confidence, languageCode, durationMs: audio.durationMs, provider: heard.provider }
  })
}
