// The process entry: parse config, build the app, listen, and shut down gracefully on SIGTERM.
import closeWithGrace from 'close-with-grace'
import { ConfigError, loadConfig, type Config } from '../config/index.js'
import { manifest } from '../plugins/index.js'
import { buildApp } from './app.js'

/** Graceful shutdown must finish inside Railway's and Docker's 10 s stop window. */
const SHUTDOWN_DEADLINE_MS = 9000

function configOrExit(): Config {
  try {
    return loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`helix: ${err.message}`)
      process.exit(1)
    }
    throw err
  }
}

const config = configOrExit()
const app = await buildApp(config, { plugins: manifest }).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(`helix: ${err.message}`)
    process.exit(1)
  }
  throw err
})

closeWithGrace({ delay: SHUTDOWN_DEADLINE_MS, logger: app.log }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after an error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
})

await app.listen({ port: config.port, host: config.host })
const { ephemeralSecret } = app.helix
app.log.info({ role: config.roles.join(','), url: config.publicUrl }, `Helix is listening on ${config.publicUrl}`)
if (ephemeralSecret && config.nodeEnv !== 'production') {
  const token = app.auth.sign({ sub: 'local-admin', scopes: ['admin'], ttlSeconds: 7 * 86400 })
  app.log.info(`No HELIX_JWT_SECRET: using a secret made up for this boot. Open the dashboard as admin: ${config.publicUrl}/?token=${token}`)
}
