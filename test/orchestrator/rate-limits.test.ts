// The routes that start work (commands, orchestrate, rituals) take the kernel's per-subject write
// limit (issue 10, finding 10): HELIX_RATE_WRITE per minute on each route, counted in Redis across
// replicas, `429` with Retry-After past it; another subject is unaffected.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'

const plugins = [orchestratorPlugin]

function as(app: FastifyInstance, sub: string) {
  const headers = { authorization: `Bearer ${tokenFor(app, ['agents:read', 'agents:write'], 3600, sub)}` }
  return {
    command: () => app.inject({ method: 'POST', url: '/api/agents/kael/commands', payload: { command: 'STATUS' }, headers }),
    orchestrate: () => app.inject({ method: 'POST', url: '/api/orchestrate', payload: { command: 'STATUS', agents: ['vega'] }, headers }),
    ritual: () => app.inject({ method: 'POST', url: '/api/ucf/rituals', payload: { name: 'legend' }, headers }),
    read: () => app.inject({ url: '/api/agents/kael', headers })
  }
}

t.test('the fourth write of a subject in a minute is 429, on any replica; other subjects go on', async (t) => {
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: await createTestDatabase(t, 'orch_rates'), HELIX_RATE_WRITE: '3' }
  const one = await build(t, env, { plugins })
  const two = await build(t, env, { plugins })

  for (const route of ['command', 'orchestrate', 'ritual'] as const) {
    const subject = `writer-${route}`
    const [a, b] = [as(one, subject), as(two, subject)]
    const allowed = [await a[route](), await b[route](), await a[route]()]
    t.same(allowed.map((r) => r.statusCode), [202, 202, 202], `${route}: three writes on two replicas`)
    const refused = await b[route]()
    t.equal(refused.statusCode, 429, `${route}: the fourth is refused, whichever replica gets it`)
    t.match(refused.json(), { error: 'too_many_requests', message: /Rate limit of 3 per minute/ })
    t.match(refused.headers['retry-after'], /^\d+$/)
    t.ok(Number(refused.headers['retry-after']) >= 1 && Number(refused.headers['retry-after']) <= 60)
    t.equal((await a.read()).statusCode, 200, `${route}: reads are not limited`)
  }

  const bob = as(one, 'bob')
  t.same([(await bob.command()).statusCode, (await bob.orchestrate()).statusCode, (await bob.ritual()).statusCode], [202, 202, 202], 'another subject is unaffected')
})

t.test('without Redis the limit is kept in memory', async (t) => {
  const app = await build(t, { HELIX_RATE_WRITE: '3' }, { plugins })
  const alice = as(app, 'alice')
  const codes = []
  for (let i = 0; i < 4; i++) codes.push((await alice.command()).statusCode)
  t.same(codes, [202, 202, 202, 429])
  t.equal((await as(app, 'bob').command()).statusCode, 202)
})
