// Starts a Helix process: parse config, check the dependencies, build the app with a manifest, listen,
// log a short summary (and the admin link outside production). Shuts down gracefully on SIGTERM/SIGINT
// and promptly on an uncaught error; a boot that fails says why in one line. core/main.ts calls it.
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { ConfigError, loadConfig, type Config } from '../config/index.js'
import { buildApp } from './app.js'
import { listeningLine, localAdminLines, setupLine } from './boot-log.js'
import { driverReason, unavailableDependency } from './dependency-errors.js'
import { StartupError } from './errors.js'
import type { PluginDescriptor } from './plugin.js'
import { preflight, shownUrl } from './preflight.js'
import { CONTEXT_FRAME_FLAG, type Telemetry } from './telemetry/index.js'

/** Graceful shutdown must finish inside Railway's and Docker's 10 s stop window. */
const SHUTDOWN_DEADLINE_MS = 9000
/** After an uncaught error nothing in the process can be trusted: a short close for what is in flight, then exit. */
const FATAL_CLOSE_MS = 500

/** What went wrong at boot, in one line with what to do about it; null for an error Helix did not expect. */
function describeBootFailure(err: unknown, config: Config | undefined): string | null {
  if (err instanceof ConfigError || err instanceof StartupError) return err.message
  const e = err as NodeJS.ErrnoException & { port?: number }
  if (e.code === 'EADDRINUSE') return `Port ${config?.port} on ${config?.host} is in use by another process: stop it or set PORT to a free port`
  if (e.code === 'EACCES' && e.syscall === 'listen') return `Not allowed to listen on port ${config?.port}: use a port above 1023 (PORT) or run with the capability to bind it`
  switch (unavailableDependency(err)) {
    case 'database':
      return config?.databaseUrl
        ? `Lost PostgreSQL at DATABASE_URL=${shownUrl(config.databaseUrl)} during boot (${driverReason(err)}): check that it runs and accepts connections`
        : `The SQLite database helix.sqlite in HELIX_DATA_DIR=${config?.dataDir} cannot be used (${driverReason(err)}): make it a writable SQLite file, or move it away to start afresh`
    case 'Redis':
      return `Lost Redis at REDIS_URL=${config?.redisUrl ? shownUrl(config.redisUrl) : ''} during boot (${driverReason(err)}): check that it runs and accepts connections`
  }
  return null
}

/** A failed boot: one line on stderr (plus the stack for an unexpected error) and exit code 1. */
function exitOnBootFailure(err: unknown, config?: Config): never {
  const known = describeBootFailure(err, config)
  console.error(known ? `helix: ${known}` : `helix: boot failed: ${(err as Error)?.stack ?? String(err)}`)
  process.exit(1)
}

/**
 * Until the process listens, an uncaught error ends the boot with one line, and so does an event loop
 * that runs dry (a dependency that will never answer): the start promise never stays unsettled.
 */
function guardBoot(config: () => Config | undefined): () => void {
  const onError = (err: unknown) => exitOnBootFailure(err, config())
  const onStall = () => exitOnBootFailure(new StartupError('Boot stalled: it was waiting on something that will never answer (a database file that cannot be opened, a connection never made); check HELIX_DATA_DIR, DATABASE_URL and REDIS_URL'))
  process.on('uncaughtException', onError)
  process.on('unhandledRejection', onError)
  process.on('beforeExit', onStall)
  return () => {
    process.off('uncaughtException', onError)
    process.off('unhandledRejection', onError)
    process.off('beforeExit', onStall)
  }
}

/** Signals close gracefully within the deadline; an uncaught error is fatal and exits 1 within about a second. */
function handleShutdown(app: FastifyInstance, telemetry: Telemetry | null): void {
  const graceful = closeWithGrace({ delay: SHUTDOWN_DEADLINE_MS, logger: app.log, skip: ['uncaughtException', 'unhandledRejection'] }, async ({ signal }) => {
    app.log.info({ signal }, 'shutting down')
    await app.close()
    // The spans of the last requests are still buffered.
    await telemetry?.shutdown()
  })
  let failing = false
  const fatal = (err: unknown) => {
    if (failing) process.exit(1)
    failing = true
    graceful.uninstall()
    app.log.fatal({ err }, 'uncaught error: closing and exiting')
    setTimeout(() => process.exit(1), FATAL_CLOSE_MS)
    app.close().finally(() => process.exit(1))
  }
  process.on('uncaughtException', fatal)
  process.on('unhandledRejection', fatal)
}

export async function start(manifest: readonly PluginDescriptor[], telemetry: Telemetry | null = null): Promise<FastifyInstance> {
  let config: Config | undefined
  const booted = guardBoot(() => config)
  try {
    config = loadConfig(process.env, manifest)
    await preflight(config)
  } catch (err) {
    exitOnBootFailure(err, config)
  }
  const ready = config
  const app = await buildApp(ready, { plugins: manifest, trace: telemetry?.tracing }).catch((err: unknown) => exitOnBootFailure(err, ready))
  handleShutdown(app, telemetry)

  // A short start-up log, one fact per line and no fields, so a terminal shows it in a few lines.
  await app.listen({ port: ready.port, host: ready.host, listenTextResolver: (address) => listeningLine(ready, address) })
    .catch((err: unknown) => exitOnBootFailure(err, ready))
  booted()
  app.log.info(setupLine(app, ready))
  for (const line of localAdminLines(app, ready)) app.log.info(line)
  if (telemetry && !telemetry.contextFrame) app.log.warn(`tracing is on without ${CONTEXT_FRAME_FLAG}: start node with it (the image does) for cheaper traced requests`)
  return app
}
