// Dependencies down (issue 10, finding 6), against real processes: after boot, a database or Redis
// outage answers 503 unavailable with Retry-After within 2 s (never a 500, never a hang), the
// process lives on, /health/ready says which part is down, and service resumes when it is back. At
// boot, a missing database, an unreachable Redis or an unusable HELIX_DATA_DIR stops the process
// with one line saying what and how to fix it, and exit code 1 (never a stack trace, never exit 13).
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { signTestToken, tempDir } from '../helpers/build.js'
import { baseDatabaseUrl, createTestDatabase } from '../helpers/db.js'
import { freePort } from '../helpers/net.js'
import { startHelix, type HelixProcess } from '../helpers/process.js'
import { privateRedis } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const token = signTestToken(['admin'])

async function timed(helix: HelixProcess, route: string, init: RequestInit = {}) {
  const startedAt = Date.now()
  const res = await fetch(`${helix.url}${route}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } })
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() as Record<string, unknown>, ms: Date.now() - startedAt }
}

async function admin<T>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: baseDatabaseUrl })
  await client.connect()
  try {
    return (await client.query(sql)).rows as T[]
  } finally {
    await client.end()
  }
}

t.test('PostgreSQL refusing connections: 503 unavailable with Retry-After within 2 s, then back to 200', async (t) => {
  const url = await createTestDatabase(t, 'outage')
  const name = new URL(url).pathname.slice(1)
  const helix = await startHelix(t, { env: { DATABASE_URL: url, HELIX_DATA_DIR: tempDir(t) } })
  t.equal((await timed(helix, '/api/agents')).status, 200)

  await admin(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`)
  t.teardown(() => admin(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`))
  await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`)
  for (let i = 0; i < 3; i++) {
    const res = await timed(helix, '/api/agents')
    t.equal(res.status, 503, `request ${i + 1}: ${JSON.stringify(res.body)}`)
    t.match(res.body, { error: 'unavailable', message: /database is unavailable/ })
    t.ok(Number(res.retryAfter) > 0, 'Retry-After')
    t.ok(res.ms < 2000, `answered in ${res.ms} ms`)
  }
  const ready = await timed(helix, '/health/ready')
  t.equal(ready.status, 503)
  t.match(ready.body, { status: 'unavailable', checks: { database: 'unavailable', bus: 'ok', flags: 'ok' } }, 'ready names the database')
  t.ok(ready.ms < 2000, `ready answered in ${ready.ms} ms`)

  await admin(`ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`)
  await waitFor(async () => (await timed(helix, '/api/agents')).status === 200, 'agents to be served again')
  t.equal((await timed(helix, '/health/ready')).status, 200)
  t.notMatch(helix.output(), /"statusCode":500|internal_error/, 'no 500 was answered')
  t.equal(helix.child.exitCode, null, 'the process lived through it')
})

t.test('Redis down after boot: publishes answer 503 unavailable with Retry-After within 2 s; the process lives on', async (t) => {
  const redis = await privateRedis(t)
  const helix = await startHelix(t, { env: { REDIS_URL: redis.url, HELIX_DATA_DIR: tempDir(t) } })
  const publish = () => timed(helix, '/api/stream/publish', { method: 'POST', body: JSON.stringify({ channel: 'ucf', type: 'chat.message', data: { n: 1 } }) })
  t.equal((await publish()).status, 200)

  await redis.stop()
  for (let i = 0; i < 3; i++) {
    const res = await publish()
    t.equal(res.status, 503, `publish ${i + 1}: ${JSON.stringify(res.body)}`)
    t.match(res.body, { error: 'unavailable', message: String })
    t.ok(Number(res.retryAfter) > 0, 'Retry-After')
    t.ok(res.ms < 2000, `answered in ${res.ms} ms`)
  }
  const ready = await waitFor(async () => {
    const res = await timed(helix, '/health/ready')
    return res.status === 503 ? res : null
  }, 'ready to say the bus is down')
  t.match(ready.body, { checks: { bus: 'unavailable', database: 'ok' } })
  t.equal((await fetch(`${helix.url}/health/live`)).status, 200, 'alive')

  await redis.start()
  await waitFor(async () => (await publish()).status === 200, 'publishes to succeed again')
  t.notMatch(helix.output(), /internal_error/, 'no 500 was answered')
  t.equal(helix.child.exitCode, null, 'the process lived through it')
})

t.test('boot without its dependencies: one line saying what and how to fix it, exit code 1', async (t) => {
  const closedPort = await freePort()
  const fileInTheWay = path.join(tempDir(t), 'a-file')
  writeFileSync(fileInTheWay, '')
  const sqliteIsADirectory = tempDir(t)
  mkdirSync(path.join(sqliteIsADirectory, 'helix.sqlite'))
  const notADatabase = tempDir(t)
  writeFileSync(path.join(notADatabase, 'helix.sqlite'), 'this is not SQLite '.repeat(200))
  const cases: [string, Record<string, string>, RegExp][] = [
    ['PostgreSQL not listening', { DATABASE_URL: `postgres://postgres:hunter2@127.0.0.1:${closedPort}/helix` },
      /^helix: Cannot reach PostgreSQL at DATABASE_URL=postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:\d+\/helix \(ECONNREFUSED\) within 3 s: start PostgreSQL there or point DATABASE_URL at a running server$/],
    ['a database that does not exist', { DATABASE_URL: `${baseDatabaseUrl.replace(/\/[^/]*$/, '')}/helix_missing_db` }, /^helix: The database "helix_missing_db" does not exist on .*: create it \(createdb helix_missing_db\) or fix DATABASE_URL/],
    ['Redis not listening', { REDIS_URL: `redis://127.0.0.1:${closedPort}` }, /^helix: Cannot reach Redis at REDIS_URL=redis:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\) within 3 s: start Redis there or point REDIS_URL at a running server$/],
    ['HELIX_DATA_DIR under a file', { HELIX_DATA_DIR: path.join(fileInTheWay, 'data') }, /^helix: HELIX_DATA_DIR=.*a-file\/data is not a writable directory \(ENOTDIR .*\): point HELIX_DATA_DIR at a directory this user can write/],
    ['helix.sqlite is a directory', { HELIX_DATA_DIR: sqliteIsADirectory }, /^helix: .*helix\.sqlite is not a file: remove it or point HELIX_DATA_DIR elsewhere$/],
    ['helix.sqlite is not a database', { HELIX_DATA_DIR: notADatabase }, /^helix: The SQLite database helix\.sqlite in HELIX_DATA_DIR=.* cannot be used \(SQLITE_NOTADB/]
  ]
  for (const [name, env, line] of cases) {
    const helix = await startHelix(t, { env: { HELIX_DATA_DIR: tempDir(t), LOG_LEVEL: 'silent', ...env }, waitFor: 'none' })
    const startedAt = Date.now()
    const exit = await helix.exited
    t.same(exit, { code: 1, signal: null }, `${name}: exit code 1`)
    const output = helix.output().trimEnd()
    t.equal(output.split('\n').length, 1, `${name}: one line: ${output}`)
    t.match(output, line, name)
    t.notMatch(output, /hunter2/, `${name}: no password shown`)
    t.ok(Date.now() - startedAt < 10_000, `${name}: gave up within the bounded wait`)
  }
})

t.test('a boot that waits on something that will never answer ends in one line, not exit 13', async (t) => {
  const helix = await startHelix(t, { entry: 'test/fixtures/stalled-boot-server.ts', env: { HELIX_DATA_DIR: tempDir(t), LOG_LEVEL: 'silent' }, waitFor: 'none' })
  t.same(await helix.exited, { code: 1, signal: null })
  t.match(helix.output(), /^helix: Boot stalled: it was waiting on something that will never answer .*\n$/)
  t.notMatch(helix.output(), /unsettled top-level await/)
})
