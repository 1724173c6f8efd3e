// The UCF, rituals and alerts on real PostgreSQL and Redis: no lost update under concurrent pulses
// and rituals run by two replicas, phases and level at their boundaries, reproducible Z-88 runs,
// history, the heartbeat, and alerts raised and resolved on transitions.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { AlertService } from '../../plugins/orchestrator/alert-service.js'
import { createOrchestratorPlugin, orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { Sql } from '../../plugins/orchestrator/sql.js'
import type { TextGenerator } from '../../plugins/orchestrator/text-generator.js'
import { consciousnessLevel, phaseOf, UCF_DEFAULTS, UcfService } from '../../plugins/orchestrator/ucf-service.js'
import { bearer, build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

type T = { teardown(fn: () => unknown): void }

async function realEnv(t: T) {
  return { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: await createTestDatabase(t, 'orch_ucf') }
}

function api(app: FastifyInstance) {
  const headers = bearer(app, ['agents:read', 'agents:write'])
  const self = {
    get: (url: string) => app.inject({ url, headers }),
    post: (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object, headers }),
    async ritual(body: Record<string, unknown>) {
      const res = await self.post('/api/ucf/rituals', body)
      if (res.statusCode !== 202) throw new Error(`${res.statusCode} ${res.body}`)
      return res.json()
    },
    async finished(id: string) {
      return waitFor(async () => {
        const r = (await self.get(`/api/rituals/${id}`)).json()
        return r.status === 'completed' || r.status === 'failed' ? r : null
      }, `ritual ${id}`)
    },
    ucf: async () => (await self.get('/api/ucf')).json()
  }
  return self
}

t.test('GET /api/ucf starts at the defaults', async (t) => {
  const app = await build(t, await realEnv(t), { plugins: [orchestratorPlugin] })
  const ucf = await api(app).ucf()
  t.same(ucf.metrics, UCF_DEFAULTS)
  t.equal(ucf.phase, 'UNSTABLE')
  t.equal(ucf.consciousnessLevel, 7.27)
  t.ok(Date.parse(ucf.updatedAt))
})

t.test('phase and consciousness level at their boundaries', async (t) => {
  const cases: [number, string][] = [[0, 'CRITICAL'], [0.2999, 'CRITICAL'], [0.3, 'UNSTABLE'], [0.4499, 'UNSTABLE'], [0.45, 'COHERENT'],
    [0.5999, 'COHERENT'], [0.6, 'HARMONIOUS'], [0.7999, 'HARMONIOUS'], [0.8, 'TRANSCENDENT'], [1, 'TRANSCENDENT']]
  for (const [harmony, phase] of cases) t.equal(phaseOf(harmony), phase, `harmony ${harmony}`)
  t.equal(consciousnessLevel({ harmony: 0, resilience: 0, prana: 0, drishti: 0, klesha: 1, zoom: 0 }), 0)
  t.equal(consciousnessLevel({ harmony: 1, resilience: 1, prana: 1, drishti: 1, klesha: 0, zoom: 1 }), 10)
  t.equal(consciousnessLevel({ harmony: 1, resilience: 9, prana: 1, drishti: 1, klesha: 0, zoom: 9 }), 10, 'clamped at 10')

  // The same boundaries through the API: named rituals move harmony across each phase.
  const app = await build(t, await realEnv(t), { plugins: [orchestratorPlugin] })
  const a = api(app)
  const seen: string[] = []
  for (const name of ['legend', 'legend', 'neti_neti', 'hymn']) {
    const done = await a.finished((await a.ritual({ name })).id)
    seen.push(`${done.ucf.metrics.harmony}:${done.ucf.phase}`)
  }
  t.same(seen, ['0.455:COHERENT', '0.555:COHERENT', '0.955:TRANSCENDENT', '1:TRANSCENDENT'], 'clamped at 1')
  t.equal((await a.ucf()).metrics.klesha, 0, 'neti_neti cannot take klesha below 0')
})

t.test('100 concurrent pulses and rituals across two replicas lose no update', async (t) => {
  const env = await realEnv(t)
  const one = await build(t, env, { plugins: [orchestratorPlugin] })
  const two = await build(t, env, { plugins: [orchestratorPlugin] })
  const [a, b] = [api(one), api(two)]
  const completedBy = new Map<string, number>()
  await one.helix.kernel.bus.subscribe('rituals', (e) => {
    if (e.type === 'ritual.completed') completedBy.set((e.data as { id: string }).id, (completedBy.get((e.data as { id: string }).id) ?? 0) + 1)
  })
  const work = Array.from({ length: 100 }, (_, i) => {
    const x = i % 2 === 0 ? a : b
    return i % 4 < 2
      ? x.ritual({ name: 'aham_brahmasmi' }).then((r) => ({ kind: 'ritual', id: r.id as string }))
      : x.post('/api/agents/kael/commands', { command: 'HARMONY_PULSE', args: { amount: 0.01 } }).then((r) => ({ kind: 'pulse', id: r.json().id as string }))
  })
  const started = await Promise.all(work)
  for (const s of started) {
    if (s.kind === 'ritual') t.equal((await a.finished(s.id)).status, 'completed')
    else await waitFor(async () => (await a.get(`/api/commands/${s.id}`)).json().status === 'succeeded', 'pulse')
  }
  const { metrics } = await b.ucf()
  t.equal(metrics.resilience, 1.1191 + 50 * 0.25, 'every ritual landed once')
  t.equal(metrics.zoom, Math.round((1.0228 + 50 * 0.1) * 1e9) / 1e9)
  t.equal(metrics.harmony, Math.round((0.355 + 50 * 0.01) * 1e9) / 1e9, 'every pulse landed once')
  t.equal(metrics.prana, Math.round((0.5175 + 50 * 0.005) * 1e9) / 1e9)
  const history = (await a.get('/api/ucf/history?limit=1000')).json()
  t.equal(history.items.length, 100, 'one history entry per change')
  t.equal(history.items.at(-1).metrics.resilience, metrics.resilience)
  await waitFor(() => completedBy.size === 50, 'every ritual.completed event')
  t.ok([...completedBy.values()].every((n) => n === 1), 'each ritual completed once')
})

t.test('Z-88 with a seed gives the same deltas twice; progress and completion are published', async (t) => {
  const app = await build(t, await realEnv(t), { plugins: [orchestratorPlugin] })
  const a = api(app)
  const events: { type: string; data: any }[] = []
  await app.helix.kernel.bus.subscribe('rituals', (e) => events.push(e))

  const first = await a.ritual({ name: 'z88', steps: 108, seed: 42 })
  t.match(first, { name: 'z88', steps: 108, seed: 42, status: 'queued', progress: 0, deltas: null })
  const one = await a.finished(first.id)
  const two = await a.finished((await a.ritual({ name: 'z88', seed: 42 })).id)
  const other = await a.finished((await a.ritual({ name: 'z88', seed: 43 })).id)
  t.equal(one.status, 'completed')
  t.equal(two.steps, 108, 'default steps')
  t.same(two.deltas, one.deltas, 'same seed, same deltas')
  t.notSame(other.deltas, one.deltas, 'another seed, other deltas')
  t.equal(one.progress, 108)

  await waitFor(() => events.filter((e) => e.type === 'ritual.completed').length === 3, 'completions')
  const progress = events.filter((e) => e.type === 'ritual.progress' && e.data.id === first.id)
  t.equal(progress.length, 12)
  t.same(progress.map((e) => e.data.step), [9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 99, 108])
  t.same(progress.at(-1)!.data.deltas, one.deltas)
  const completed = events.find((e) => e.type === 'ritual.completed' && e.data.id === first.id)!
  t.same(completed.data.deltas, one.deltas)

  const unseeded = await a.ritual({ name: 'z88', steps: 1 })
  t.type(unseeded.seed, 'number', 'a seed is chosen and returned, so the run can be repeated')

  for (const body of [{ name: 'z88', steps: 0 }, { name: 'z88', steps: 5000 }, { name: 'rain_dance' }, { name: 'z88', seed: -1 }]) {
    t.equal((await a.post('/api/ucf/rituals', body)).statusCode, 400, JSON.stringify(body))
  }
  t.equal((await a.get('/api/rituals/00000000-0000-4000-8000-000000000000')).statusCode, 404)
})

t.test('history pages and since', async (t) => {
  const app = await build(t, await realEnv(t), { plugins: [orchestratorPlugin] })
  const a = api(app)
  for (let i = 0; i < 5; i++) await a.finished((await a.ritual({ name: 'aham_brahmasmi' })).id)
  const all = (await a.get('/api/ucf/history')).json().items
  t.equal(all.length, 5)
  t.same(all.map((h: { cause: string }) => h.cause), Array(5).fill('ritual:aham_brahmasmi'))
  const first = (await a.get(`/api/ucf/history?since=0&limit=2`)).json()
  t.equal(first.items.length, 2)
  const rest = (await a.get(`/api/ucf/history?cursor=${first.nextCursor}&limit=10`)).json()
  t.equal(rest.items.length, 3)
  t.equal(rest.nextCursor, null)
  t.same([...first.items, ...rest.items].map((h: { id: string }) => h.id), all.map((h: { id: string }) => h.id))
  const since = (await a.get(`/api/ucf/history?since=${encodeURIComponent(all[3].updatedAt)}`)).json().items
  t.ok(since.length >= 2 && since.at(-1).id === all[4].id)
  t.equal((await a.get('/api/ucf/history?since=yesterday')).statusCode, 400)
})

t.test('alerts: klesha and harmony raise on the way in and resolve on the way out', async (t) => {
  const app = await build(t, await realEnv(t), { plugins: [orchestratorPlugin] })
  const a = api(app)
  const events: { type: string; data: any }[] = []
  await app.helix.kernel.bus.subscribe('alerts', (e) => events.push(e))

  for (let i = 0; i < 3; i++) await a.finished((await a.ritual({ name: 'law' })).id)
  t.equal((await a.ucf()).metrics.klesha, 0.61)
  // A ritual reads as completed as soon as its last change commits; its alerts follow right after.
  const openAlerts = async () => (await a.get('/api/alerts?state=open')).json().items
  const open = await waitFor(async () => {
    const items = await openAlerts()
    return items.length > 0 ? items : null
  }, 'the klesha alert')
  t.equal(open.length, 1, 'raised once, on the transition')
  t.match(open[0], { key: 'ucf.klesha_high', severity: 'high', state: 'open', data: { klesha: 0.61 } })
  await a.finished((await a.ritual({ name: 'neti_neti' })).id)
  await waitFor(async () => (await openAlerts()).length === 0, 'the klesha alert to resolve')

  const { kernel } = app.helix
  const sql = new Sql(kernel.db.sequelize, kernel.config.databaseUrl)
  t.teardown(() => sql.close())
  const ucf = new UcfService(sql, kernel.bus, new AlertService(sql, kernel.bus))
  await ucf.apply({ harmony: -0.9 }, 'test')
  const critical = (await a.get('/api/alerts?state=open')).json().items
  t.match(critical, [{ key: 'ucf.harmony_low', severity: 'critical' }])
  t.equal((await a.ucf()).phase, 'CRITICAL')
  await ucf.apply({ harmony: 0.5 }, 'test')
  t.same((await a.get('/api/alerts?state=open')).json().items, [])
  await waitFor(() => events.length === 4, 'alert events')
  t.same(events.map((e) => `${e.type}:${e.data.key}`), ['alert.raised:ucf.klesha_high', 'alert.resolved:ucf.klesha_high', 'alert.raised:ucf.harmony_low', 'alert.resolved:ucf.harmony_low'])
  const all = (await a.get('/api/alerts?limit=1')).json()
  t.equal(all.items.length, 1)
  t.equal((await a.get(`/api/alerts?limit=10&cursor=${all.nextCursor}`)).json().items.length, 1)
})

t.test('a command waiting too long raises the stale queue alert; the heartbeat ticks', async (t) => {
  const hanging: TextGenerator = { generate: (r) => new Promise((_, reject) => r.signal.addEventListener('abort', () => reject(r.signal.reason), { once: true })) }
  const plugin = createOrchestratorPlugin({ textGenerator: hanging, staleQueueMs: 200, heartbeatMs: 100 })
  const app = await build(t, await realEnv(t), { plugins: [plugin] })
  const a = api(app)
  const beats: unknown[] = []
  await app.helix.kernel.bus.subscribe('ucf', (e) => e.type === 'ucf.heartbeat' && beats.push(e.data))
  const stuck = (await a.post('/api/agents/agni/commands', { command: 'GENERATE' })).json()
  const waiting = (await a.post('/api/agents/agni/commands', { command: 'STATUS' })).json()
  const alert = await waitFor(async () => (await a.get('/api/alerts?state=open')).json().items[0], 'stale alert')
  t.match(alert, { key: 'commands.stale', kind: 'commands', severity: 'medium' })
  await a.post(`/api/commands/${stuck.id}/cancel`, {})
  await waitFor(async () => (await a.get(`/api/commands/${waiting.id}`)).json().status === 'succeeded', 'queue drained')
  await waitFor(async () => (await a.get('/api/alerts?state=resolved')).json().items.length === 1, 'stale alert resolved')
  await waitFor(() => beats.length >= 2, 'heartbeats')
  t.match(beats[0], { phase: 'UNSTABLE', metrics: { harmony: 0.355 } })
})

t.test('a dedicated orchestrator that does not own the plugin runs no workers', async (t) => {
  const env = { ...(await realEnv(t)), HELIX_ROLE: 'orchestrator' }
  const plugin = createOrchestratorPlugin({ heartbeatMs: 50 })
  const app = await build(t, env, { plugins: [plugin] })
  t.equal(app.helix.workers.isRunning('orchestrator'), false)
  const owner = await build(t, { ...env, HELIX_FLAG_HELIX_ORCHESTRATOR_DEDICATED: 'on' }, { plugins: [plugin] })
  await waitFor(() => owner.helix.workers.isRunning('orchestrator'), 'the owner to start its workers')
  t.equal(app.helix.workers.isRunning('orchestrator'), false, 'the other still runs none')
})
