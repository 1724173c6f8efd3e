// Whether this process exports traces, decided from the standard OpenTelemetry env before the app's
// modules load. Light on purpose: the SDK and its instrumentations are imported only when tracing is on.
import type { Tracing } from '../trace.js'

/**
 * The Node flag that makes AsyncLocalStorage (OpenTelemetry's context) ride on the async context
 * frame instead of promise hooks: a traced command costs about a quarter less CPU. On by default from
 * Node 24; the image, `npm start` and the benchmarks start Node 22 with it.
 */
export const CONTEXT_FRAME_FLAG = '--experimental-async-context-frame'

/** Whether this process runs with the async context frame (see CONTEXT_FRAME_FLAG). */
export function contextFrameActive(execArgv = process.execArgv, env: Env = process.env, nodeVersion = process.versions.node): boolean {
  if (Number(nodeVersion.split('.')[0]) >= 24) return !execArgv.includes('--no-async-context-frame') && !env.NODE_OPTIONS?.includes('--no-async-context-frame')
  return execArgv.includes(CONTEXT_FRAME_FLAG) || Boolean(env.NODE_OPTIONS?.includes(CONTEXT_FRAME_FLAG))
}

/** Tracing for the kernel, and the flush that must run before the process exits. */
export interface Telemetry {
  tracing: Tracing
  /** False when tracing runs on promise hooks (Node 22 without CONTEXT_FRAME_FLAG): worth a warning. */
  contextFrame: boolean
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
