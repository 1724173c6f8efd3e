// The voice plugin (DESIGN section 10): text to speech and speech to text on Google Cloud or locally
// (espeak-ng, ffmpeg, pocketsphinx), voice commands sent to the orchestrator, behind timeouts,
// retries, a circuit breaker with failover, a synthesis cache and a concurrency limit.
import { definePlugin } from '../../core/plugin.js'
import { ownershipFlag } from '../../flags/names.js'
import { isGoogleConfigured } from './google-config.js'
import type { GoogleProvider } from './google-provider.js'
import { LocalProvider } from './local-provider.js'
import { createVoiceMetrics } from './metrics.js'
import { ProviderGuard } from './reliability.js'
import { Roster } from './roster.js'
import { voiceRoutes } from './routes/index.js'
import { voiceSettings } from './settings.js'
import { SynthesisCache } from './synthesis-cache.js'
import { DEFAULT_TOOL_LIMITS } from './tools.js'
import { VoiceService } from './voice-service.js'

export const voicePlugin = definePlugin({
  name: 'voice',
  title: 'Voice (`plugins/voice`)',
  roles: ['voice'],
  ownershipFlag: ownershipFlag('voice'),
  settings: voiceSettings,
  async create(kernel, _app, settings) {
    const log = kernel.log.child({ plugin: 'voice' })
    const limits = DEFAULT_TOOL_LIMITS
    const googleConfig = {
      credentialsFile: settings.GOOGLE_APPLICATION_CREDENTIALS,
      credentialsJson: settings.GOOGLE_CREDENTIALS_JSON,
      speechEndpoint: settings.GOOGLE_SPEECH_ENDPOINT,
      ttsEndpoint: settings.GOOGLE_TTS_ENDPOINT
    }
    const wantsGoogle = settings.VOICE_PROVIDER === 'google' || (settings.VOICE_PROVIDER === 'auto' && isGoogleConfigured(googleConfig))
    const metrics = createVoiceMetrics(kernel.metrics)
    let google: { provider: GoogleProvider; guard: ProviderGuard } | null = null
    if (wantsGoogle) {
      // The Google client libraries weigh tens of MB of heap: loaded only by a process that uses them.
      const { GoogleProvider } = await import('./google-provider.js')
      const provider = new GoogleProvider(googleConfig, { ttsMs: settings.HELIX_VOICE_TTS_TIMEOUT_MS, sttMs: settings.HELIX_VOICE_STT_TIMEOUT_MS }, kernel.clock.now)
      await provider.initialize()
      const guard = new ProviderGuard({
        ttsTimeoutMs: settings.HELIX_VOICE_TTS_TIMEOUT_MS,
        sttTimeoutMs: settings.HELIX_VOICE_STT_TIMEOUT_MS,
        retries: settings.HELIX_VOICE_RETRIES,
        breakerThreshold: settings.HELIX_VOICE_BREAKER_THRESHOLD,
        breakerResetMs: settings.HELIX_VOICE_BREAKER_RESET_MS,
        onTimeout: (operation) => metrics.errors.inc({ provider: 'google', operation, code: 'TIMEOUT' })
      })
      google = { provider, guard }
    }
    const redis = kernel.redis?.('voice-cache') ?? null
    const cache = new SynthesisCache({
      maxBytes: settings.HELIX_VOICE_CACHE_BYTES,
      ttlSeconds: settings.HELIX_VOICE_CACHE_TTL,
      redis,
      keyPrefix: `${kernel.config.redisPrefix}voice:tts:`,
      log
    })
    const local = new LocalProvider(limits)
    const service = new VoiceService({
      local,
      google,
      cache,
      flags: kernel.flags,
      bus: kernel.bus,
      clock: kernel.clock,
      metrics,
      log,
      concurrency: settings.HELIX_VOICE_CONCURRENCY,
      queue: settings.HELIX_VOICE_QUEUE
    })
    const roster = new Roster(kernel.clients.orchestrator, kernel.bus)
    await roster.follow()
    log.debug({ google: google !== null, provider: service.activeProvider() }, 'voice providers ready')

    return {
      routes: voiceRoutes({ service, roster, orchestrator: kernel.clients.orchestrator, maxBytes: settings.HELIX_VOICE_MAX_BYTES, limits }),
      close: async () => {
        service.close()
        await roster.stop()
        await Promise.all([google?.provider.close(), local.close()])
        redis?.disconnect()
      }
    }
  }
})
