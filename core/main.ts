// The process entry (`node dist/core/main.js`): Helix with every plugin of the manifest.
import module from 'node:module'
import { startTelemetry } from './telemetry/index.js'

// V8's compile cache (on disk, in the OS temp dir) roughly halves the time spent loading modules on
// every boot after the first. It must be on before the app's modules load, hence the dynamic imports.
module.enableCompileCache?.()
// OpenTelemetry (only with OTEL_EXPORTER_OTLP_ENDPOINT) hooks module loading, so it starts before the
// app's modules and their dependencies are imported too.
const telemetry = await startTelemetry()
const { start } = await import('./server.js')
const { manifest } = await import('../plugins/index.js')

await start(manifest, telemetry)
