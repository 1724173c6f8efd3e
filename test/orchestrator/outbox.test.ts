// Every committed transition reaches the bus at least once (issue 10, finding 4): its events are
// stored in the transition's own commit (orchestrator_outbox), and what the process that made it could
// not publish (it was killed between commit and publish, or the bus was down) is published by the
// relay of a replica that owns the plugin. On PostgreSQL with Redis, and on the embedded SQLite.
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import pg from 'pg'
import { pino } from 'pino'
import type { BusEvent } from '../../core/bus/types.js'
import { createDatabase } from '../../core/db/index.js'
import { createOrchestratorPlugin, orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { bearer, build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { privateRedis, redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const PG_NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint'

type Published = Pick<BusEvent, 'type' | 'source' | 'data'>

/** Reads what reached the bus from the channels' history streams in Redis, which outlive a missed subscription. */
function busHistory(t: Parameters<typeof build>[0], url: string, prefix: string) {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 })
  redis.on('error', () => {})
  t.teardown(() => redis.disconnect())
  return async (channel: string): Promise<Published[]> => {
    const entries = await redis.xrange(`${prefix}hist:${channel}`, '-', '+')
    return entries.flatMap(([, fields]) => {
      const f = Object.fromEntries(fields.flatMap((v, i) => (i % 2 === 0 ? [[v, fields[i + 1]]] : [])))
      return f.t ? [{ type: JSON.parse(f.t), source: JSON.parse(f.s), data: JSON.parse(f.d) }] : []
    })
  }
}

const statusesOf = (events: Published[], id: string) =>
  events.filter((e) => e.type === 'command.updated' && (e.data as { id: string }).id === id).map((e) => (e.data as { status: string }).status)

t.test('a transition committed by a replica killed before it published reaches the bus from another replica', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'orch_outbox')
  const db = createDatabase({ databaseUrl, dataDir: '/nonexistent', log: pino({ level: 'silent' }) })
  await db.migrate(orchestratorPlugin.migrations ?? [])
  await db.close()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  t.teardown(() => client.end())

  // What a replica's finishing statement commits: the command's final state and, in the same
  // statement, its event in the outbox. Then the replica dies: nothing is published.
  const id = randomUUID()
  await client.query(
    `WITH c AS (
       INSERT INTO orchestrator_commands (id, agent_id, command, args, status, result, timeout_ms, attempts, created_at, started_at, finished_at)
       VALUES ($1, $2, 'STATUS', '{}', 'succeeded', '{"queued":0}', 30000, 1, ${PG_NOW}, ${PG_NOW}, ${PG_NOW}) RETURNING *
     )
     INSERT INTO orchestrator_outbox (channel, type, ref, data, created_at) SELECT 'commands', 'command.updated', c.id::text, to_jsonb(c), c.finished_at FROM c`,
    [id, randomUUID()]
  )

  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: databaseUrl }
  const published = busHistory(t, env.REDIS_URL, env.HELIX_REDIS_PREFIX)
  await build(t, env, { plugins: [createOrchestratorPlugin({ outboxGraceMs: 300 })] })
  const events = await waitFor(async () => {
    const all = await published('commands')
    return statusesOf(all, id).includes('succeeded') ? all : null
  }, 'the final command.updated to be published by the new replica')
  const event = events.find((e) => (e.data as { id: string }).id === id)!
  t.match(event.data, { id, command: 'STATUS', status: 'succeeded', result: { queued: 0 }, error: null, finishedAt: String }, 'in the API shape')
  await waitFor(async () => Number((await client.query('SELECT COUNT(*) AS n FROM orchestrator_outbox')).rows[0].n) === 0, 'the published row to be deleted')
})

t.test('a UCF change stored by a replica killed before it published reaches the bus in its event shape', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'orch_outbox_ucf')
  const db = createDatabase({ databaseUrl, dataDir: '/nonexistent', log: pino({ level: 'silent' }) })
  await db.migrate(orchestratorPlugin.migrations ?? [])
  await db.close()
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  t.teardown(() => client.end())

  // What UcfService.apply's one statement stores on PostgreSQL: the history row with its deltas.
  await client.query(
    `WITH h AS (
       INSERT INTO orchestrator_ucf_history (harmony, resilience, prana, drishti, klesha, zoom, version, cause, ref, at)
       VALUES (0.455, 1.1191, 0.5175, 0.5023, 0.01, 1.0228, 1, 'adjust', NULL, ${PG_NOW}) RETURNING *
     )
     INSERT INTO orchestrator_outbox (channel, type, ref, data, created_at)
     SELECT 'ucf', 'ucf.updated', h.id::text, to_jsonb(h) || jsonb_build_object('deltas', '{"harmony":0.1}'::jsonb), h.at FROM h`
  )

  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: databaseUrl }
  const published = busHistory(t, env.REDIS_URL, env.HELIX_REDIS_PREFIX)
  await build(t, env, { plugins: [createOrchestratorPlugin({ outboxGraceMs: 300 })] })
  const event = await waitFor(async () => (await published('ucf')).find((e) => e.type === 'ucf.updated'), 'the ucf.updated to be published by the new replica')
  t.match(event.data, {
    metrics: { harmony: 0.455, resilience: 1.1191, prana: 0.5175, drishti: 0.5023, klesha: 0.01, zoom: 1.0228 },
    phase: 'COHERENT',
    consciousnessLevel: Number,
    updatedAt: String,
    cause: 'adjust',
    deltas: { harmony: 0.1 }
  }, 'in the shape the process that made it would have published')
  t.notOk('version' in (event.data as object), 'not the stored row')
})

t.test('transitions whose publish failed while the bus was down are published once it is back', async (t) => {
  const redis = await privateRedis(t)
  const env = { REDIS_URL: redis.url, HELIX_REDIS_PREFIX: 'helix:', DATABASE_URL: await createTestDatabase(t, 'orch_outbox_down') }
  const app = await build(t, env, { plugins: [createOrchestratorPlugin({ outboxGraceMs: 300, pollMs: 200 })] })
  const published = busHistory(t, redis.url, env.HELIX_REDIS_PREFIX)
  const headers = bearer(app, ['agents:read', 'agents:write'])
  const before = await app.inject({ method: 'POST', url: '/api/agents/lumina/commands', payload: { command: 'STATUS' }, headers })
  t.equal(before.statusCode, 202)
  await waitFor(async () => statusesOf(await published('commands'), before.json().id).includes('succeeded'), 'a command to run with the bus up')

  await redis.stop()
  const accepted = await app.inject({ method: 'POST', url: '/api/agents/lumina/commands', payload: { command: 'MEMORY_APPEND', args: { content: 'during the outage' } }, headers })
  t.equal(accepted.statusCode, 202, 'accepted: stored in the database')
  const id = accepted.json().id
  await waitFor(async () => (await app.inject({ url: `/api/commands/${id}`, headers })).json().status === 'succeeded', 'the command to run while the bus is down')

  // Redis comes back empty (no persistence): only what is published from now on is in its history.
  await redis.start()
  await waitFor(async () => statusesOf(await published('commands'), id).includes('succeeded'), 'the final transition to reach the bus', 20_000)
  const statuses = statusesOf(await published('commands'), id)
  t.same([...new Set(statuses)].sort(), ['queued', 'running', 'succeeded'], 'every transition reached the bus')
  const agents = await published('agents')
  t.ok(agents.some((e) => e.type === 'agent.updated' && (e.data as { slug: string }).slug === 'lumina'), 'and the agent changes with them')
})

t.test('the embedded SQLite default drains its outbox in-process', async (t) => {
  const app = await build(t, {}, { plugins: [createOrchestratorPlugin({ outboxGraceMs: 200, pollMs: 100 })] })
  const seen: BusEvent[] = []
  await app.helix.kernel.bus.subscribe('commands', (e) => seen.push(e))
  const id = randomUUID()
  const row = { seq: 999_999, id, agent_id: randomUUID(), command: 'STATUS', args: '{}', status: 'cancelled', result: null, error: 'cancelled', created_at: 1, finished_at: 2 }
  await app.helix.kernel.db.sequelize.query(
    `INSERT INTO orchestrator_outbox (channel, type, ref, data, created_at) VALUES ('commands', 'command.updated', $1, $2, CAST(unixepoch('subsec') * 1000 AS INTEGER))`,
    { bind: [id, JSON.stringify(row)] }
  )
  const event = await waitFor(() => seen.find((e) => (e.data as { id: string }).id === id), 'the stored event to be published')
  t.match(event.data, { id, status: 'cancelled', error: 'cancelled', startedAt: null })
})
