// The kernel's Tracing over the OpenTelemetry API: the W3C traceparent of the active span, spans that
// continue a trace carried in a command row or a bus envelope, and the contexts batched work runs in.
import { context, propagation, ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Context, type Tracer } from '@opentelemetry/api'
import type { Tracing, Within } from '../trace.js'

export class OtelTracing implements Tracing {
  readonly enabled = true
  private readonly tracer: Tracer

  constructor(version: string) {
    this.tracer = trace.getTracer('helix', version)
  }

  traceparent(): string | undefined {
    const span = trace.getActiveSpan()
    if (span === undefined) return undefined
    const { traceId, spanId, traceFlags } = span.spanContext()
    if (!trace.isSpanContextValid(span.spanContext())) return undefined
    return `00-${traceId}-${spanId}-${traceFlags & 1 ? '01' : '00'}`
  }

  bind(): Within {
    const active = context.active()
    return (fn) => context.with(active, fn)
  }

  readonly detached: Within = (fn) => context.with(ROOT_CONTEXT, fn)

  run<T>(name: string, parent: string | undefined, fn: () => Promise<T>, attributes?: Attributes): Promise<T> {
    return this.tracer.startActiveSpan(name, { attributes }, parentContext(parent), async (span) => {
      try {
        return await fn()
      } catch (err) {
        span.recordException(err as Error)
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message })
        throw err
      } finally {
        span.end()
      }
    })
  }
}

/** The trace a stored traceparent names, through the registered (W3C) propagator; else the active one. */
function parentContext(parent: string | undefined): Context {
  const active = context.active()
  return parent ? propagation.extract(active, { traceparent: parent }) : active
}
