// GET /api/voice/voices: the voices of the provider serving now.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import * as S from '../schemas.js'
import type { VoiceService } from '../voice-service.js'

export const voicesRoutes: FastifyPluginAsyncTypebox<{ service: VoiceService }> = async (app, { service }) => {
  app.get('/api/voice/voices', {
    onRequest: app.auth.requireScope('voice'),
    schema: { tags: ['voice'], summary: 'Voices of the provider serving now', response: { 200: S.VoicesBody, ...S.errorResponses } }
  }, async () => ({ provider: service.activeProvider(), items: await service.voices() }))
}
