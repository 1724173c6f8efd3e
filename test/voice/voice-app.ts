// What the voice tests share: a Helix app with the orchestrator and the voice plugin, the flags a
// test flips, and calls of the voice API with a caller's token.
import type { FastifyInstance } from 'fastify'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { voicePlugin } from '../../plugins/voice/index.js'
import { bearer, build } from '../helpers/build.js'
import { ManualFlags } from '../helpers/manual-flags.js'

type Test = Parameters<typeof build>[0]

export interface VoiceApp {
  app: FastifyInstance
  flags: ManualFlags
}

/** An app with the voice plugin; Google's kill switch on, as the bootstrap file has it. */
export async function voiceApp(t: Test, env: Record<string, string | undefined> = {}, flags = new ManualFlags()): Promise<VoiceApp> {
  flags.flip('helix.voice.google', true)
  const app = await build(t, env, { plugins: [orchestratorPlugin, voicePlugin], flags })
  return { app, flags }
}

export const VOICE_SCOPES = ['voice', 'agents:read', 'agents:write'] as const

export function synthesize(app: FastifyInstance, body: Record<string, unknown>, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/api/voice/synthesize', headers: { ...bearer(app, ['voice']), ...headers }, payload: body })
}

export function transcribe(app: FastifyInstance, audio: Buffer, contentType: string, query = '') {
  return app.inject({ method: 'POST', url: `/api/voice/transcribe${query}`, headers: { ...bearer(app, ['voice']), 'content-type': contentType }, payload: audio })
}
