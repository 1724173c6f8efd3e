// POST /api/voice/commands: audio in, "<wake word> <agent> <command>" heard and dispatched to the
// orchestrator on behalf of the caller (who needs `voice` and `agents:write`).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { OrchestratorClient } from '../../../core/clients/index.js'
import { decodeBody, type AudioBody } from '../audio-input.js'
import { parseCommand } from '../command-parser.js'
import * as S from '../schemas.js'
import { jsonBodyLimit, type AudioRouteOptions } from './transcribe.js'

export const commandRoutes: FastifyPluginAsyncTypebox<AudioRouteOptions & { orchestrator: OrchestratorClient }> = async (app, { service, roster, maxBytes, limits, orchestrator }) => {
  app.post('/api/voice/commands', {
    onRequest: [app.auth.requireScope('voice'), app.auth.requireScope('agents:write')],
    bodyLimit: jsonBodyLimit(maxBytes),
    schema: {
      tags: ['voice'],
      summary: 'A spoken command: transcribed, parsed and sent to the agent; 202 with the command, 200 when none was heard',
      querystring: S.LanguageQuery,
      body: S.AudioBody,
      response: { 200: S.VoiceCommandBody, 202: S.VoiceCommandBody, 404: S.ErrorBody, 413: S.ErrorBody, 415: S.ErrorBody, 422: S.ErrorBody, ...S.errorResponses }
    }
  }, async (request, reply) => {
    const body = request.body as AudioBody
    const actor = request.principal!.actor
    const audio = await decodeBody(request, body, maxBytes, limits)
    const phrases = await roster.words(actor)
    const heard = await service.transcribe({ pcm16k: audio.pcm16k, languageCode: request.query.languageCode ?? body.languageCode ?? 'en-US', phrases })
    const parsed = parseCommand(heard.transcript, phrases)
    service.countCommand(parsed ? 'recognized' : 'no_command')
    if (!parsed) return reply.code(200).send({ transcript: heard.transcript, provider: heard.provider, heard: null, command: null })
    const command = await orchestrator.for(actor).sendCommand(parsed.agent, { command: parsed.command })
    service.publish('voice.command', { agent: parsed.agent, command: parsed.command, commandId: command.id, provider: heard.provider, actor })
    return reply.code(202).send({ transcript: heard.transcript, provider: heard.provider, heard: parsed, command })
  })
}
