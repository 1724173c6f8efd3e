// Idempotency-Key is scoped to the caller and the route (issue 10, finding 3): another caller's key
// never returns someone else's command, the same key with another body is 422, a replay is marked,
// and a key lives 24 h. On PostgreSQL and Redis, and on the embedded SQLite.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const plugins = [orchestratorPlugin]

/** Requests as one subject: a user's own token, or a service token acting on a user's behalf. */
function as(app: FastifyInstance, sub: string, onBehalfOf?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${tokenFor(app, ['agents:read', 'agents:write'], 3600, sub)}` }
  if (onBehalfOf) headers['x-helix-on-behalf-of'] = onBehalfOf
  return {
    post: (url: string, payload: unknown, key?: string) =>
      app.inject({ method: 'POST', url, payload: payload as object, headers: key ? { ...headers, 'idempotency-key': key } : headers }),
    get: (url: string) => app.inject({ url, headers })
  }
}

async function realApp(t: Parameters<typeof build>[0]): Promise<{ app: FastifyInstance; db: pg.Client }> {
  const databaseUrl = await createTestDatabase(t, 'orch_idem')
  const app = await build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: databaseUrl }, { plugins })
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  return { app, db }
}

t.test("Alice's and Bob's same key make two commands, and each gets back only their own", async (t) => {
  const { app } = await realApp(t)
  const alice = as(app, 'alice')
  const bob = as(app, 'bob')
  const note = { command: 'MEMORY_APPEND', args: { content: 'Alice keeps this to herself' } }

  const hers = await alice.post('/api/agents/lumina/commands', note, 'shared-key')
  t.equal(hers.statusCode, 202)
  const his = await bob.post('/api/agents/lumina/commands', { command: 'STATUS' }, 'shared-key')
  t.equal(his.statusCode, 202, his.body)
  t.not(his.json().id, hers.json().id, "Bob's key is his own")
  t.equal(his.json().command, 'STATUS', 'Bob gets the command he sent')
  t.notMatch(his.body, /Alice keeps this/, "and never sees Alice's note")
  t.notOk(his.headers['idempotency-replayed'])

  const hersAgain = await alice.post('/api/agents/lumina/commands', note, 'shared-key')
  t.equal(hersAgain.json().id, hers.json().id, 'Alice replays hers')
  t.equal(hersAgain.headers['idempotency-replayed'], 'true')
  const hisAgain = await bob.post('/api/agents/lumina/commands', { command: 'STATUS' }, 'shared-key')
  t.equal(hisAgain.json().id, his.json().id, 'Bob replays his')
  t.equal(hisAgain.headers['idempotency-replayed'], 'true')

  // The agent by its id is the same route as by its slug; another agent is another route.
  const lumina = (await alice.get('/api/agents/lumina')).json()
  const byId = await alice.post(`/api/agents/${lumina.id}/commands`, note, 'shared-key')
  t.equal(byId.json().id, hers.json().id, 'the slug and the id are one route')
  const elsewhere = await alice.post('/api/agents/vega/commands', note, 'shared-key')
  t.equal(elsewhere.statusCode, 202)
  t.not(elsewhere.json().id, hers.json().id, 'another agent is another route')

  // A plugin calling for two Discord users with one service token: keyed on whom it acts for.
  const forOne = await as(app, 'service:bot', 'discord:1').post('/api/agents/lumina/commands', { command: 'STATUS' }, 'slash-1')
  const forTwo = await as(app, 'service:bot', 'discord:2').post('/api/agents/lumina/commands', { command: 'STATUS' }, 'slash-1')
  t.equal(forOne.statusCode, 202)
  t.equal(forTwo.statusCode, 202)
  t.not(forTwo.json().id, forOne.json().id, 'the on-behalf-of subject owns the key')

  const listed = (await alice.get('/api/agents/lumina/commands')).json().items as { id: string }[]
  t.equal(listed.length, 4, "Alice's, Bob's and the two Discord users' commands were all created")
})

t.test('the same key with another body is 422 idempotency_key_reused', async (t) => {
  const { app } = await realApp(t)
  const alice = as(app, 'alice')
  const first = await alice.post('/api/agents/echo/commands', { command: 'MEMORY_APPEND', args: { content: 'one', kind: 'note' } }, 'k-body')
  t.equal(first.statusCode, 202)
  const reordered = await alice.post('/api/agents/echo/commands', { args: { kind: 'note', content: 'one' }, command: 'MEMORY_APPEND' }, 'k-body')
  t.equal(reordered.json().id, first.json().id, 'the order of keys in the body does not matter')
  for (const other of [
    { command: 'MEMORY_APPEND', args: { content: 'two', kind: 'note' } },
    { command: 'STATUS' },
    { command: 'MEMORY_APPEND', args: { content: 'one', kind: 'note' }, timeoutMs: 1000 }
  ]) {
    const res = await alice.post('/api/agents/echo/commands', other, 'k-body')
    t.equal(res.statusCode, 422, JSON.stringify(other))
    t.match(res.json(), { error: 'idempotency_key_reused', message: /another request body/ })
  }
  const orchestrated = await alice.post('/api/orchestrate', { command: 'STATUS', tier: 'inner_core' }, 'k-orch')
  t.equal(orchestrated.statusCode, 202)
  const replayed = await alice.post('/api/orchestrate', { command: 'STATUS', tier: 'inner_core' }, 'k-orch')
  t.same(replayed.json().items.map((c: { id: string }) => c.id), orchestrated.json().items.map((c: { id: string }) => c.id))
  t.equal(replayed.headers['idempotency-replayed'], 'true')
  const reused = await alice.post('/api/orchestrate', { command: 'SYNC', tier: 'inner_core' }, 'k-orch')
  t.equal(reused.statusCode, 422)
  t.equal(reused.json().error, 'idempotency_key_reused')
  const bobs = await as(app, 'bob').post('/api/orchestrate', { command: 'SYNC', tier: 'inner_core' }, 'k-orch')
  t.equal(bobs.statusCode, 202, "Bob's orchestration with Alice's key is his own")
  t.equal(bobs.json().items.length, 3)
})

t.test('a key lives 24 h: after that the same key creates a new command', async (t) => {
  const { app, db } = await realApp(t)
  const alice = as(app, 'alice')
  const body = { command: 'STATUS' }
  const first = await alice.post('/api/agents/kael/commands', body, 'k-day')
  t.equal(first.statusCode, 202)
  await waitFor(async () => (await alice.get(`/api/commands/${first.json().id}`)).json().status === 'succeeded', 'the first command to finish')

  await db.query(`UPDATE orchestrator_commands SET created_at = created_at - 23 * 3600 * 1000 WHERE id = $1`, [first.json().id])
  t.equal((await alice.post('/api/agents/kael/commands', body, 'k-day')).json().id, first.json().id, 'still the first after 23 h')

  await db.query(`UPDATE orchestrator_commands SET created_at = created_at - 2 * 3600 * 1000 WHERE id = $1`, [first.json().id])
  const fresh = await alice.post('/api/agents/kael/commands', body, 'k-day')
  t.equal(fresh.statusCode, 202)
  t.not(fresh.json().id, first.json().id, 'a new command after 25 h')
  t.notOk(fresh.headers['idempotency-replayed'])
  t.equal((await alice.post('/api/agents/kael/commands', { command: 'SYNC' }, 'k-day')).statusCode, 422, 'the key now belongs to the new command')
  t.equal((await alice.get(`/api/commands/${first.json().id}`)).json().status, 'succeeded', 'the old command is kept')

  const { rows: [stored] } = await db.query('SELECT idempotency_key, request_hash FROM orchestrator_commands WHERE id = $1', [fresh.json().id])
  t.match(stored.idempotency_key, /^scoped:[0-9a-f]{64}$/, 'stored as a hash of caller, route and key, never the raw key')
  t.match(stored.request_hash, /^[0-9a-f]{64}$/)
})

t.test('the embedded SQLite default scopes keys the same way', async (t) => {
  const app = await build(t, {}, { plugins })
  const first = await as(app, 'alice').post('/api/agents/oracle/commands', { command: 'MEMORY_APPEND', args: { content: 'mine' } }, 'k')
  const other = await as(app, 'bob').post('/api/agents/oracle/commands', { command: 'STATUS' }, 'k')
  t.equal(first.statusCode, 202)
  t.equal(other.statusCode, 202)
  t.not(other.json().id, first.json().id)
  t.equal((await as(app, 'alice').post('/api/agents/oracle/commands', { command: 'STATUS' }, 'k')).json().error, 'idempotency_key_reused')
  const again = await as(app, 'alice').post('/api/agents/oracle/commands', { command: 'MEMORY_APPEND', args: { content: 'mine' } }, 'k')
  t.equal(again.json().id, first.json().id)
  t.equal(again.headers['idempotency-replayed'], 'true')
})
