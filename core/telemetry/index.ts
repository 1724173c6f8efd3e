// Whether this process exports traces, decided from the standard OpenTelemetry env before the app's
// modules load. Light on purpose: the SDK and its instrumentations are imported only when tracing is on.
import type { Tracing } from '../trace.js'

/** Tracing for the kernel, and the flush that must run before the process exits. */
export interface Telemetry {
  tracing: Tracing
  /** Exports the spans still buffered and stops the SDK. */
  shutdown(): Promise<void>
}

type Env = Record<string, string | undefined>

/** Tracing is on when an OTLP endpoint is configured, unless OTEL_SDK_DISABLED says otherwise. */
export function telemetryWanted(env: Env): boolean {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  return Boolean(endpoint?.trim()) && env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true'
}

/**
 * Starts the OpenTelemetry SDK when the env asks for it, or returns null. Must run before the app and
 * its dependencies are imported, so the module hooks see them load (core/main.ts awaits it first).
 */
export async function startTelemetry(env: Env = process.env): Promise<Telemetry | null> {
  if (!telemetryWanted(env)) return null
  const { startSdk } = await import('./sdk.js')
  return startSdk(env)
}
