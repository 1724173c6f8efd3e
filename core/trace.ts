// Tracing as the kernel offers it to plugins: the W3C traceparent of the active span, and spans that
// continue a trace carried in a command row or a bus envelope. A no-op unless OpenTelemetry is on
// (OTEL_EXPORTER_OTLP_ENDPOINT), so the hot paths pay one function call.

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
}

export const noTracing: Tracing = {
  enabled: false,
  traceparent: () => undefined,
  run: (_name, _parent, fn) => fn()
}
