// The OpenTelemetry SDK of a Helix process: W3C propagation, an OTLP exporter configured by the
// standard env (OTEL_EXPORTER_OTLP_*, OTEL_TRACES_SAMPLER, ...), and the instrumentations of what
// Helix talks to: Fastify requests, outgoing HTTP, undici (proxy hop, service clients), PostgreSQL, Redis.
import module from 'node:module'
import { FastifyOtelInstrumentation } from '@fastify/otel'
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http'
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { NodeSDK } from '@opentelemetry/sdk-node'
import { createAddHookMessageChannel } from 'import-in-the-middle'
import { version } from '../version.js'
import { contextFrameActive, type Telemetry } from './index.js'
import { OtelTracing } from './otel-tracing.js'

type Env = Record<string, string | undefined>

/** Probes and scrapes: polled every few seconds, they would bury the traces worth reading. */
const UNTRACED_PATHS = /^\/(health\/|metrics(\?|$))/

/** Same form as the Unleash appName: `helix-all`, `helix-orchestrator`, `helix-stream-voice`. */
export function serviceName(env: Env): string {
  const explicit = env.OTEL_SERVICE_NAME?.trim()
  if (explicit) return explicit
  const roles = (env.HELIX_ROLE?.trim() || 'all').split(',').map((r) => r.trim().toLowerCase())
  return `helix-${roles.join('-')}`
}

/**
 * Helix's own code is ESM, and `import` does not pass through require(), so the instrumentations of
 * packages it imports directly (ioredis) need import-in-the-middle's loader hook. Registered with a
 * message channel, the hook wraps only the modules an instrumentation asked for.
 */
function hookEsmImports(): () => Promise<void> {
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel()
  module.register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions)
  return waitForAllMessagesAcknowledged
}

/**
 * The monolith's proxy copies the client's headers, a `traceparent` among them; the instrumentation
 * adds the proxy hop's own. Two would reach the owner as one unparsable header, so the copied one
 * goes (the hop's is a child of the same trace: the incoming request continued the client's).
 */
function dropCopiedTraceContext(request: { headers: unknown }): void {
  const headers = request.headers
  if (!Array.isArray(headers)) return
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    const name = String(headers[i]).toLowerCase()
    if (name === 'traceparent' || name === 'tracestate') headers.splice(i, 2)
  }
}

function instrumentations() {
  return [
    // Outgoing node:http calls only: @fastify/otel's request span is the server span of a request
    // (it continues the caller's traceparent), so a second one per request would only add cost.
    new HttpInstrumentation({
      disableIncomingRequestInstrumentation: true,
      // Outgoing calls outside any request (flag polling) would each start a trace of their own.
      requireParentforOutgoingSpans: true
    }),
    new FastifyOtelInstrumentation({
      registerOnInitialization: true,
      // One span per request: spans per route hook and for the handler would repeat its timing.
      instrumentHooks: false,
      instrumentHandler: false,
      ignorePaths: ({ url }) => UNTRACED_PATHS.test(url)
    }),
    new UndiciInstrumentation({ requireParentforSpans: true, requestHook: (_span, request) => dropCopiedTraceContext(request) }),
    // Workers poll the database and Redis all the time; only queries made for a traced request or
    // command are worth a span.
    new PgInstrumentation({ requireParentSpan: true, ignoreConnectSpans: true }),
    new IORedisInstrumentation({ requireParentSpan: true })
  ]
}

export async function startSdk(env: Env): Promise<Telemetry> {
  const hooksAcknowledged = hookEsmImports()
  const sdk = new NodeSDK({
    serviceName: serviceName(env),
    instrumentations: instrumentations(),
    // Traces only: metrics are Prometheus's (/metrics) and logs go to stdout as JSON.
    metricReaders: [],
    logRecordProcessors: []
  })
  sdk.start()
  await hooksAcknowledged()
  return { tracing: new OtelTracing(version), contextFrame: contextFrameActive(), shutdown: () => sdk.shutdown() }
}
