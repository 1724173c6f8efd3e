// Starts a Helix process: parse config, build the app with a manifest, listen, print the admin link
// in the embedded default, and shut down gracefully on SIGTERM/SIGINT. core/main.ts calls it.
import closeWithGrace from 'close-with-grace'
import type { FastifyInstance } from 'fastify'
import { ConfigError, loadConfig } from '../config/index.js'
import { buildApp } from './app.js'
import type { PluginDescriptor } from './plugin.js'

/** Graceful shutdown must finish inside Railway's and Docker's 10 s stop window. */
const SHUTDOWN_DEADLINE_MS = 9000

/** A bad config is one line on stderr and exit code 1, never a stack trace. */
function exitOnConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    console.error(`helix: ${err.message}`)
    process.exit(1)
  }
  throw err
}

export async function start(manifest: readonly PluginDescriptor[]): Promise<FastifyInstance> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    exitOnConfigError(err)
  }
  const app = await buildApp(config, { plugins: manifest }).catch(exitOnConfigError)

  closeWithGrace({ delay: SHUTDOWN_DEADLINE_MS, logger: app.log }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
  })

  await app.listen({ port: config.port, host: config.host })
  app.log.info({ role: config.roles.join(','), url: config.publicUrl }, `Helix is listening on ${config.publicUrl}`)
  if (app.helix.ephemeralSecret && config.nodeEnv !== 'production') {
    const token = app.auth.sign({ sub: 'local-admin', scopes: ['admin'], ttlSeconds: 7 * 86400 })
    app.log.info(`No HELIX_JWT_SECRET: this boot made up its own secret. Open the dashboard as admin: ${config.publicUrl}/?token=${token}`)
  }
  return app
}
