// The voice REST API under /api/voice (DESIGN section 10), in the plugin's own context so its audio
// body parser and limits apply to its routes only.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { OrchestratorClient } from '../../../core/clients/index.js'
import { installAudioParser } from '../audio-input.js'
import type { Roster } from '../roster.js'
import type { ToolLimits } from '../tools.js'
import type { VoiceService } from '../voice-service.js'
import { commandRoutes } from './commands.js'
import { synthesizeRoutes } from './synthesize.js'
import { transcribeRoutes } from './transcribe.js'
import { voicesRoutes } from './voices.js'

export interface VoiceRouteDeps {
  service: VoiceService
  roster: Roster
  orchestrator: OrchestratorClient
  maxBytes: number
  limits: ToolLimits
}

export function voiceRoutes(deps: VoiceRouteDeps): FastifyPluginAsyncTypebox {
  return async function routes(app) {
    installAudioParser(app, deps.maxBytes)
    await app.register(synthesizeRoutes, deps)
    await app.register(transcribeRoutes, deps)
    await app.register(commandRoutes, deps)
    await app.register(voicesRoutes, deps)
  }
}
