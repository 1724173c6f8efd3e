// `npm run bench:orchestrator`: against compiled orchestrator processes (dist/core/main.js) on
// PostgreSQL and Redis: commands accepted per second and the p99 of POST .../commands (autocannon);
// STATUS commands executed per second end to end with one and with two processes; UCF updates per second.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHmac } from 'node:crypto'
import path from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { pino } from 'pino'
import { projectRoot } from '../core/paths.js'
import { createDatabase } from '../core/db/index.js'
import { MemoryBus } from '../core/bus/memory-bus.js'
import { AlertService } from '../plugins/orchestrator/alert-service.js'
import { Sql } from '../plugins/orchestrator/sql.js'
import { UcfService } from '../plugins/orchestrator/ucf-service.js'
import { createTestDatabase } from '../test/helpers/db.js'
import { freePort } from '../test/helpers/net.js'
import { redisPrefix } from '../test/helpers/redis.js'
import { printTable } from './table.js'

const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef'
const AGENTS = ['kael', 'lumina', 'vega', 'gemini', 'agni', 'kavach', 'sanghacore', 'shadow', 'echo', 'phoenix', 'oracle', 'claude', 'manus', 'discordbridge']
const ACCEPT_SECONDS = 10
const STEADY_RATE = Number(process.env.BENCH_STEADY_RATE ?? 500)
const EXECUTE_COMMANDS = 6000
const UCF_UPDATES = 2000
const teardowns: (() => unknown)[] = []
const scope = { teardown: (fn: () => unknown) => void teardowns.push(fn) }
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

interface Server {
  url: string
  child: ChildProcess
}

async function startServer(databaseUrl: string, prefix: string): Promise<Server> {
  const port = await freePort()
  // BENCH_CPU_PROF=<dir> writes each server's CPU profile there when it exits.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []
  const child = spawn(process.execPath, [...profile, path.join(projectRoot, 'dist/core/main.js')], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      HELIX_JWT_SECRET: SECRET,
      HELIX_ROLE: 'orchestrator',
      HELIX_FLAG_HELIX_ORCHESTRATOR_DEDICATED: 'on',
      // The bench measures throughput, not the per-subject limit.
      HELIX_RATE_WRITE: '10000000',
      REDIS_URL: redisUrl,
      HELIX_REDIS_PREFIX: prefix,
      DATABASE_URL: databaseUrl
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  teardowns.push(() => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(undefined)
    child.once('exit', resolve)
    child.kill('SIGTERM')
  }))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`helix exited with ${child.exitCode}`)
    try {
      if ((await fetch(`${url}/health/ready`)).status === 200) return { url, child }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('helix did not become ready')
}

/** An HS256 access token for the servers' secret, minted here so the bench needs no app of its own. */
function token(): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub: 'bench', scope: 'agents:read agents:write', exp: Math.floor(Date.now() / 1000) + 3600 })}`
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`
}

function requests(count = AGENTS.length) {
  return Array.from({ length: count }, (_, i) => ({
    method: 'POST' as const,
    path: `/api/agents/${AGENTS[i % AGENTS.length]}/commands`,
    headers: { authorization: `Bearer ${token()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ command: 'STATUS' })
  }))
}

async function drained(db: pg.Client): Promise<void> {
  for (;;) {
    const { rows } = await db.query(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status IN ('queued', 'running')`)
    if (Number(rows[0].n) === 0) return
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Executed per second: commands finished between the first start and the last finish, from the rows. */
async function executionRate(db: pg.Client, since: number): Promise<{ rate: number; count: number }> {
  const { rows } = await db.query(
    `SELECT COUNT(*) AS n, MIN(started_at) AS first, MAX(finished_at) AS last FROM orchestrator_commands WHERE seq > $1 AND status = 'succeeded'`,
    [since]
  )
  const n = Number(rows[0].n)
  return { count: n, rate: n / ((Number(rows[0].last) - Number(rows[0].first)) / 1000) }
}

async function maxSeq(db: pg.Client): Promise<number> {
  return Number((await db.query('SELECT COALESCE(MAX(seq), 0) AS m FROM orchestrator_commands')).rows[0].m)
}

/** Accepts EXECUTE_COMMANDS commands quickly (spread over the servers), then measures their execution. */
async function execute(servers: Server[], db: pg.Client): Promise<{ rate: number; count: number }> {
  await drained(db)
  const since = await maxSeq(db)
  await Promise.all(servers.map((s) => autocannon({ url: s.url, connections: 32, amount: Math.floor(EXECUTE_COMMANDS / servers.length), requests: requests() })))
  await drained(db)
  return executionRate(db, since)
}

const rows: (string | number)[][] = []
try {
  const databaseUrl = await createTestDatabase(scope, 'bench_orch')
  // Its own key prefix, deleted at the end like a test's.
  const prefix = redisPrefix(scope, 'bench-orch')
  const one = await startServer(databaseUrl, prefix)
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  teardowns.push(() => db.end())

  const accepted = await autocannon({ url: one.url, connections: 32, duration: ACCEPT_SECONDS, requests: requests() })
  const ok = accepted['2xx']
  rows.push(['POST /api/agents/:slug/commands accepted (1 process, executing too)', `${Math.round(ok / ACCEPT_SECONDS)}/s`, '>= 2000/s'])
  rows.push(['POST .../commands latency p99 at saturation', `${accepted.latency.p99} ms`, '< 20 ms'])
  // Latency at a steady load the process sustains, rather than queueing at saturation.
  await drained(db)
  const steady = await autocannon({ url: one.url, connections: 16, duration: ACCEPT_SECONDS, overallRate: STEADY_RATE, requests: requests() })
  rows.push([`POST .../commands latency p50 / p99 at a steady ${STEADY_RATE}/s`, `${steady.latency.p50} / ${steady.latency.p99} ms`, '< 20 ms'])
  rows.push(['POST .../commands non-2xx responses', accepted.non2xx + accepted.errors + steady.non2xx + steady.errors, '0'])

  const single = await execute([one], db)
  rows.push([`STATUS executed end to end, 1 process (${single.count})`, `${Math.round(single.rate)}/s`, '>= 1000/s'])
  // A second replica of the same deployment: the orchestrator's workers run in every replica.
  const two = await startServer(databaseUrl, prefix)
  const double = await execute([one, two], db)
  rows.push([`STATUS executed end to end, 2 executing processes (${double.count})`, `${Math.round(double.rate)}/s`, '>= 1000/s'])

  const log = pino({ level: 'silent' })
  const database = createDatabase({ databaseUrl, dataDir: projectRoot, log })
  teardowns.push(() => database.close())
  const sql = new Sql(database.sequelize, databaseUrl)
  teardowns.push(() => sql.close())
  const bus = new MemoryBus({ historyLen: 10, source: 'bench', log })
  const ucf = new UcfService(sql, bus, new AlertService(sql, bus))
  const started = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next++ < UCF_UPDATES) await ucf.apply({ resilience: 0.001 }, 'bench')
  }))
  rows.push([`UCF updates (atomic, with history; 16 concurrent writers)`, `${Math.round(UCF_UPDATES / ((performance.now() - started) / 1000))}/s`, '-'])

  printTable('Orchestrator (PostgreSQL + Redis, compiled server processes)', ['measure', 'result', 'target'], rows)
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
