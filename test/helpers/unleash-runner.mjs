// The child process behind test/helpers/unleash-server.ts: installs the pinned unleash-server into the
// test cache, migrates a database, or serves one. Plain ESM so it runs without the TypeScript loader,
// from the sources and from dist/ alike. Usage: node unleash-runner.mjs install|migrate|serve, with its
// settings as JSON in HELIX_UNLEASH_RUNNER (the environment, not argv: it holds tokens and passwords).
import { spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import process from 'node:process'
import { setInterval } from 'node:timers'
import { pathToFileURL } from 'node:url'

const mode = process.argv[2]
const options = JSON.parse(process.env.HELIX_UNLEASH_RUNNER ?? '{}')

function fail(message) {
  process.stderr.write(`unleash-runner: ${message}\n`)
  process.exit(1)
}

/** unleash-server has no default export; its entry point is the package's `exports`. */
async function loadUnleash(dir) {
  const entry = path.join(dir, 'node_modules/unleash-server/dist/lib/server-impl.js')
  if (!existsSync(entry)) fail(`unleash-server is not installed in ${dir}`)
  return import(pathToFileURL(entry).href)
}

/** Runs npm with this Node first on PATH, so npm's `#!/usr/bin/env node` is Node 22 too. Called under a flock. */
async function install() {
  const marker = path.join(options.dir, '.helix-installed')
  if (existsSync(marker)) return
  process.stderr.write(`installing unleash-server ${options.version} into ${options.dir} (first use)\n`)
  const { HELIX_UNLEASH_RUNNER: _settings, ...inherited } = process.env
  const env = { ...inherited, PATH: `${path.dirname(process.execPath)}${path.delimiter}${inherited.PATH ?? ''}` }
  const args = ['install', '--prefix', options.dir, '--no-audit', '--no-fund', '--no-save', '--loglevel=error', `unleash-server@${options.version}`]
  const code = await new Promise((resolve) => spawn('npm', args, { env, stdio: ['ignore', 'inherit', 'inherit'] }).once('exit', resolve))
  if (code !== 0) fail(`npm install unleash-server@${options.version} exited with ${code}`)
  // Written last: a half-finished install (killed, no network) is tried again by the next run.
  writeFileSync(marker, `${options.version}\n`)
}

/** migrateDb wants the full database config (driver, schema, pool) that createConfig completes. */
async function migrate() {
  const unleash = await loadUnleash(options.dir)
  const { createConfig } = await import(pathToFileURL(path.join(options.dir, 'node_modules/unleash-server/dist/lib/create-config.js')).href)
  await unleash.migrateDb(createConfig({ db: { ...options.db, ssl: false }, logLevel: unleash.LogLevel.error }))
}

async function serve() {
  const unleash = await loadUnleash(options.dir)
  const instance = await unleash.start({
    db: { ...options.db, ssl: false, disableMigration: true, pool: { min: 0, max: 4 } },
    server: { host: '127.0.0.1', port: options.port, gracefulShutdownEnable: false, enableRequestLogger: false },
    logLevel: unleash.LogLevel.warn,
    versionCheck: { enable: false },
    telemetry: false,
    authentication: {
      initApiTokens: [
        { tokenName: 'helix-admin', type: unleash.ApiTokenType.ADMIN, environment: '*', projects: ['*'], secret: options.adminToken },
        { tokenName: 'helix-client', type: unleash.ApiTokenType.BACKEND, environment: options.environment, projects: ['default'], secret: options.clientToken }
      ]
    }
  })
  let stopping
  const stop = () => (stopping ??= instance.stop().then(() => process.exit(0), () => process.exit(1)))
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  // A test process killed by tap's timeout runs no teardown: the server must not outlive it.
  const parent = process.ppid
  setInterval(() => process.ppid !== parent && stop(), 1000).unref()
}

const modes = { install, migrate, serve }
if (!modes[mode]) fail(`unknown mode ${mode}: install, migrate or serve`)
try {
  await modes[mode]()
} catch (err) {
  fail(err?.stack ?? String(err))
}
if (mode !== 'serve') process.exit(0)
