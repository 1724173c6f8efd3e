// The pipeline's handlers acting on the orchestrator through the kernel's clients, on real PostgreSQL
// and Redis: ucf_update and emergency_boost (POST /api/ucf/adjust, once per event even when replayed),
// agent_activation, ritual_trigger, failures recorded with our error text, and the dead letter after
// 5 deliveries of a transient failure.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { Redis } from 'ioredis'
import { createZapierPlugin, zapierPlugin } from '../../plugins/zapier/index.js'
import { bearer, build } from '../helpers/build.js'
import { sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { postSigned, realEnv } from './helpers.js'

async function settled(app: FastifyInstance, id: string) {
  return waitFor(async () => {
    const e = (await app.inject({ url: `/api/zapier/events/${id}`, headers: bearer(app, ['zapier']) })).json()
    return e.status === 'processed' || e.status === 'failed' ? e : null
  }, `event ${id} settled`, 20_000)
}

async function send(app: FastifyInstance, type: string, data: unknown) {
  const res = await postSigned(app, { type, data })
  if (res.statusCode !== 202) throw new Error(`${res.statusCode} ${res.body}`)
  return settled(app, res.json().eventId)
}

const ucf = async (app: FastifyInstance) => (await app.inject({ url: '/api/ucf', headers: bearer(app, ['agents:read']) })).json()

t.test('handlers act on the orchestrator', async (t) => {
  const app = await build(t, await realEnv(t, 'zap_handlers'), { plugins: [orchestratorPlugin, zapierPlugin] })
  const before = await ucf(app)

  const update = await send(app, 'ucf_update', { harmony: 0.05, klesha: -0.005 })
  t.equal(update.status, 'processed', JSON.stringify(update))
  const afterUpdate = await ucf(app)
  const moved = (after: { metrics: Record<string, number> }, from: { metrics: Record<string, number> }, metric: string) =>
    Math.round((after.metrics[metric] - from.metrics[metric]) * 10000) / 10000
  t.equal(moved(afterUpdate, before, 'harmony'), 0.05, 'harmony +0.05')
  t.equal(moved(afterUpdate, before, 'klesha'), -0.005, 'klesha -0.005: any metric of the partial object')
  t.equal(moved(afterUpdate, before, 'prana'), 0, 'the others untouched')

  // A replay runs the handler again: the adjustment's Idempotency-Key makes it the same change.
  const replay = await app.inject({ method: 'POST', url: `/api/zapier/events/${update.id}/replay`, headers: bearer(app, ['zapier']) })
  t.equal(replay.statusCode, 202)
  const replayed = await settled(app, update.id)
  t.equal(replayed.status, 'processed')
  t.same((await ucf(app)).metrics, afterUpdate.metrics, 'the replay added nothing')

  const boost = await send(app, 'emergency_boost', {})
  t.equal(boost.status, 'processed')
  const afterBoost = await ucf(app)
  t.same(['harmony', 'prana', 'klesha'].map((m) => moved(afterBoost, afterUpdate, m)), [0.15, 0.1, -0.005], 'harmony +0.15, prana +0.10, klesha -0.05 clamped at 0')

  const activation = await send(app, 'agent_activation', { agent: 'lumina', status: 'busy' })
  t.equal(activation.status, 'processed', JSON.stringify(activation))
  t.same(activation.result, { agent: 'lumina', status: 'busy' })
  const lumina = (await app.inject({ url: '/api/agents/lumina', headers: bearer(app, ['agents:read']) })).json()
  t.equal(lumina.status, 'busy')

  const missing = await send(app, 'agent_activation', { agent: 'nobody' })
  t.equal(missing.status, 'failed', 'an unknown agent fails at once')
  t.match(missing.error, /not found/)
  t.equal(missing.attempts, 1, 'without retries')

  const ritual = await send(app, 'ritual_trigger', { name: 'legend' })
  t.equal(ritual.status, 'processed')
  const run = await waitFor(async () => {
    const r = (await app.inject({ url: `/api/rituals/${ritual.result.ritualId}`, headers: bearer(app, ['agents:read']) })).json()
    return r.status === 'completed' ? r : null
  }, 'the ritual completed')
  t.equal(run.name, 'legend')

  const failed = await app.inject({ url: '/api/zapier/events?status=failed', headers: bearer(app, ['zapier']) })
  t.same(failed.json().items.map((e: { type: string }) => e.type).sort(), ['agent_activation'], 'only the activation of an agent that does not exist failed')
})

t.test('a handler failing transiently is retried, then dead-lettered after 5 deliveries', async (t) => {
  const env = await realEnv(t, 'zap_dead')
  // Without the orchestrator loaded and no service URL, every call answers 503: a transient failure.
  const plugin = createZapierPlugin({ pipeline: { leaseMs: 50, reclaimIdleMs: 50, sweepMs: 20 } })
  const app = await build(t, env, { plugins: [plugin] })
  const seen: string[] = []
  await app.helix.kernel.bus.subscribe('zapier', (e) => seen.push(e.type))
  const res = await postSigned(app, { type: 'agent_activation', data: { agent: 'kael' } })
  t.equal(res.statusCode, 202)
  const failed = await settled(app, res.json().eventId)
  t.equal(failed.status, 'failed')
  t.equal(failed.attempts, 5)
  t.match(failed.error, /gave up after 5 deliveries: .*service/i)
  const redis = new Redis(sharedRedisUrl)
  t.teardown(() => redis.disconnect())
  // The row is recorded first; the dead letter and the acknowledgement follow it.
  const dead = await waitFor(async () => {
    const entries = await redis.xrange(`${env.HELIX_REDIS_PREFIX}zapier:dead`, '-', '+')
    return entries.length > 0 ? entries : null
  }, 'the dead letter')
  t.equal(dead.length, 1)
  t.equal(dead[0]![1][1], failed.id, 'the id is on the dead-letter stream')
  // The entry is acknowledged and deleted after the outcome is recorded, in that tick's batch.
  await waitFor(async () => (await redis.xlen(`${env.HELIX_REDIS_PREFIX}zapier:inbound`)) === 0, 'nothing left on the work stream')
  await waitFor(() => seen.includes('zapier.failed'), 'zapier.failed published')
  t.ok(seen.includes('zapier.received'), 'zapier.received published')
  const metrics = (await app.inject({ url: '/metrics' })).body
  t.match(metrics, /helix_zapier_events_total\{outcome="retried",role="all"\} 4/)
  t.match(metrics, /helix_zapier_events_total\{outcome="failed",role="all"\} 1/)
  t.match(metrics, /helix_zapier_inbound_total\{outcome="queued",role="all"\} 1/)
})
