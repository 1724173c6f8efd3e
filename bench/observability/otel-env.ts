// The OTEL_* variables of the bench process, handed to the Helix servers a benchmark spawns, so
// bench:observability can run the same benchmark with tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set) and off.
export function otelEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('OTEL_') && e[1] !== undefined))
}
