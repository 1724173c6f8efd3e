// The voice service behind the routes: picks the provider (DESIGN section 10, live on the kill
// switch), runs Google under the reliability layer and fails over to local, caches syntheses, bounds
// concurrency, and publishes what happened on the `voice` channel.
import { bulkhead, BulkheadRejectedError, BrokenCircuitError, CircuitState } from 'cockatiel'
import type { Logger } from 'pino'
import type { Bus } from '../../core/bus/types.js'
import type { Clock } from '../../core/clock.js'
import { errors, HelixError } from '../../core/errors.js'
import type { FlagSource } from '../../flags/source.js'
import { CONTENT_TYPES } from './audio.js'
import { UnknownVoiceError } from './local-provider.js'
import type { VoiceMetrics } from './metrics.js'
import { failureCode, isClientError, type Operation, type ProviderGuard } from './reliability.js'
import { cacheKey, type SynthesisCache } from './synthesis-cache.js'
import { ToolError } from './tools.js'
import type { ProviderName, Recognition, SpeechInput, SpeechProvider, SynthesisRequest, VoiceInfo } from './types.js'

export const MAX_TEXT_BYTES = 5000

export interface VoiceServiceDeps {
  local: SpeechProvider
  /** Null when Google is not configured (or VOICE_PROVIDER=local). */
  google: { provider: SpeechProvider; guard: ProviderGuard } | null
  cache: SynthesisCache
  flags: FlagSource
  bus: Bus
  clock: Clock
  metrics: VoiceMetrics
  log: Logger
  concurrency: number
  queue: number
}

export interface Synthesized {
  audio: Buffer
  contentType: string
  provider: ProviderName
  cached: boolean
}

export interface Heard extends Recognition {
  provider: ProviderName
}

export class VoiceService {
  private readonly bulkhead
  private readonly stopBreakerEvents: () => void

  constructor(private readonly deps: VoiceServiceDeps) {
    this.bulkhead = bulkhead(deps.concurrency, deps.queue)
    const google = deps.google
    if (!google) {
      this.stopBreakerEvents = () => {}
      return
    }
    deps.metrics.breaker.set({ provider: 'google' }, 0)
    const subscriptions = [
      google.guard.breaker.onBreak((reason) => {
        deps.metrics.breaker.set({ provider: 'google' }, 2)
        const code = 'error' in reason ? failureCode(reason.error) : 'RESULT'
        deps.log.warn({ provider: 'google', code }, 'voice provider degraded: failing over to local')
        this.publish('voice.degraded', { provider: 'google', fallback: 'local', code })
      }),
      google.guard.breaker.onHalfOpen(() => deps.metrics.breaker.set({ provider: 'google' }, 1)),
      google.guard.breaker.onReset(() => {
        deps.metrics.breaker.set({ provider: 'google' }, 0)
        deps.log.info({ provider: 'google' }, 'voice provider recovered')
        this.publish('voice.recovered', { provider: 'google' })
      })
    ]
    this.stopBreakerEvents = () => subscriptions.forEach((s) => s.dispose())
  }

  /** Google when it is configured and `helix.voice.google` is on, read on every request. */
  activeProvider(): ProviderName {
    return this.deps.google && this.deps.flags.isEnabled('helix.voice.google') ? 'google' : 'local'
  }

  async voices(): Promise<VoiceInfo[]> {
    return this.listing().voices().catch(() => this.deps.local.voices())
  }

  /** Whether the serving provider speaks `name`; a Google list that cannot be read defers to local's rules. */
  async knowsVoice(name: string): Promise<boolean> {
    return this.listing().knowsVoice(name).catch(() => this.deps.local.knowsVoice(name))
  }

  synthesize(request: SynthesisRequest, meta: { agent?: string }): Promise<Synthesized> {
    return this.measured('synthesize', () => this.synthesizeOnce(request, meta), (result) => (result.cached ? 'cached' : 'ok'))
  }

  private async synthesizeOnce(request: SynthesisRequest, meta: { agent?: string }): Promise<Synthesized> {
    const chosen = this.activeProvider()
    const contentType = CONTENT_TYPES[request.encoding]
    const key = (provider: ProviderName) => cacheKey({ provider, ...request })
    const cached = await this.deps.cache.get(key(chosen))
    if (cached) {
      this.deps.metrics.cache.inc({ result: cached.layer })
      this.publish('voice.synthesized', { provider: chosen, encoding: request.encoding, bytes: cached.bytes.length, cached: true, agent: meta.agent ?? null })
      return { audio: cached.bytes, contentType, provider: chosen, cached: true }
    }
    const flight = this.deps.cache.singleFlight(key(chosen), () => this.limited(async () => {
      const result = await this.run('synthesize', chosen, (provider, signal) => provider.synthesize(request, signal))
      await this.deps.cache.set(key(result.provider), result.value)
      return result
    }))
    this.deps.metrics.cache.inc({ result: flight.shared ? 'shared' : 'miss' })
    const { value: audio, provider: served } = await flight.result
    this.publish('voice.synthesized', { provider: served, encoding: request.encoding, bytes: audio.length, cached: flight.shared, agent: meta.agent ?? null })
    return { audio, contentType, provider: served, cached: flight.shared }
  }

  transcribe(input: SpeechInput): Promise<Heard> {
    return this.measured('transcribe', () => this.transcribeOnce(input))
  }

  /** A spoken command's fate, for `helix_voice_commands_total`. */
  countCommand(outcome: 'recognized' | 'no_command'): void {
    this.deps.metrics.commands.inc({ outcome })
  }

  private async transcribeOnce(input: SpeechInput): Promise<Heard> {
    const { value, provider } = await this.limited(() => this.run('transcribe', this.activeProvider(), (p, signal) => p.transcribe(input, signal)))
    this.publish('voice.transcribed', { provider, durationMs: Math.round(input.pcm16k.length / 32), heard: value.transcript.length > 0 })
    return { ...value, provider }
  }

  publish(type: string, data: Record<string, unknown>): void {
    this.deps.bus.publish('voice', type, data).catch((err: Error) => this.deps.log.warn({ err: err.message, type }, 'voice event not published'))
  }

  close(): void {
    this.stopBreakerEvents()
  }

  /** Who answers voice lists: local while Google's breaker is open, so a list never waits on a dead Google. */
  private listing(): SpeechProvider {
    const google = this.deps.google
    if (this.activeProvider() !== 'google' || !google || google.guard.breaker.state === CircuitState.Open) return this.deps.local
    return google.provider
  }

  /** Counts a request by operation, serving provider and outcome, and times it. */
  private async measured<T extends { provider: ProviderName }>(operation: Operation, work: () => Promise<T>, outcome: (value: T) => string = () => 'ok'): Promise<T> {
    const started = this.deps.clock.now()
    let provider: ProviderName = this.activeProvider()
    let result = 'error'
    try {
      const value = await work()
      provider = value.provider
      result = outcome(value)
      return value
    } catch (err) {
      if (err instanceof HelixError && err.statusCode === 429) result = 'rejected'
      else if (err instanceof HelixError && err.statusCode < 500) result = 'invalid'
      throw err
    } finally {
      this.deps.metrics.requests.inc({ operation, provider, outcome: result })
      this.deps.metrics.requestDuration.observe({ operation, provider }, (this.deps.clock.now() - started) / 1000)
    }
  }

  /** The concurrency limit: past it and its queue, `429` with `Retry-After`. */
  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.bulkhead.execute(fn)
    } catch (err) {
      if (err instanceof BulkheadRejectedError) throw errors.tooManyRequests('Too many voice requests in progress; retry shortly', 1)
      throw err
    }
  }

  /** Google under its guard, failing over to local; local alone otherwise. */
  private async run<T>(operation: Operation, chosen: ProviderName, call: (provider: SpeechProvider, signal?: AbortSignal) => Promise<T>): Promise<{ value: T; provider: ProviderName }> {
    const google = this.deps.google
    if (chosen === 'google' && google) {
      const started = this.deps.clock.now()
      try {
        const value = await google.guard.execute(operation, (signal) => this.counted(operation, signal, call(google.provider, signal)))
        this.deps.metrics.latency.observe({ provider: 'google', operation }, (this.deps.clock.now() - started) / 1000)
        return { value, provider: 'google' }
      } catch (err) {
        if (isClientError(err)) throw googleClientError(err)
        if (err instanceof BrokenCircuitError) this.deps.metrics.errors.inc({ provider: 'google', operation, code: 'CIRCUIT_OPEN' })
        this.deps.metrics.failovers.inc({ operation })
        this.deps.log.debug({ operation, code: failureCode(err) }, 'google failed: local serves')
      }
    }
    const started = this.deps.clock.now()
    try {
      const value = await call(this.deps.local)
      this.deps.metrics.latency.observe({ provider: 'local', operation }, (this.deps.clock.now() - started) / 1000)
      return { value, provider: 'local' }
    } catch (err) {
      this.deps.metrics.errors.inc({ provider: 'local', operation, code: err instanceof ToolError ? err.reason : 'ERROR' })
      if (err instanceof UnknownVoiceError) throw errors.unprocessable(err.message)
      if (err instanceof HelixError) throw err
      this.deps.log.error({ err, operation }, 'local voice provider failed')
      throw errors.unavailable(`Speech ${operation === 'synthesize' ? 'synthesis' : 'recognition'} failed on every provider`, 5)
    }
  }

  /** Counts each failed Google attempt by its code; one we gave up on was counted as TIMEOUT. */
  private async counted<T>(operation: Operation, signal: AbortSignal, call: Promise<T>): Promise<T> {
    try {
      return await call
    } catch (err) {
      if (!signal.aborted) this.deps.metrics.errors.inc({ provider: 'google', operation, code: failureCode(err) })
      throw err
    }
  }
}

/** Google refusing the request itself (a voice it lacks, audio it cannot read): the caller's `422`. */
function googleClientError(err: unknown): HelixError {
  const details = (err as { details?: string }).details ?? (err as Error).message
  return errors.unprocessable(`Google refused the request: ${details}`, { provider: 'google', code: failureCode(err) })
}
