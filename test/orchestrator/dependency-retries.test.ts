// Transient dependency failures are retried with backoff (issue 10, finding 5): a ritual accepted
// while Redis is down waits, says why in our words, and completes once Redis is back; it never ends
// `failed` with a driver's message.
import t from 'tap'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { bearer, build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { privateRedis } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

t.test('a ritual run while Redis is down is retried and completes once it is back', async (t) => {
  const redis = await privateRedis(t)
  const env = { REDIS_URL: redis.url, HELIX_REDIS_PREFIX: 'helix:', DATABASE_URL: await createTestDatabase(t, 'orch_retries') }
  const app = await build(t, env, { plugins: [orchestratorPlugin] })
  const headers = bearer(app, ['agents:read', 'agents:write'])
  const ritual = async (id: string) => (await app.inject({ url: `/api/rituals/${id}`, headers })).json()

  await redis.stop()
  const started = await app.inject({ method: 'POST', url: '/api/ucf/rituals', payload: { name: 'z88', steps: 108, seed: 7 }, headers })
  t.equal(started.statusCode, 202, 'accepted: the run is stored in the database')
  const { id } = started.json()

  // Its first progress event cannot be published: the run waits, and says why.
  const waiting = await waitFor(async () => {
    const r = await ritual(id)
    return r.error ? r : null
  }, 'the run to meet the outage', 30_000)
  t.equal(waiting.status, 'running', 'not failed')
  t.equal(waiting.error, 'the event bus was unavailable; the ritual will be retried')

  await redis.start()
  const done = await waitFor(async () => {
    const r = await ritual(id)
    return r.status === 'completed' || r.status === 'failed' ? r : null
  }, 'the run to end once Redis is back', 30_000)
  t.equal(done.status, 'completed')
  t.equal(done.error, null, 'the note is cleared')
  t.equal(done.progress, 108)
  const ucf = (await app.inject({ url: '/api/ucf', headers })).json()
  t.same(ucf.metrics, done.ucf.metrics, 'its change landed in the UCF')
})
