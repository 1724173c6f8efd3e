// Tracing as the kernel offers it to plugins: the W3C traceparent of the active span, spans that
// continue a trace carried in a command row or a bus envelope, and where batched work runs. A no-op
// unless OpenTelemetry is on (OTEL_EXPORTER_OTLP_ENDPOINT), so the hot paths pay one function call.

/** Runs `fn` in a trace context taken earlier (or in none). */
export type Within = <T>(fn: () => T) => T

export interface Tracing {
  /** Whether spans are recorded; callers may skip building attributes when not. */
  readonly enabled: boolean
  /** The W3C `traceparent` of the active span, or undefined when tracing is off or none is active. */
  traceparent(): string | undefined
  /**
   * Runs `fn` inside a new span named `name`, a child of the trace in `parent` (a traceparent) when
   * given, else of the active span. With tracing off it just calls `fn`.
   */
  run<T>(name: string, parent: string | undefined, fn: () => Promise<T>, attributes?: Record<string, string | number | boolean>): Promise<T>
  /** The trace context active now, to run a caller's batched work in later. */
  bind(): Within
  /** Runs `fn` outside any trace. */
  detached: Within
}

const direct: Within = (fn) => fn()

export const noTracing: Tracing = {
  enabled: false,
  traceparent: () => undefined,
  run: (_name, _parent, fn) => fn(),
  bind: () => direct,
  detached: direct
}

/**
 * Runs a batch's work (one statement, one bus write) in the trace of its only caller, or outside any
 * trace when it serves several: it belongs to none of them alone, and under load a span per batch
 * would cost more than it tells (each caller's own spans, and the traceparent it stored, carry its trace).
 */
export function inBatchTrace<T>(trace: Tracing, callers: readonly { within: Within }[], fn: () => T): T {
  return callers.length === 1 ? callers[0]!.within(fn) : trace.detached(fn)
}
