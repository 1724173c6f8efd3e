// The voice plugin's Prometheus metrics on the kernel's registry (names `helix_voice_*`, bounded labels).
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

export function createVoiceMetrics(registry: Registry) {
  const registers = [registry]
  return {
    requests: new Counter({
      name: 'helix_voice_requests_total',
      help: 'Synthesis and transcription requests by operation, serving provider and outcome: ok, cached, rejected (429, over the concurrency limit), invalid (4xx), error',
      labelNames: ['operation', 'provider', 'outcome'] as const,
      registers
    }),
    requestDuration: new Histogram({
      name: 'helix_voice_request_duration_seconds',
      help: 'Time a synthesis or transcription took in the service (cache, queueing, provider, failover), by operation and serving provider',
      labelNames: ['operation', 'provider'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers
    }),
    commands: new Counter({
      name: 'helix_voice_commands_total',
      help: 'Spoken commands by outcome: recognized (wake word, agent and command heard; then sent to the orchestrator) or no_command',
      labelNames: ['outcome'] as const,
      registers
    }),
    latency: new Histogram({
      name: 'helix_voice_provider_duration_seconds',
      help: 'Provider call duration (retries included) by provider and operation',
      labelNames: ['provider', 'operation'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20],
      registers
    }),
    errors: new Counter({
      name: 'helix_voice_provider_errors_total',
      help: 'Failed provider attempts by provider, operation and gRPC code (TIMEOUT: our deadline)',
      labelNames: ['provider', 'operation', 'code'] as const,
      registers
    }),
    cache: new Counter({
      name: 'helix_voice_cache_lookups_total',
      help: 'Synthesis cache lookups by result: memory, redis (hits), shared (joined a call in flight), miss',
      labelNames: ['result'] as const,
      registers
    }),
    failovers: new Counter({
      name: 'helix_voice_failovers_total',
      help: 'Requests the local provider served because Google failed or its breaker was open',
      labelNames: ['operation'] as const,
      registers
    }),
    breaker: new Gauge({
      name: 'helix_voice_breaker_state',
      help: 'Circuit breaker per provider: 0 closed, 1 half-open, 2 open',
      labelNames: ['provider'] as const,
      registers
    })
  }
}

export type VoiceMetrics = ReturnType<typeof createVoiceMetrics>
