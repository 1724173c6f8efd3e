// Never a 2xx for an event that was not stored, never a stored event lost: the store refusing writes
// (503 + Retry-After), `kill -9` between the 202 and the processing (another process finishes every
// event, once), Redis restarted empty during a burst (every 202'd event still processed), and
// PostgreSQL crashing right after events were processed (they stay processed).
import { randomUUID } from 'node:crypto'
import t from 'tap'
import pg from 'pg'
import { zapierPlugin } from '../../plugins/zapier/index.js'
import { bearer, build, signTestToken } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { startPrivatePostgres } from '../helpers/private-services.js'
import { startHelix } from '../helpers/process.js'
import { privateRedis, redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { postSigned, realEnv, SOURCES, standardHeaders } from './helpers.js'

async function query<R extends pg.QueryResultRow>(databaseUrl: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    return (await client.query<R>(sql)).rows
  } finally {
    await client.end()
  }
}

function processEnv(databaseUrl: string, redisUrl: string, prefix: string): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    HELIX_REDIS_PREFIX: prefix,
    HELIX_ROLE: 'zapier',
    HELIX_FLAG_HELIX_ZAPIER_DEDICATED: 'on',
    ZAPIER_SOURCES: SOURCES,
    ZAPIER_LEASE_MS: '1000',
    LOG_LEVEL: 'warn'
  }
}

async function post(url: string, n: number): Promise<{ status: number; eventId?: string }> {
  const body = JSON.stringify({ type: 'tally', data: { n } })
  try {
    const res = await fetch(`${url}/api/zapier/hooks/zap`, { method: 'POST', body, headers: standardHeaders(body) })
    const json = (await res.json()) as { eventId?: string }
    return { status: res.status, eventId: json.eventId }
  } catch {
    return { status: 0 }
  }
}

t.test('the store refusing writes: 503 with Retry-After, and nothing answered 2xx', async (t) => {
  const env = await realEnv(t, 'zap_store_down')
  const app = await build(t, env, { plugins: [zapierPlugin] })
  await query(env.DATABASE_URL!, 'ALTER TABLE zapier_events RENAME TO zapier_events_away')
  const down = await postSigned(app, { type: 'note', data: {} })
  t.equal(down.statusCode, 503)
  t.equal(down.json().error, 'unavailable')
  t.ok(Number(down.headers['retry-after']) >= 1, 'Retry-After')
  await query(env.DATABASE_URL!, 'ALTER TABLE zapier_events_away RENAME TO zapier_events')
  const back = await postSigned(app, { type: 'note', data: {} })
  t.equal(back.statusCode, 202)
  const events = (await app.inject({ url: '/api/zapier/events', headers: bearer(app, ['zapier']) })).json().items
  t.equal(events.length, 1, 'only the event answered 202 is stored')
})

t.test('kill -9 between the 202 and the processing: every 202 event is processed, once', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'zap_kill')
  const prefix = redisPrefix(t)
  const env = processEnv(databaseUrl, sharedRedisUrl, prefix)
  const first = await startHelix(t, { env })
  const results = await Promise.all(Array.from({ length: 300 }, (_, n) => post(first.url, n)))
  await first.kill('SIGKILL')
  const accepted = results.filter((r) => r.status === 202).map((r) => r.eventId!)
  t.equal(accepted.length, 300, 'every request answered 202 before the kill')
  const [{ n: left }] = await query<{ n: string }>(databaseUrl, `SELECT COUNT(*) AS n FROM zapier_events WHERE status <> 'processed'`)
  t.comment(`${left} of 300 events not yet processed at the kill`)

  const second = await startHelix(t, { env })
  await waitFor(async () => {
    const [{ n }] = await query<{ n: string }>(databaseUrl, `SELECT COUNT(*) AS n FROM zapier_events WHERE status = 'processed'`)
    return Number(n) === 300
  }, 'every event processed by the second process', 30_000)
  const rows = await query<{ id: string; status: string }>(databaseUrl, 'SELECT id, status FROM zapier_events')
  t.same(new Set(rows.map((r) => r.id)), new Set(accepted), 'exactly the accepted events, no more')
  const res = await fetch(`${second.url}/api/zapier/events?status=failed`, { headers: { authorization: `Bearer ${signTestToken(['zapier'])}` } })
  t.equal(((await res.json()) as { items: unknown[] }).items.length, 0, 'none failed')
})

t.test('Redis restarted empty during a burst: every 2xx event is stored and processed', async (t) => {
  const redis = await privateRedis(t)
  const databaseUrl = await createTestDatabase(t, 'zap_redis')
  const helix = await startHelix(t, { env: processEnv(databaseUrl, redis.url, `zap:${randomUUID().slice(0, 8)}:`) })
  const results: { status: number; eventId?: string }[] = []
  let n = 0
  const burst = (async () => {
    const until = Date.now() + 3000
    while (Date.now() < until) results.push(...(await Promise.all(Array.from({ length: 10 }, () => post(helix.url, n++)))))
  })()
  await new Promise((resolve) => setTimeout(resolve, 500))
  await redis.stop()
  await new Promise((resolve) => setTimeout(resolve, 700))
  await redis.start()
  await burst

  const accepted = results.filter((r) => r.status >= 200 && r.status < 300)
  const others = results.filter((r) => r.status < 200 || r.status >= 300)
  t.ok(accepted.length > 0, `${accepted.length} accepted, ${others.length} refused`)
  t.ok(others.every((r) => r.status === 503 || r.status === 0), 'a refusal is a 503 (or a dropped connection), never a 2xx')
  await waitFor(async () => {
    const rows = await query<{ id: string; status: string }>(databaseUrl, 'SELECT id, status FROM zapier_events')
    const processed = new Set(rows.filter((r) => r.status === 'processed').map((r) => r.id))
    return accepted.every((r) => processed.has(r.eventId!))
  }, 'every accepted event processed after the restart', 30_000)
  t.pass('every accepted event was processed')
})

t.test('PostgreSQL crashing just after events were processed: they stay processed', async (t) => {
  const cluster = await startPrivatePostgres(t)
  // The WAL writer writes asynchronous commits out every wal_writer_delay (200 ms by default): at 10 s, a
  // crash right after them loses those no later durable commit flushed, every time rather than now and then.
  await query(cluster.url(), `ALTER SYSTEM SET wal_writer_delay = '10s'`)
  await cluster.stop()
  await cluster.start()
  const databaseUrl = await cluster.createDatabase('zap_crash')
  const helix = await startHelix(t, { env: processEnv(databaseUrl, sharedRedisUrl, redisPrefix(t)) })
  const results = await Promise.all(Array.from({ length: 20 }, (_, n) => post(helix.url, n)))
  const accepted = results.filter((r) => r.status === 202).map((r) => `'${r.eventId!}'`)
  t.equal(accepted.length, 20, 'every request answered 202')
  const statuses = async () => {
    const rows = await query<{ status: string; n: string }>(databaseUrl, `SELECT status, COUNT(*) AS n FROM zapier_events WHERE id IN (${accepted.join(', ')}) GROUP BY status`)
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]))
  }
  await waitFor(async () => (await statuses()).processed === 20, 'every event processed before the crash')

  await cluster.kill()
  await cluster.start()
  // The pipeline acknowledged each event's queue entry once its end was recorded: that end must have survived.
  t.same(await statuses(), { processed: 20 }, 'every event acknowledged as processed is still processed after the crash')
})
