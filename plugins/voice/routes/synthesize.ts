// POST /api/voice/synthesize: text to speech, with an agent's profile voice when `agent` is named;
// the audio bytes with their content type, or JSON with base64 on `Accept: application/json`.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { OrchestratorClient } from '../../../core/clients/index.js'
import { ServiceCallError } from '../../../core/clients/index.js'
import { errors } from '../../../core/errors.js'
import * as S from '../schemas.js'
import type { VoiceSelection } from '../types.js'
import { MAX_TEXT_BYTES, type VoiceService } from '../voice-service.js'

export interface SynthesizeRouteOptions {
  service: VoiceService
  orchestrator: OrchestratorClient
}

export const synthesizeRoutes: FastifyPluginAsyncTypebox<SynthesizeRouteOptions> = async (app, { service, orchestrator }) => {
  app.post('/api/voice/synthesize', {
    onRequest: app.auth.requireScope('voice'),
    schema: {
      tags: ['voice'],
      summary: 'Text to speech: audio bytes, or JSON with base64 on Accept: application/json',
      body: S.SynthesizeBody,
      response: { 200: S.SynthesizeJson, 404: S.ErrorBody, 413: S.ErrorBody, 422: S.ErrorBody, ...S.errorResponses }
    }
  }, async (request, reply) => {
    const body = request.body
    if (Buffer.byteLength(body.text, 'utf8') > MAX_TEXT_BYTES) throw errors.payloadTooLarge(`text is limited to ${MAX_TEXT_BYTES} bytes`)
    if (body.text.trim() === '') throw errors.badRequest('text is blank')
    let voice: VoiceSelection = { languageCode: body.languageCode ?? 'en-US' }
    if (body.agent) {
      const agent = await orchestrator.for(request.principal!.actor).getAgent(body.agent).catch((err: unknown) => {
        if (err instanceof ServiceCallError && err.statusCode === 404) throw errors.notFound(`Agent "${body.agent}"`)
        throw err
      })
      voice = { languageCode: agent.voice.languageCode, name: agent.voice.name }
    }
    if (body.voice) {
      if (!await service.knowsVoice(body.voice)) throw errors.unprocessable(`Unknown voice "${body.voice}": see GET /api/voice/voices`, { voice: body.voice })
      voice = { languageCode: body.languageCode ?? body.voice.slice(0, 5), name: body.voice }
    }
    const encoding = body.encoding ?? 'OGG_OPUS'
    const result = await service.synthesize({ text: body.text, voice, encoding, speakingRate: body.speakingRate ?? 1, pitch: body.pitch ?? 0 }, { agent: body.agent })
    reply.header('x-voice-provider', result.provider).header('x-voice-cache', result.cached ? 'hit' : 'miss')
    if ((request.headers.accept ?? '').includes('application/json')) {
      return { audio: result.audio.toString('base64'), contentType: result.contentType, encoding, provider: result.provider, cached: result.cached }
    }
    // Audio bytes bypass the JSON serializer; the 200 schema documents the JSON form.
    return reply.type(result.contentType).send(result.audio as never)
  })
}
