// Agent commands end to end on real PostgreSQL and Redis (and the embedded SQLite): every command's
// effect, the lifecycle events, per-agent ordering, Idempotency-Key, cancel, deadlines, bad input.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { createOrchestratorPlugin, orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import type { TextGenerator } from '../../plugins/orchestrator/text-generator.js'
import { TemplateTextGenerator } from '../../plugins/orchestrator/text-generator.js'
import { bearer, build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

type T = { teardown(fn: () => unknown): void }
type Command = { id: string; agentId: string; command: string; status: string; result: any; error: string | null; createdAt: string; startedAt: string | null; finishedAt: string | null }

/** GENERATE with the prompt "hang" waits until its command is aborted (deadline or cancel). */
const template = new TemplateTextGenerator()
const hangingText: TextGenerator = {
  generate: (request) => request.prompt !== 'hang'
    ? template.generate(request)
    : new Promise((_, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason), { once: true }))
}
const plugins = [createOrchestratorPlugin({ textGenerator: hangingText })]

async function realApp(t: T): Promise<FastifyInstance> {
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: await createTestDatabase(t, 'orch_cmds') }
  return build(t, env, { plugins })
}

function api(app: FastifyInstance) {
  const headers = bearer(app, ['agents:read', 'agents:write'])
  const self = {
    get: (url: string) => app.inject({ url, headers }),
    post: (url: string, payload: unknown, extra: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload: payload as object, headers: { ...headers, ...extra } }),
    async send(agent: string, command: string, args: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<Command> {
      const res = await self.post(`/api/agents/${agent}/commands`, { command, args, ...extra })
      if (res.statusCode !== 202) throw new Error(`${res.statusCode} ${res.body}`)
      return res.json()
    },
    async settled(id: string): Promise<Command> {
      return waitFor(async () => {
        const c = (await self.get(`/api/commands/${id}`)).json() as Command
        return ['succeeded', 'failed', 'timed_out', 'cancelled'].includes(c.status) ? c : null
      }, `command ${id} to finish`)
    },
    async run(agent: string, command: string, args: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): Promise<Command> {
      return self.settled((await self.send(agent, command, args, extra)).id)
    }
  }
  return self
}

t.test('every command type runs with its effect, and publishes its lifecycle', async (t) => {
  const app = await realApp(t)
  const a = api(app)
  const events: { type: string; data: any }[] = []
  for (const ch of ['commands', 'agents', 'ucf', 'alerts']) await app.helix.kernel.bus.subscribe(ch, (e) => events.push(e))

  const appended = await a.run('echo', 'MEMORY_APPEND', { content: 'The spiral remembers every voice' })
  t.equal(appended.status, 'succeeded')
  t.same(appended.result, { stored: true, kind: 'note' })
  await waitFor(() => events.some((e) => e.type === 'agent.updated' && e.data.slug === 'echo' && e.data.status === 'idle'), 'agent idle event')
  t.same(events.filter((e) => e.type === 'command.updated' && e.data.id === appended.id).map((e) => e.data.status), ['queued', 'running', 'succeeded'])
  t.same(events.filter((e) => e.type === 'agent.updated' && e.data.slug === 'echo').map((e) => e.data.status), ['busy', 'idle'])

  const reflected = await a.run('echo', 'REFLECT')
  t.equal(reflected.result.memories, 1)
  t.ok(reflected.result.themes.includes('spiral'))
  t.match(reflected.result.summary, /Echo reflects on 1 memories/)

  const g1 = await a.run('echo', 'GENERATE', { prompt: 'the dawn' })
  const g2 = await a.run('echo', 'GENERATE', { prompt: 'the dawn' })
  t.match(g1.result.text, /Echo on "the dawn"/)
  t.equal(g1.result.text, g2.result.text, 'the template generator is deterministic')

  const insight = await a.run('claude', 'INSIGHT', { topic: 'cooperation' })
  t.match(insight.result.text, /Claude .* offers an insight on "cooperation"/)

  const status = await a.run('echo', 'STATUS')
  t.match(status.result, { agent: { slug: 'echo', status: 'busy' }, queued: 0, ucf: { phase: 'UNSTABLE', consciousnessLevel: 7.27 } })

  const synced = await a.run('echo', 'SYNC')
  t.equal(synced.result.agent.slug, 'echo')
  await waitFor(() => events.some((e) => e.type === 'ucf.updated' && e.data.cause === 'sync'), 'sync ucf event')

  const archived = await a.run('echo', 'ARCHIVE')
  t.same(archived.result, { archived: 2 }, 'the note and the reflection')
  t.equal((await a.run('echo', 'REFLECT')).result.memories, 0, 'archived memories are out of reflection')

  const pulse = await a.run('kael', 'HARMONY_PULSE', { amount: 0.1 })
  t.equal(pulse.result.applied, true)
  const ucf = (await a.get('/api/ucf')).json()
  t.equal(ucf.metrics.harmony, 0.455)
  t.equal(ucf.phase, 'COHERENT')
  t.equal(ucf.metrics.prana, 0.5675)

  const task = await a.run('manus', 'EXECUTE_TASK', { plan: [
    { command: 'MEMORY_APPEND', args: { content: 'plan step one' } },
    { agent: 'lumina', command: 'STATUS' },
    { agent: 'kael', command: 'HARMONY_PULSE', args: { amount: 0.01 } }
  ] })
  t.equal(task.status, 'succeeded', task.error ?? '')
  t.same(task.result.steps.map((s: { agent: string; status: string }) => `${s.agent}:${s.status}`), ['manus:succeeded', 'lumina:succeeded', 'kael:succeeded'])
  const luminaCommands = (await a.get('/api/agents/lumina/commands')).json().items
  t.equal(luminaCommands.length, 1, 'the plan step ran as a command of Lumina')
  t.equal((await a.get('/api/ucf')).json().metrics.harmony, 0.465)

  const final = (await a.get('/api/agents/echo')).json()
  t.equal(final.status, 'idle')
  t.ok(final.lastSeenAt)
})

t.test('a failure puts the agent in error and raises an alert; a success clears both', async (t) => {
  const app = await realApp(t)
  const a = api(app)
  const failed = await a.run('manus', 'EXECUTE_TASK', { plan: [{ agent: 'nobody', command: 'STATUS' }] })
  t.equal(failed.status, 'failed')
  t.match(failed.error, /Agent "nobody" not found/)
  const manus = (await a.get('/api/agents/manus')).json()
  t.equal(manus.status, 'error')
  t.match(manus.statusReason, /failed/)
  // The alert follows the recorded failure (it is raised right after the outcome is stored).
  const open = await waitFor(async () => {
    const items = (await a.get('/api/alerts?state=open')).json().items
    return items.length > 0 ? items : null
  }, 'the agent-error alert')
  t.equal(open.length, 1)
  t.match(open[0], { key: `agent.error:${manus.id}`, kind: 'agent', severity: 'high', state: 'open' })

  t.equal((await a.run('manus', 'STATUS')).status, 'succeeded')
  t.equal((await a.get('/api/agents/manus')).json().status, 'idle')
  await waitFor(async () => (await a.get('/api/alerts?state=open')).json().items.length === 0, 'alert resolved')
  const resolved = (await a.get('/api/alerts?state=resolved')).json().items
  t.equal(resolved.length, 1)
  t.ok(resolved[0].resolvedAt)
})

t.test('bad input', async (t) => {
  const app = await realApp(t)
  const a = api(app)
  const unknown = await a.post('/api/agents/nobody/commands', { command: 'STATUS' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().error, 'not_found')

  const notTaken = await a.post('/api/agents/vega/commands', { command: 'HARMONY_PULSE' })
  t.equal(notTaken.statusCode, 422)
  t.same(notTaken.json().accepted, ['MEMORY_APPEND', 'REFLECT', 'ARCHIVE', 'GENERATE', 'SYNC', 'STATUS'])
  t.equal((await a.post('/api/agents/vega/commands', { command: 'DANCE' })).statusCode, 422)

  for (const body of [
    { command: 'MEMORY_APPEND', args: {} },
    { command: 'MEMORY_APPEND', args: { content: 'x', colour: 'red' } },
    { command: 'REFLECT', args: { limit: 0 } },
    { command: 'ARCHIVE', args: { before: 'yesterday' } },
    { command: 'STATUS', timeoutMs: 5 },
    { command: 'status' },
    { args: {} }
  ]) {
    const res = await a.post('/api/agents/vega/commands', body)
    t.equal(res.statusCode, 400, JSON.stringify(body))
    t.equal(res.json().error, 'validation_failed')
  }
  t.equal((await a.post('/api/agents/kael/commands', { command: 'HARMONY_PULSE', args: { amount: 5 } })).statusCode, 400)
  t.equal((await a.post('/api/agents/manus/commands', { command: 'EXECUTE_TASK', args: { plan: [] } })).statusCode, 400)

  t.equal((await a.get('/api/commands/00000000-0000-4000-8000-000000000000')).statusCode, 404)
  t.equal((await a.get('/api/commands/not-a-uuid')).statusCode, 404)
  const done = await a.run('vega', 'STATUS')
  const again = await a.post(`/api/commands/${done.id}/cancel`, {})
  t.equal(again.statusCode, 409)
  t.equal(again.json().status, 'succeeded')
  t.equal((await a.get('/api/agents/vega/commands?cursor=abc')).statusCode, 400)
})

t.test('fifty commands to one agent run one at a time, in arrival order', async (t) => {
  const app = await realApp(t)
  const a = api(app)
  const sent: Command[] = []
  for (let i = 0; i < 50; i++) sent.push(await a.send('lumina', 'MEMORY_APPEND', { content: `memory ${i}` }))
  await a.settled(sent[49].id)
  const listed: Command[] = []
  let cursor: string | null = null
  do {
    const page: { items: Command[]; nextCursor: string | null } = (await a.get(`/api/agents/lumina/commands?limit=20${cursor ? `&cursor=${cursor}` : ''}`)).json()
    listed.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  t.same(listed.map((c) => c.id), sent.map((c) => c.id).reverse(), 'newest first, all fifty')
  const inOrder = listed.reverse()
  t.ok(inOrder.every((c) => c.status === 'succeeded'))
  for (let i = 1; i < inOrder.length; i++) {
    const prev = inOrder[i - 1]
    const cur = inOrder[i]
    t.ok(Date.parse(cur.startedAt!) >= Date.parse(prev.finishedAt!), `command ${i} started after command ${i - 1} finished`)
  }
  const reflect = await a.run('lumina', 'REFLECT', { limit: 200 })
  t.equal(reflect.result.memories, 50)
})

t.test('Idempotency-Key returns the first command', async (t) => {
  const app = await realApp(t)
  const a = api(app)
  const first = await a.post('/api/agents/oracle/commands', { command: 'MEMORY_APPEND', args: { content: 'once' } }, { 'idempotency-key': 'k-1' })
  const second = await a.post('/api/agents/oracle/commands', { command: 'MEMORY_APPEND', args: { content: 'once' } }, { 'idempotency-key': 'k-1' })
  t.equal(first.statusCode, 202)
  t.equal(second.statusCode, 202)
  t.equal(second.json().id, first.json().id)
  t.equal(second.headers['idempotent-replayed'], 'true')
  t.notOk(first.headers['idempotent-replayed'])
  const concurrent = await Promise.all(Array.from({ length: 10 }, () =>
    a.post('/api/agents/oracle/commands', { command: 'STATUS' }, { 'idempotency-key': 'k-2' })))
  t.equal(new Set(concurrent.map((r) => r.json().id)).size, 1, 'ten concurrent requests, one command')
  await a.settled(first.json().id)
  await a.settled(concurrent[0].json().id)
  t.equal((await a.get('/api/agents/oracle/commands')).json().items.length, 2)
})

t.test('cancel a queued and a running command; deadlines end as timed_out', async (t) => {
  const app = await realApp(t)
  const a = api(app)
  const stuck = await a.send('gemini', 'GENERATE', { prompt: 'hang' })
  const behind = await a.send('gemini', 'STATUS')
  await waitFor(async () => (await a.get(`/api/commands/${stuck.id}`)).json().status === 'running', 'running')

  const busy = await app.inject({ method: 'DELETE', url: '/api/agents/gemini', headers: bearer(app, ['agents:write']) })
  t.equal(busy.statusCode, 409, 'an agent running a command cannot be deleted')
  t.equal(busy.json().commandId, stuck.id)

  const cancelledQueued = await a.post(`/api/commands/${behind.id}/cancel`, {})
  t.equal(cancelledQueued.statusCode, 200)
  t.equal(cancelledQueued.json().status, 'cancelled')
  const cancelledRunning = await a.post(`/api/commands/${stuck.id}/cancel`, {})
  t.equal(cancelledRunning.json().status, 'cancelled')
  t.equal((await a.get('/api/agents/gemini')).json().status, 'idle')
  t.equal((await a.get(`/api/commands/${behind.id}`)).json().startedAt, null, 'a cancelled queued command never runs')

  const timed = await a.run('gemini', 'GENERATE', { prompt: 'hang' }, { timeoutMs: 200 })
  t.equal(timed.status, 'timed_out')
  t.match(timed.error, /deadline of 200 ms/)
  t.equal((await a.get('/api/agents/gemini')).json().status, 'error')
  t.equal((await a.run('gemini', 'STATUS')).status, 'succeeded', 'the agent takes work again after a deadline')
  t.equal((await app.inject({ method: 'DELETE', url: '/api/agents/gemini', headers: bearer(app, ['agents:write']) })).statusCode, 204)
})

t.test('orchestrate one command to many agents', async (t) => {
  const app = await realApp(t)
  const a = api(app)
  const byTier = await a.post('/api/orchestrate', { command: 'STATUS', tier: 'inner_core' })
  t.equal(byTier.statusCode, 202)
  t.same(byTier.json().items.map((c: Command) => c.status), ['queued', 'queued', 'queued'])
  const byCapability = await a.post('/api/orchestrate', { command: 'HARMONY_PULSE', capability: 'harmony', args: { amount: 0.01 } })
  t.equal(byCapability.json().items.length, 1, 'only Kael takes HARMONY_PULSE')
  t.same(byCapability.json().skipped, [{ agent: 'sanghacore', reason: 'does not accept HARMONY_PULSE' }])
  const byList = await a.post('/api/orchestrate', { command: 'MEMORY_APPEND', agents: ['echo', 'shadow'], args: { content: 'shared' } })
  t.equal(byList.json().items.length, 2)
  t.equal((await a.post('/api/orchestrate', { command: 'STATUS' })).statusCode, 400)
  t.equal((await a.post('/api/orchestrate', { command: 'STATUS', agents: ['nobody'] })).statusCode, 404)
  for (const c of [...byTier.json().items, ...byList.json().items]) t.equal((await a.settled(c.id)).status, 'succeeded')
})

t.test('the embedded SQLite default runs commands in order too', async (t) => {
  const app = await build(t, {}, { plugins: [orchestratorPlugin] })
  const a = api(app)
  const sent: Command[] = []
  for (let i = 0; i < 10; i++) sent.push(await a.send('phoenix', 'MEMORY_APPEND', { content: `rise ${i}` }))
  const last = await a.settled(sent[9].id)
  t.equal(last.status, 'succeeded')
  const reflect = await a.run('phoenix', 'REFLECT')
  t.equal(reflect.result.memories, 10)
  t.equal((await a.run('kael', 'HARMONY_PULSE', { amount: 0.2 })).result.ucf.phase, 'COHERENT')
  const task = await a.run('manus', 'EXECUTE_TASK', { plan: [{ agent: 'phoenix', command: 'ARCHIVE' }] })
  t.equal(task.result.steps[0].result.archived, 11)
})

t.test('the profile cache follows changes from any replica, and a deleted agent never gets a command', async (t) => {
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: await createTestDatabase(t, 'orch_cache') }
  const one = await build(t, env, { plugins })
  const two = await build(t, env, { plugins })
  const [a, b] = [api(one), api(two)]
  const created = await a.post('/api/agents', { slug: 'nova', name: 'Nova', tier: 'outer_ring', role: 'Scout' })
  t.equal(created.statusCode, 201)

  // Both replicas look the profile up (and cache it) by accepting a command for it.
  await a.run('nova', 'STATUS')
  await b.run('nova', 'STATUS')
  t.equal((await a.post('/api/agents/nova/commands', { command: 'HARMONY_PULSE' })).statusCode, 422, 'not a command nova takes')
  t.equal((await b.post('/api/agents/nova/commands', { command: 'HARMONY_PULSE' })).statusCode, 422)

  // A change on one replica is seen at once there, and on the other as soon as its event arrives.
  const patched = await one.inject({ method: 'PATCH', url: '/api/agents/nova', payload: { commands: ['HARMONY_PULSE'] }, headers: bearer(one, ['agents:write']) })
  t.equal(patched.statusCode, 200)
  t.equal((await a.post('/api/agents/nova/commands', { command: 'HARMONY_PULSE', args: { amount: 0.01 } })).statusCode, 202, 'the replica that patched')
  await waitFor(async () => (await b.post('/api/agents/nova/commands', { command: 'HARMONY_PULSE', args: { amount: 0.01 } })).statusCode === 202, 'the other replica to see the change')
  // An older version arriving late (events from replicas are not ordered) does not undo the change.
  const stale = { ...created.json(), version: 1, commands: ['MEMORY_APPEND', 'REFLECT', 'ARCHIVE', 'GENERATE', 'SYNC', 'STATUS'] }
  let seen = false
  await two.helix.kernel.bus.subscribe('agents', (e) => { if (e.type === 'agent.updated' && (e.data as { version: number }).version === 1) seen = true })
  await one.helix.kernel.bus.publish('agents', 'agent.updated', stale)
  await waitFor(() => seen, 'the stale event to arrive')
  t.equal((await b.post('/api/agents/nova/commands', { command: 'HARMONY_PULSE', args: { amount: 0.01 } })).statusCode, 202, 'a late older version is ignored')

  // An agent removed behind the cache's back (no event): the insert finds no agent, so a 404 and no row.
  const db = await import('pg').then(({ default: pg }) => new pg.Client({ connectionString: env.DATABASE_URL }))
  await db.connect()
  t.teardown(() => db.end())
  const drained = () => waitFor(async () => (await db.query(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status IN ('queued', 'running')`)).rows[0].n === '0', 'the queue to drain')
  await drained()
  const { rows: [nova] } = await db.query(`SELECT id FROM orchestrator_agents WHERE slug = 'nova'`)
  await db.query('DELETE FROM orchestrator_agents WHERE id = $1', [nova.id])
  const before = Number((await db.query('SELECT COUNT(*) AS n FROM orchestrator_commands WHERE agent_id = $1', [nova.id])).rows[0].n)
  const orphan = await a.post('/api/agents/nova/commands', { command: 'STATUS' })
  t.equal(orphan.statusCode, 404, orphan.body)
  t.match(orphan.json(), { error: 'not_found', message: 'Agent "nova" not found' })
  t.equal(Number((await db.query('SELECT COUNT(*) AS n FROM orchestrator_commands WHERE agent_id = $1', [nova.id])).rows[0].n), before, 'no command stored for it')

  // Through the API the delete is announced, and every replica forgets the profile at once.
  const created2 = await a.post('/api/agents', { slug: 'nova', name: 'Nova', tier: 'outer_ring', role: 'Scout' })
  t.equal(created2.statusCode, 201)
  t.equal((await a.run('nova', 'STATUS')).status, 'succeeded', 'the replica that saw the stale profile looks nova up afresh')
  await waitFor(async () => (await b.post('/api/agents/nova/commands', { command: 'STATUS' })).statusCode === 202, 'the other replica to follow the new nova')
  await drained()
  t.equal((await one.inject({ method: 'DELETE', url: '/api/agents/nova', headers: bearer(one, ['agents:write']) })).statusCode, 204)
  await waitFor(async () => (await b.post('/api/agents/nova/commands', { command: 'STATUS' })).statusCode === 404, 'the other replica to forget nova')
})
