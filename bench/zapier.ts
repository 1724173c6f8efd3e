// `npm run bench:zapier`: against a compiled Zapier process (dist/core/main.js) on PostgreSQL and
// Redis: signed 1 KB webhooks verified and committed per second beside a bare Fastify route that does
// nothing (the ceiling), p50/p99 at a steady 1,000/s, and outbound deliveries per second to local receivers.
import { spawn } from 'node:child_process'
import { createHmac, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import autocannon from 'autocannon'
import pg from 'pg'
import { projectRoot } from '../core/paths.js'
import { createTestDatabase } from '../test/helpers/db.js'
import { freePort } from '../test/helpers/net.js'
import { redisPrefix } from '../test/helpers/redis.js'
import { printTable } from './table.js'

const SECRET = 'bench-secret-0123456789abcdef0123456789abcdef'
const KEY = Buffer.alloc(24, 42)
const SOURCES = JSON.stringify({ bench: { scheme: 'standard', secrets: [`whsec_${KEY.toString('base64')}`] } })
const SECONDS = 10
/** Concurrent connections of the saturation runs (BENCH_CONNECTIONS). */
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100)
const DELIVERIES = 5000
/** Targets are limited to 20 deliveries/s each: the receiver listens on this many ports (hosts). */
const RECEIVER_PORTS = 50
const teardowns: (() => unknown)[] = []
const scope = { teardown: (fn: () => unknown) => void teardowns.push(fn) }
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

async function ready(url: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (exited()) throw new Error(`the server at ${url} exited`)
    try {
      if ((await fetch(url)).status < 500) return
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${url} did not become ready`)
}

async function start(args: string[], env: Record<string, string>, probe: string): Promise<string> {
  const port = await freePort()
  const child = spawn(process.execPath, args, { cwd: projectRoot, env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: String(port), ...env }, stdio: ['ignore', 'ignore', 'inherit'] })
  teardowns.push(() => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(undefined)
    child.once('exit', resolve)
    child.kill('SIGTERM')
  }))
  const url = `http://127.0.0.1:${port}`
  await ready(`${url}${probe}`, () => child.exitCode !== null)
  return url
}

function startHelix(databaseUrl: string, prefix: string): Promise<string> {
  // BENCH_CPU_PROF=<dir> writes the server's CPU profile there when it exits.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []
  return start([...profile, path.join(projectRoot, 'dist/core/main.js')], {
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    HELIX_JWT_SECRET: SECRET,
    HELIX_ROLE: 'zapier',
    HELIX_FLAG_HELIX_ZAPIER_DEDICATED: 'on',
    HELIX_FLAG_HELIX_ZAPIER_OUTBOUND: 'on',
    HELIX_RATE_WEBHOOK: '10000000',
    HELIX_OUTBOUND_ALLOW: '127.0.0.1',
    ZAPIER_SOURCES: SOURCES,
    REDIS_URL: redisUrl,
    HELIX_REDIS_PREFIX: prefix,
    DATABASE_URL: databaseUrl
  }, '/health/ready')
}

/** The ceiling: a bare Fastify route in its own process that reads the body and answers 202. */
function startBare(): Promise<string> {
  const script = `import Fastify from 'fastify'
const app = Fastify()
app.post('/hook', async (_req, reply) => reply.code(202).send({ status: 'queued' }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })`
  return start(['--input-type=module', '-e', script], {}, '/hook')
}

function token(scope: string): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
  const body = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc({ sub: 'bench', scope, exp: Math.floor(Date.now() / 1000) + 3600 })}`
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`
}

/** 1 KB event bodies, each request with a new webhook-id and its own signature. */
const body = JSON.stringify({ type: 'bench', data: { text: 'x'.repeat(1024 - 40) } })
const signedRequest = (requestPath: string): autocannon.Request => ({
  method: 'POST',
  path: requestPath,
  setupRequest: (req) => {
    const id = `msg_${randomUUID()}`
    const ts = Math.floor(Date.now() / 1000)
    const signature = createHmac('sha256', KEY).update(`${id}.${ts}.${body}`).digest('base64')
    return { ...req, body, headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${signature}` } }
  }
})

async function count(db: pg.Client, sql: string): Promise<number> {
  return Number((await db.query(sql)).rows[0].n)
}

async function receivers(): Promise<{ ports: number[]; hits: () => number }> {
  let hits = 0
  const servers: Server[] = []
  for (let i = 0; i < RECEIVER_PORTS; i++) {
    const server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        hits++
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    servers.push(server)
  }
  teardowns.push(() => Promise.all(servers.map((s) => new Promise((resolve) => {
    s.close(resolve)
    s.closeAllConnections()
  }))))
  return { ports: servers.map((s) => (s.address() as AddressInfo).port), hits: () => hits }
}

const rows: (string | number)[][] = []
try {
  const databaseUrl = await createTestDatabase(scope, 'bench_zapier')
  const helix = await startHelix(databaseUrl, redisPrefix(scope, 'bench-zapier'))
  const bare = await startBare()
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  teardowns.push(() => db.end())

  const ceiling = await autocannon({ url: bare, connections: CONNECTIONS, duration: SECONDS, requests: [signedRequest('/hook')] })
  const inbound = await autocannon({ url: helix, connections: CONNECTIONS, duration: SECONDS, requests: [signedRequest('/api/zapier/hooks/bench')] })
  const stored = await count(db, 'SELECT COUNT(*) AS n FROM zapier_events')
  const durable = Math.round(inbound['2xx'] / SECONDS)
  const bareRate = Math.round(ceiling['2xx'] / SECONDS)
  rows.push(['bare Fastify route, same signed 1 KB requests (the ceiling)', `${bareRate}/s`, '-'])
  rows.push(['signed 1 KB webhooks verified and committed (202)', `${durable}/s (${Math.round((durable / bareRate) * 100)} % of the bare route)`, '>= 2000/s'])
  rows.push(['rows stored for the 202 answers (requests cut off at the end stored a few more)', `${stored} for ${inbound['2xx']}`, '>= the 202s'])
  rows.push(['latency p99 at saturation', `${inbound.latency.p99} ms`, '-'])
  const steady = await autocannon({ url: helix, connections: 16, duration: SECONDS, overallRate: 1000, requests: [signedRequest('/api/zapier/hooks/bench')] })
  rows.push(['latency p50 / p99 at a steady 1,000/s', `${steady.latency.p50} / ${steady.latency.p99} ms`, 'p99 < 25 ms'])
  rows.push(['non-2xx responses', inbound.non2xx + inbound.errors + steady.non2xx + steady.errors, '0'])
  // The pipeline ran beside the load: how fast it took every stored event to `processed`.
  while ((await count(db, `SELECT COUNT(*) AS n FROM zapier_events WHERE status <> 'processed'`)) > 0) await new Promise((r) => setTimeout(r, 100))
  const { rows: [pipeline] } = await db.query(`SELECT COUNT(*) AS n, MIN(received_at) AS first, MAX(finished_at) AS last FROM zapier_events`)
  rows.push([`events processed by the pipeline, first received to last processed (${pipeline.n})`, `${Math.round(Number(pipeline.n) / ((Number(pipeline.last) - Number(pipeline.first)) / 1000))}/s`, '-'])

  // Outbound: a subscription per receiver port, then DELIVERIES rows due now, sent by the process.
  const admin = { authorization: `Bearer ${token('admin')}`, 'content-type': 'application/json' }
  const { key } = (await (await fetch(`${helix}/admin/apikeys`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'bench' }) })).json()) as { key: string }
  const target = await receivers()
  const subscriptions: string[] = []
  for (const port of target.ports) {
    const res = await fetch(`${helix}/api/zapier/subscriptions`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ target_url: `http://127.0.0.1:${port}/hook`, event: 'alert.raised' })
    })
    subscriptions.push(((await res.json()) as { id: string }).id)
  }
  const payload = JSON.stringify({ id: 'bench', event: 'alert.raised', ts: Date.now(), data: { message: 'bench alert', severity: 'high' } })
  const started = Date.now()
  await db.query(
    `INSERT INTO zapier_deliveries (id, subscription_id, event_key, event, payload, status, attempts, next_attempt_at, created_at)
     SELECT gen_random_uuid(), ($1::uuid[])[1 + (i % $2)], 'bench:' || i, 'alert.raised', $3, 'pending', 0, $4, $4 FROM generate_series(1, $5) AS i`,
    [subscriptions, subscriptions.length, payload, started, DELIVERIES]
  )
  while ((await count(db, `SELECT COUNT(*) AS n FROM zapier_deliveries WHERE status = 'delivered'`)) < DELIVERIES) await new Promise((r) => setTimeout(r, 50))
  const { rows: [span] } = await db.query(`SELECT MIN(at) AS first, MAX(at) AS last FROM zapier_delivery_attempts`)
  const seconds = (Number(span.last) - Number(span.first)) / 1000
  rows.push([`outbound deliveries, signed, to ${RECEIVER_PORTS} local targets (${DELIVERIES}; 20/s per target)`, `${Math.round(DELIVERIES / seconds)}/s`, '>= 500/s'])
  rows.push(['outbound attempts that failed', await count(db, `SELECT COUNT(*) AS n FROM zapier_delivery_attempts WHERE status_code IS NULL OR status_code >= 300`), '0'])

  printTable('Zapier (PostgreSQL + Redis, compiled server process)', ['measure', 'result', 'target'], rows)
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
