// A redis-server and a PostgreSQL cluster of a test's own, on free loopback ports in a temp dir, that
// the fault tests may stop, kill and restart without touching the shared servers other files use.
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import pg from 'pg'
import { freePort } from './net.js'
import { waitFor } from './wait.js'

type Test = { teardown(fn: () => unknown): void }

const run = promisify(execFile)

export interface PrivateService {
  readonly port: number
  /** Starts it again on the same port (and, for PostgreSQL, the same data). */
  start(): Promise<void>
  /** A clean stop: Redis loses everything (no persistence), PostgreSQL checkpoints. */
  stop(): Promise<void>
  /** A crash: SIGKILL for Redis, an immediate shutdown (no checkpoint, recovery at start) for PostgreSQL. */
  kill(): Promise<void>
  /** kill() then start(): what an operator's restart of a wedged server looks like to clients. */
  restart(): Promise<void>
}

export interface PrivateRedisServer extends PrivateService {
  readonly url: string
}

/** A redis-server without persistence (`--save "" --appendonly no`), so each start is an empty Redis. */
export async function startPrivateRedis(t: Test): Promise<PrivateRedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'helix-redis-'))
  let child: ChildProcess | null = null

  async function end(signal: NodeJS.Signals): Promise<void> {
    const c = child
    child = null
    if (!c || c.exitCode !== null || c.signalCode !== null) return
    await new Promise((resolve) => {
      c.once('exit', resolve)
      c.kill(signal)
    })
  }

  const server: PrivateRedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child) return
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' })
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
      probe.on('error', () => {})
      try {
        await waitFor(async () => {
          await probe.connect().catch(() => {})
          return (await probe.ping()) === 'PONG'
        }, `redis-server on ${port}`, 10_000, 20)
      } finally {
        probe.disconnect()
      }
    },
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGKILL')
      await server.start()
    }
  }
  t.teardown(async () => {
    await end('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  })
  await server.start()
  return server
}

export interface PrivatePostgresCluster extends PrivateService {
  /** A URL of database `name` on this cluster (user postgres, trust auth). */
  url(name?: string): string
  /** Creates a database and returns its URL. */
  createDatabase(name: string): Promise<string>
  /** The server's log, for a failure message. */
  logPath: string
}

/** The newest installed PostgreSQL's bin directory (Debian layout). */
function postgresBin(): string {
  const base = '/usr/lib/postgresql'
  const versions = existsSync(base) ? readdirSync(base).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : []
  if (versions.length === 0) throw new Error('no PostgreSQL server under /usr/lib/postgresql (apt-get install postgresql)')
  return path.join(base, versions[0], 'bin')
}

/**
 * The server binaries refuse to run as root: as root (this machine's CI) they run as the `postgres`
 * user through runuser, in a temp dir that user owns.
 */
function asPostgres(command: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]
}

/**
 * A PostgreSQL cluster made by initdb in a temp dir (trust auth), listening on 127.0.0.1 and a socket
 * in the same dir. fsync is off (a crash of the server, not of the machine, loses nothing with it),
 * but synchronous_commit stays on: without it a kill() loses commits it had acknowledged.
 */
export async function startPrivatePostgres(t: Test, options: { maxConnections?: number } = {}): Promise<PrivatePostgresCluster> {
  const bin = postgresBin()
  const port = await freePort()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'helix-pg-'))
  const data = path.join(dir, 'data')
  const logPath = path.join(dir, 'server.log')
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()))
  }
  const pgctl = (args: string[]) => {
    const [command, argv] = asPostgres(path.join(bin, 'pg_ctl'), ['-D', data, ...args])
    return run(command, argv, { timeout: 60_000 })
  }
  const [initCommand, initArgs] = asPostgres(path.join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--locale', 'C'])
  await run(initCommand, initArgs, { timeout: 60_000 })
  let running = false
  // Each Helix process opens up to three pools (core, orchestrator, zapier) of 8-10 connections.
  const serverOptions = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=${options.maxConnections ?? 200}`

  const cluster: PrivatePostgresCluster = {
    port,
    logPath,
    url: (name = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${name}`,
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: cluster.url() })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE "${name}"`)
      } finally {
        await client.end()
      }
      return cluster.url(name)
    },
    async start() {
      if (running) return
      await pgctl(['-l', logPath, '-w', '-t', '60', '-o', serverOptions, 'start'])
      running = true
    },
    async stop() {
      if (!running) return
      running = false
      await pgctl(['-m', 'fast', '-w', 'stop'])
    },
    async kill() {
      if (!running) return
      running = false
      await pgctl(['-m', 'immediate', '-w', 'stop'])
    },
    async restart() {
      await cluster.kill()
      await cluster.start()
    }
  }
  t.teardown(async () => {
    await cluster.kill().catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  })
  await cluster.start()
  return cluster
}
