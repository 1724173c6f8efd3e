// The real Unleash server (the npm package unleash-server, pinned) for tests and bench:flip. It is
// installed into a cache on first use, so `npm install` stays light, and runs in a child process on a
// database of its own, cloned from a template migrated once; the helix.* flags are created through
// its admin API and flipped the same way.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { projectRoot } from '../../core/paths.js'
import { FLAGS } from '../../flags/names.js'
import { baseDatabaseUrl } from './db.js'
import { freePort } from './net.js'
import { stopChild } from './process.js'

type Test = { teardown(fn: () => unknown): void }

export const UNLEASH_VERSION = '8.2.0'
/** The environment the client token reads and set() flips: enabled in the default project. */
export const UNLEASH_ENVIRONMENT = 'development'
const PROJECT = 'default'
const TEMPLATE_DB = `helix_unleash_tpl_${UNLEASH_VERSION.replaceAll('.', '_')}`
/** Set on the template once its migrations completed: a template without it is dropped and redone. */
const TEMPLATE_MARK = `helix: unleash-server ${UNLEASH_VERSION} migrated`
const RUNNER = path.join(projectRoot, 'test/helpers/unleash-runner.mjs')
const INSTALL_TIMEOUT_MS = 300_000
const MIGRATE_TIMEOUT_MS = 180_000
const START_TIMEOUT_MS = 90_000

export interface RealUnleash {
  /** The API URL to give UNLEASH_URL. */
  url: string
  /** A backend (client) token for UNLEASH_API_TOKEN, reading the `development` environment. */
  clientToken: string
  adminToken: string
  /** Turns a feature on or off in the client token's environment, through the admin API. */
  set(name: string, enabled: boolean): Promise<void>
  /** Stops the server and drops its database (also done at teardown). */
  stop(): Promise<void>
}

export interface UnleashServerOptions {
  /** Flags to turn on (or explicitly off) at start; every other created flag starts off. */
  initial?: Record<string, boolean>
  /** Which flags to create; every helix.* flag by default. A flag not created is one Unleash does not define. */
  flags?: readonly string[]
}

/** `$HELIX_TEST_CACHE` (or `${XDG_CACHE_HOME:-~/.cache}/helix`) / unleash-server-<version>. */
export function unleashCacheDir(): string {
  const base = process.env.HELIX_TEST_CACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'helix')
  return path.join(base, `unleash-server-${UNLEASH_VERSION}`)
}

/** The runner's settings travel in its environment: they hold tokens and maybe a database password. */
function runnerEnv(settings: object): NodeJS.ProcessEnv {
  // unleash-server prefers DATABASE_URL to the database it is given, and reports telemetry unless told not to.
  const { DATABASE_URL: _ignored, PORT: _port, ...env } = process.env
  return { ...env, SEND_TELEMETRY: 'false', SCARF_ANALYTICS: 'false', DO_NOT_TRACK: '1', HELIX_UNLEASH_RUNNER: JSON.stringify(settings) }
}

/** Runs the runner to completion under a time bound; rejects with its last output lines. */
function runToEnd(command: string, args: string[], settings: object, timeoutMs: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { env: runnerEnv(settings), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`${what} failed (${err.killed ? `no end within ${timeoutMs} ms` : `exit code ${err.code}`}):\n${lastLines(stderr)}`))
      else resolve()
    }).stderr?.on('data', (d: Buffer) => {
      // The "installing ... (first use)" line is for the person waiting on the run.
      if (d.toString().startsWith('installing ')) process.stderr.write(d)
    })
  })
}

function lastLines(text: string, n = 20): string {
  return text.trimEnd().split('\n').slice(-n).join('\n')
}

let installed: Promise<string> | undefined

/** Installs the pinned package once per machine; flock serialises the parallel tap processes. */
function ensureInstalled(): Promise<string> {
  installed ??= (async () => {
    const dir = unleashCacheDir()
    if (existsSync(path.join(dir, '.helix-installed'))) return dir
    mkdirSync(dir, { recursive: true })
    await runToEnd('flock', [`${dir}.lock`, process.execPath, RUNNER, 'install'], { dir, version: UNLEASH_VERSION }, INSTALL_TIMEOUT_MS, `installing unleash-server ${UNLEASH_VERSION}`)
    return dir
  })()
  return installed
}

interface DbSettings { host: string; port: number; user: string; password?: string; database: string }

function dbSettings(database: string): DbSettings {
  const url = new URL(baseDatabaseUrl)
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    database
  }
}

/**
 * A fresh database for one server: a clone of the migrated template. Measured on the 2-core CI
 * machine: migrating takes about 30 s, a clone under a second, and starting a server on the clone
 * 10 to 13 s (half of it loading unleash-server's modules). One server shared by the run would save
 * that start, but the flag names are fixed (helix.voice.dedicated), so test files running in parallel
 * would flip each other's flags; a server per helper call on its own clone keeps them apart.
 */
async function cloneDatabase(dir: string): Promise<string> {
  const admin = new pg.Client({ connectionString: baseDatabaseUrl })
  await admin.connect()
  try {
    // Session-level: the lock goes with the connection if this process dies mid-migration.
    await admin.query('SELECT pg_advisory_lock(hashtext($1))', [TEMPLATE_DB])
    const { rows } = await admin.query<{ mark: string | null }>("SELECT shobj_description(oid, 'pg_database') AS mark FROM pg_database WHERE datname = $1", [TEMPLATE_DB])
    if (rows[0]?.mark !== TEMPLATE_MARK) {
      process.stderr.write(`migrating the unleash-server ${UNLEASH_VERSION} template database ${TEMPLATE_DB} (first use, about 30 s)\n`)
      await admin.query(`DROP DATABASE IF EXISTS "${TEMPLATE_DB}" WITH (FORCE)`)
      await admin.query(`CREATE DATABASE "${TEMPLATE_DB}"`)
      await runToEnd(process.execPath, [RUNNER, 'migrate'], { dir, db: dbSettings(TEMPLATE_DB) }, MIGRATE_TIMEOUT_MS, `migrating ${TEMPLATE_DB}`)
      await admin.query(`COMMENT ON DATABASE "${TEMPLATE_DB}" IS '${TEMPLATE_MARK}'`)
    }
    const name = `helix_unleash_${randomBytes(5).toString('hex')}`
    await admin.query(`CREATE DATABASE "${name}" TEMPLATE "${TEMPLATE_DB}"`)
    return name
  } finally {
    await admin.end()
  }
}

async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: baseDatabaseUrl })
  await admin.connect()
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)
  } finally {
    await admin.end()
  }
}

/** Waits for /health while the child lives; a bounded wait that fails with the child's last words. */
async function waitHealthy(base: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break
    try {
      const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(2000) })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const why = child.exitCode !== null || child.signalCode !== null ? `exited (${child.exitCode ?? child.signalCode})` : `was not healthy within ${START_TIMEOUT_MS} ms`
  throw new Error(`unleash-server ${UNLEASH_VERSION} on ${base} ${why}:\n${lastLines(output())}`)
}

/** A small client of the admin API that fails loudly with the server's answer. */
function adminApi(base: string, token: string) {
  return async function call(method: 'POST' | 'GET', route: string, body?: unknown): Promise<unknown> {
    const res = await fetch(`${base}/api/admin${route}`, {
      method,
      headers: { authorization: token, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    const text = await res.text()
    if (!res.ok) throw new Error(`Unleash admin API ${method} ${route} answered ${res.status}: ${text}`)
    return text ? JSON.parse(text) : null
  }
}

export async function unleashServer(t: Test, options: UnleashServerOptions = {}): Promise<RealUnleash> {
  const dir = await ensureInstalled()
  const database = await cloneDatabase(dir)
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const adminToken = `*:*.${randomBytes(16).toString('hex')}`
  const clientToken = `${PROJECT}:${UNLEASH_ENVIRONMENT}.${randomBytes(16).toString('hex')}`
  const settings = { dir, db: dbSettings(database), port, adminToken, clientToken, environment: UNLEASH_ENVIRONMENT }
  const child = spawn(process.execPath, [RUNNER, 'serve'], { env: runnerEnv(settings), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-64 * 1024))
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)

  let stopped: Promise<void> | undefined
  const stop = () => (stopped ??= stopChild(child).then(() => dropDatabase(database)))
  t.teardown(stop)
  await waitHealthy(base, child, () => out)

  const admin = adminApi(base, adminToken)
  const feature = (name: string) => `/projects/${PROJECT}/features/${encodeURIComponent(name)}`
  const set = async (name: string, enabled: boolean) => {
    await admin('POST', `${feature(name)}/environments/${UNLEASH_ENVIRONMENT}/${enabled ? 'on' : 'off'}`)
  }
  const names = options.flags ?? Object.keys(FLAGS)
  for (const name of names) {
    await admin('POST', `/projects/${PROJECT}/features`, { name, type: 'kill-switch', description: 'created by the Helix tests' })
    await admin('POST', `${feature(name)}/environments/${UNLEASH_ENVIRONMENT}/strategies`, { name: 'default', parameters: {}, constraints: [] })
    if (options.initial?.[name]) await set(name, true)
  }
  return { url: `${base}/api`, clientToken, adminToken, set, stop }
}
