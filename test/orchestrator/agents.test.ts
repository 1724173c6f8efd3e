// Agent profiles over the REST API on real PostgreSQL and Redis (and the embedded SQLite): seeding,
// CRUD, validation, pagination, filters, If-Match, the summary, scopes and agent events.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { bearer, build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'

const plugins = [orchestratorPlugin]
const SEED_SLUGS = ['agni', 'claude', 'discordbridge', 'echo', 'gemini', 'kael', 'kavach', 'lumina', 'manus', 'oracle', 'phoenix', 'sanghacore', 'shadow', 'vega']

async function realEnv(t: { teardown(fn: () => unknown): void }) {
  return { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: await createTestDatabase(t, 'orch_agents') }
}

function api(app: FastifyInstance) {
  const read = bearer(app, ['agents:read'])
  const write = bearer(app, ['agents:write', 'agents:read'])
  return {
    get: (url: string) => app.inject({ url, headers: read }),
    post: (url: string, payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload: payload as object, headers: { ...write, ...headers } }),
    patch: (url: string, payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'PATCH', url, payload: payload as object, headers: { ...write, ...headers } }),
    del: (url: string) => app.inject({ method: 'DELETE', url, headers: write })
  }
}

const newAgent = {
  slug: 'nova',
  name: 'Nova',
  emoji: '✨',
  tier: 'outer_ring',
  role: 'Scout of new ideas',
  capabilities: ['research', 'scouting'],
  personality: { curiosity: 0.9 },
  voice: { languageCode: 'en-US', name: 'en-US-Neural2-C' }
}

t.test('the 14 seed agents are there with every base command and their own', async (t) => {
  const app = await build(t, await realEnv(t), { plugins })
  const { get } = api(app)
  const res = await get('/api/agents?limit=200')
  t.equal(res.statusCode, 200)
  const { items, nextCursor } = res.json()
  t.equal(nextCursor, null)
  t.same(items.map((a: { slug: string }) => a.slug), SEED_SLUGS)
  for (const a of items) {
    t.match(a.commands, ['MEMORY_APPEND', 'REFLECT', 'ARCHIVE', 'GENERATE', 'SYNC', 'STATUS'], `${a.slug} takes the base commands`)
    t.equal(a.status, 'idle')
    t.equal(a.version, 1)
  }
  const bySlug = Object.fromEntries(items.map((a: { slug: string }) => [a.slug, a]))
  t.ok(bySlug.kael.commands.includes('HARMONY_PULSE'))
  t.ok(bySlug.claude.commands.includes('INSIGHT'))
  t.ok(bySlug.manus.commands.includes('EXECUTE_TASK'))
  t.notOk(bySlug.vega.commands.includes('HARMONY_PULSE'))
})

t.test('seeding again changes nothing and keeps an operator edit', async (t) => {
  const env = await realEnv(t)
  const first = await build(t, env, { plugins })
  const edited = await api(first).patch('/api/agents/kael', { role: 'Edited by the operator' })
  t.equal(edited.statusCode, 200)
  await api(first).del('/api/agents/vega')
  await first.close()

  const second = await build(t, env, { plugins })
  const list = (await api(second).get('/api/agents?limit=200')).json().items as { slug: string; role: string; version: number }[]
  t.equal(list.length, 14, 'the deleted seed agent is restored, nothing is duplicated')
  const kael = list.find((a) => a.slug === 'kael')!
  t.equal(kael.role, 'Edited by the operator')
  t.equal(kael.version, 2)
})

t.test('create, read, patch with If-Match, delete; events on the agents channel', async (t) => {
  const app = await build(t, await realEnv(t), { plugins })
  const { get, post, patch, del } = api(app)
  const events: { type: string; data: { slug: string } }[] = []
  await app.helix.kernel.bus.subscribe('agents', (e) => events.push(e as never))

  const created = await post('/api/agents', newAgent)
  t.equal(created.statusCode, 201, created.body)
  const agent = created.json()
  t.match(agent, { slug: 'nova', tier: 'outer_ring', status: 'idle', version: 1, statusReason: null, lastSeenAt: null })
  t.same(agent.commands, ['MEMORY_APPEND', 'REFLECT', 'ARCHIVE', 'GENERATE', 'SYNC', 'STATUS'])
  t.equal(created.headers.etag, '"1"')

  t.equal((await get(`/api/agents/${agent.id}`)).json().slug, 'nova', 'by id')
  t.equal((await get('/api/agents/nova')).json().id, agent.id, 'by slug')

  const dup = await post('/api/agents', newAgent)
  t.equal(dup.statusCode, 409)
  t.equal(dup.json().error, 'conflict')

  const ok = await patch('/api/agents/nova', { role: 'Scout', commands: ['INSIGHT'] }, { 'if-match': '"1"' })
  t.equal(ok.statusCode, 200, ok.body)
  t.equal(ok.json().version, 2)
  t.equal(ok.json().role, 'Scout')
  t.ok(ok.json().commands.includes('INSIGHT') && ok.json().commands.includes('STATUS'), 'base commands stay')

  const stale = await patch('/api/agents/nova', { role: 'Lost update' }, { 'if-match': '"1"' })
  t.equal(stale.statusCode, 412)
  t.match(stale.json(), { error: 'precondition_failed', version: 2 })
  t.equal((await get('/api/agents/nova')).json().role, 'Scout', 'the stale write did not land')

  t.equal((await patch('/api/agents/nova', { role: 'x' }, { 'if-match': 'garbage' })).statusCode, 412)
  t.equal((await patch('/api/agents/nova', {})).statusCode, 400, 'an empty patch')
  t.equal((await patch('/api/agents/nova', { slug: 'renamed' })).statusCode, 400, 'slug is immutable')

  t.equal((await del('/api/agents/nova')).statusCode, 204)
  t.equal((await get('/api/agents/nova')).statusCode, 404)
  t.equal((await del('/api/agents/nova')).statusCode, 404)

  await new Promise((r) => setTimeout(r, 100))
  const mine = events.filter((e) => e.data.slug === 'nova').map((e) => e.type)
  t.same(mine, ['agent.created', 'agent.updated', 'agent.deleted'])
})

t.test('validation', async (t) => {
  const app = await build(t, await realEnv(t), { plugins })
  const { post, get } = api(app)
  const bad = [
    { ...newAgent, slug: 'Upper' },
    { ...newAgent, slug: 'status' },
    { ...newAgent, tier: 'galaxy' },
    { ...newAgent, personality: { curiosity: 1.5 } },
    { ...newAgent, commands: ['lowercase'] },
    { slug: 'partial' }
  ]
  for (const body of bad) {
    const res = await post('/api/agents', body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.equal(res.json().error, 'validation_failed')
  }
  t.equal((await get('/api/agents?tier=galaxy')).statusCode, 400)
  t.equal((await get('/api/agents?limit=0')).statusCode, 400)
  t.equal((await get('/api/agents/nobody')).statusCode, 404)
})

t.test('pagination and filters', async (t) => {
  const app = await build(t, await realEnv(t), { plugins })
  const { get } = api(app)
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res = await get(`/api/agents?limit=4${cursor ? `&cursor=${cursor}` : ''}`)
    t.equal(res.statusCode, 200)
    const page = res.json()
    t.ok(page.items.length <= 4)
    seen.push(...page.items.map((a: { slug: string }) => a.slug))
    cursor = page.nextCursor
    pages++
  } while (cursor)
  t.equal(pages, 4)
  t.same(seen, SEED_SLUGS, 'every agent once, in order')

  const inner = (await get('/api/agents?tier=inner_core')).json().items.map((a: { slug: string }) => a.slug)
  t.same(inner, ['kael', 'lumina', 'vega'])
  const harmony = (await get('/api/agents?capability=harmony')).json().items.map((a: { slug: string }) => a.slug)
  t.same(harmony, ['kael', 'sanghacore'])
  const both = (await get('/api/agents?capability=ethics&tier=middle_ring')).json().items.map((a: { slug: string }) => a.slug)
  t.same(both, ['kavach'])
  t.same((await get('/api/agents?status=busy')).json().items, [])
  t.equal((await get('/api/agents?status=idle')).json().items.length, 14)

  const summary = (await get('/api/agents/status')).json()
  t.same(summary, {
    total: 14,
    byStatus: { idle: 14 },
    byTier: { inner_core: 3, middle_ring: 4, outer_ring: 3, implicit: 2, operational: 1, integration: 1 },
    commands: { queued: 0, running: 0 }
  })
})

t.test('scopes: agents:read reads, agents:write changes', async (t) => {
  const app = await build(t, await realEnv(t), { plugins })
  t.equal((await app.inject({ url: '/api/agents' })).statusCode, 401)
  t.equal((await app.inject({ url: '/api/ucf', headers: bearer(app, ['stream:read']) })).statusCode, 403)
  const readOnly = await app.inject({ method: 'POST', url: '/api/agents', payload: newAgent, headers: bearer(app, ['agents:read']) })
  t.equal(readOnly.statusCode, 403)
  t.match(readOnly.json(), { error: 'forbidden', scope: 'agents:write' })
  const admin = await app.inject({ method: 'POST', url: '/api/agents', payload: newAgent, headers: bearer(app, ['admin']) })
  t.equal(admin.statusCode, 201)
  const openapi = (await app.inject('/docs/json')).json()
  t.ok(openapi.paths['/api/agents/{idOrSlug}/commands'].post, 'routes are documented from their schemas')
  t.ok(openapi.paths['/api/ucf/rituals'].post)
})

t.test('the embedded SQLite default: seeding, filters, pages and If-Match', async (t) => {
  const app = await build(t, {}, { plugins })
  const { get, patch, post } = api(app)
  t.equal((await get('/api/agents?limit=200')).json().items.length, 14)
  t.same((await get('/api/agents?capability=harmony')).json().items.map((a: { slug: string }) => a.slug), ['kael', 'sanghacore'])
  const page = (await get('/api/agents?limit=10')).json()
  t.equal(page.items.length, 10)
  t.equal((await get(`/api/agents?limit=10&cursor=${page.nextCursor}`)).json().items.length, 4)
  t.equal((await patch('/api/agents/echo', { status: 'offline' }, { 'if-match': '1' })).statusCode, 200)
  t.equal((await patch('/api/agents/echo', { status: 'idle' }, { 'if-match': '1' })).statusCode, 412)
  t.equal((await post('/api/agents', { ...newAgent, slug: 'echo' })).statusCode, 409)
})

t.test('connections PostgreSQL ends (a restart, a failover) are replaced without a crash', async (t) => {
  const env = await realEnv(t)
  const app = await build(t, env, { plugins })
  const a = api(app)
  // Fill the pools with idle connections, then have the server end every one of them.
  await Promise.all(Array.from({ length: 12 }, () => a.get('/api/agents?limit=5')))
  const admin = new pg.Client({ connectionString: env.DATABASE_URL })
  await admin.connect()
  t.teardown(() => admin.end())
  const { rows } = await admin.query('SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()')
  t.ok(rows.length >= 2, `the server ended ${rows.length} connections`)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const res = await a.get('/api/agents?limit=5')
  t.equal(res.statusCode, 200, 'the next request gets a fresh connection')
  t.equal(res.json().items.length, 5)
})
