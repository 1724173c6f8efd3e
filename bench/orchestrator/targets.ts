// The two systems the orchestrator benchmark drives with the same load: Helix (compiled server
// processes, HELIX_ROLE=orchestrator) and the pg-boss reference (pgboss-server.ts). Each knows how to
// start a process on its database and how to read, from its tables, what it has executed.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type pg from 'pg'
import { projectRoot } from '../../core/paths.js'
import { CONTEXT_FRAME_FLAG } from '../../core/telemetry/index.js'
import { freePort } from '../../test/helpers/net.js'
import { otelEnv } from '../observability/otel-env.js'

export interface Server {
  url: string
  child: ChildProcess
  stop(): Promise<void>
}

export interface Target {
  name: string
  start(databaseUrl: string): Promise<Server>
  /** Commands not yet finished. */
  unfinished(db: pg.Client): Promise<number>
  /** A mark to count executions from (see executed). */
  mark(db: pg.Client): Promise<string>
  /** Commands finished since `mark`, and the rate between the first start and the last finish. */
  executed(db: pg.Client, mark: string): Promise<{ count: number; rate: number }>
}

const here = path.dirname(fileURLToPath(import.meta.url))

async function spawnServer(script: string, args: string[], env: Record<string, string>): Promise<Server> {
  const port = await freePort()
  // BENCH_CPU_PROF=<dir> writes each server's CPU profile there when it exits.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []
  const child = spawn(process.execPath, [...profile, ...args, script], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  const server: Server = {
    url: `http://127.0.0.1:${port}`,
    child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    }
  }
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${script} exited with ${child.exitCode}`)
    try {
      if ((await fetch(`${server.url}/health/ready`)).status === 200) return server
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  await server.stop()
  throw new Error(`${script} did not become ready`)
}

/** As the image starts Helix; BENCH_CONTEXT_FRAME=0 leaves the flag out, to measure what it changes. */
const nodeFlags = () => (process.env.BENCH_CONTEXT_FRAME === '0' ? [] : [CONTEXT_FRAME_FLAG])

export function helixTarget(secret: string, redisUrl: string, redisPrefix: string): Target {
  return {
    name: 'Helix',
    start: (databaseUrl) => spawnServer(path.join(projectRoot, 'dist/core/main.js'), nodeFlags(), {
      LOG_LEVEL: 'warn',
      HELIX_JWT_SECRET: secret,
      HELIX_ROLE: 'orchestrator',
      HELIX_FLAG_HELIX_ORCHESTRATOR_DEDICATED: 'on',
      // The bench measures throughput, not the per-subject limit.
      HELIX_RATE_WRITE: '10000000',
      REDIS_URL: redisUrl,
      HELIX_REDIS_PREFIX: redisPrefix,
      DATABASE_URL: databaseUrl,
      // bench:observability's tracing-on runs.
      ...otelEnv()
    }),
    async unfinished(db) {
      const { rows } = await db.query(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status IN ('queued', 'running')`)
      return Number(rows[0].n)
    },
    async mark(db) {
      return String((await db.query('SELECT COALESCE(MAX(seq), 0) AS m FROM orchestrator_commands')).rows[0].m)
    },
    async executed(db, mark) {
      const { rows } = await db.query(
        `SELECT COUNT(*) AS n, MIN(started_at) AS first, MAX(finished_at) AS last FROM orchestrator_commands WHERE seq > $1 AND status = 'succeeded'`,
        [mark]
      )
      const n = Number(rows[0].n)
      return { count: n, rate: n / ((Number(rows[0].last) - Number(rows[0].first)) / 1000) }
    }
  }
}

export function pgBossTarget(secret: string): Target {
  return {
    name: 'pg-boss reference',
    start: (databaseUrl) => spawnServer(path.join(here, 'pgboss-server.js'), [], { HELIX_JWT_SECRET: secret, DATABASE_URL: databaseUrl }),
    async unfinished(db) {
      const { rows } = await db.query(`SELECT COUNT(*) AS n FROM pgboss.job WHERE name = 'agent-commands' AND state IN ('created', 'retry', 'active')`)
      return Number(rows[0].n)
    },
    async mark(db) {
      return ((await db.query('SELECT clock_timestamp()::text AS t')).rows[0] as { t: string }).t
    },
    async executed(db, mark) {
      const { rows } = await db.query(
        `SELECT COUNT(*) AS n, EXTRACT(EPOCH FROM MAX(completed_on) - MIN(started_on)) AS seconds
         FROM pgboss.job WHERE name = 'agent-commands' AND state = 'completed' AND created_on > $1::timestamptz`,
        [mark]
      )
      const n = Number(rows[0].n)
      return { count: n, rate: n / Number(rows[0].seconds) }
    }
  }
}
