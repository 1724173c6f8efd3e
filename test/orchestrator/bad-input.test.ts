// Bad input never reaches the database and never answers 500 (issue 10, findings 7 and 1): NUL and
// control characters, out-of-range numbers, cursors that decode to nonsense, and command args that
// cannot be stored are each a 400 with a code; and args too deep to serialise fail their own request
// only, never the batch they would have shared or the process.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { AlertService } from '../../plugins/orchestrator/alert-service.js'
import { CommandBatcher } from '../../plugins/orchestrator/command-batcher.js'
import { CommandDal } from '../../plugins/orchestrator/command-dal.js'
import { CommandEvents } from '../../plugins/orchestrator/command-events.js'
import { CommandQueue } from '../../plugins/orchestrator/command-queue.js'
import { PostgresCommandSql } from '../../plugins/orchestrator/command-sql-postgres.js'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { Outbox } from '../../plugins/orchestrator/outbox.js'
import { Sql } from '../../plugins/orchestrator/sql.js'
import { bearer, build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'

const plugins = [orchestratorPlugin]

async function realApp(t: Parameters<typeof build>[0]): Promise<FastifyInstance> {
  return build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: await createTestDatabase(t, 'orch_input') }, { plugins })
}

function api(app: FastifyInstance) {
  const headers = bearer(app, ['agents:read', 'agents:write'])
  return {
    get: (url: string) => app.inject({ url, headers }),
    send: (method: 'POST' | 'PATCH', url: string, payload: string | object) =>
      app.inject({ method, url, payload, headers: { ...headers, 'content-type': 'application/json' } })
  }
}

const b64 = (text: string) => Buffer.from(text).toString('base64url')

t.test('NUL, control characters and out-of-range values are 400 with a code, on PostgreSQL', async (t) => {
  const app = await realApp(t)
  const { get, send } = api(app)
  const expect400 = async (what: string, res: Awaited<ReturnType<typeof get>>) => {
    t.equal(res.statusCode, 400, `${what}: ${res.body}`)
    t.match(res.json(), { error: /^(invalid_character|validation_failed|bad_request|too_deep)$/, message: String }, `${what}: a coded body`)
  }

  await expect400('NUL in the agent path', await get('/api/agents/kael%00'))
  await expect400('NUL in a command path', await get('/api/commands/abc%00'))
  await expect400('NUL in capability', await get('/api/agents?capability=%00'))
  await expect400('a capability no agent can have', await get('/api/agents?capability=Har%20mony'))
  await expect400('since past year 9999', await get('/api/ucf/history?since=99999999999999999999'))
  await expect400('since past the Date range', await get('/api/ucf/history?since=8640000000000001'))
  await expect400('since as an ISO date past 9999', await get('/api/ucf/history?since=%2B275760-09-13T00:00:00.000Z'))
  t.equal((await get('/api/ucf/history?since=0')).statusCode, 200, 'epoch 0 is fine')
  t.equal((await get('/api/ucf/history?since=2026-01-01T00:00:00Z')).statusCode, 200, 'and an ISO date')

  // Cursors are validated after decoding: these decode to a NUL, or to what no page ever gave.
  await expect400('an agents cursor that decodes to NUL', await get(`/api/agents?cursor=${b64('\0')}`))
  await expect400('an agents cursor that decodes to no slug', await get(`/api/agents?cursor=${b64('kael\u0001')}`))
  await expect400('an alerts cursor that decodes to NUL', await get(`/api/alerts?cursor=${b64('\0:\0')}`))
  await expect400('a history cursor out of range', await get('/api/ucf/history?cursor=99999999999999999999'))
  await expect400('a commands cursor out of range', await get('/api/agents/kael/commands?cursor=99999999999999999999'))
  await expect400('a cursor with a percent-encoded NUL', await get('/api/agents/kael/commands?cursor=1%00'))

  const agent = { slug: 'nova', name: 'Nova', tier: 'outer_ring', role: 'Scout' }
  await expect400('NUL in name', await send('POST', '/api/agents', { ...agent, name: 'No\u0000va' }))
  await expect400('a control character in name', await send('POST', '/api/agents', { ...agent, name: 'No\u0007va' }))
  await expect400('a control character in role', await send('POST', '/api/agents', { ...agent, role: 'Sc\u001bout' }))
  await expect400('NUL in a personality key', await send('POST', '/api/agents', { ...agent, personality: { 'cur\u0000iosity': 0.5 } }))
  await expect400('NUL in statusReason', await send('PATCH', '/api/agents/kael', { statusReason: 'tired\u0000' }))
  await expect400('a control character in statusReason', await send('PATCH', '/api/agents/kael', { statusReason: 'tired\u0002' }))
  await expect400('NUL in MEMORY_APPEND content', await send('POST', '/api/agents/kael/commands', { command: 'MEMORY_APPEND', args: { content: 'a\u0000b' } }))
  await expect400('NUL in EXECUTE_TASK args', await send('POST', '/api/agents/manus/commands', {
    command: 'EXECUTE_TASK', args: { plan: [{ agent: 'echo', command: 'MEMORY_APPEND', args: { content: 'x\u0000' } }] }
  }))
  await expect400('NUL in an EXECUTE_TASK args key', await send('POST', '/api/agents/manus/commands', {
    command: 'EXECUTE_TASK', args: { plan: [{ command: 'STATUS', args: { ['k\u0000']: 1 } }] }
  }))
  await expect400('NUL in an orchestrated command', await send('POST', '/api/orchestrate', { command: 'MEMORY_APPEND', agents: ['echo'], args: { content: '\u0000' } }))
  await expect400('NUL in the Idempotency-Key', await app.inject({
    method: 'POST', url: '/api/agents/kael/commands', payload: { command: 'STATUS' },
    headers: { ...bearer(app, ['agents:write']), 'idempotency-key': 'k\u0007' }
  }))

  // Nothing of it was stored, and everything still works.
  t.equal((await send('POST', '/api/agents', { ...agent, name: 'No\tva' })).statusCode, 400, 'a tab in a name is a control character too')
  t.equal((await send('POST', '/api/agents', agent)).statusCode, 201)
  t.equal((await get('/api/agents/kael')).json().statusReason, null)
  t.equal((await get('/api/agents/kael/commands')).json().items.length, 0)
})

t.test('the same inputs are refused on the embedded SQLite', async (t) => {
  const app = await build(t, {}, { plugins })
  const { get, send } = api(app)
  for (const res of [
    await get('/api/ucf/history?since=99999999999999999999'),
    await get(`/api/agents?cursor=${b64('\0')}`),
    await send('POST', '/api/agents', { slug: 'nova', name: 'N\u0000', tier: 'outer_ring', role: 'Scout' }),
    await send('POST', '/api/agents/manus/commands', { command: 'EXECUTE_TASK', args: { plan: [{ command: 'STATUS', args: { x: '\u0000' } }] } })
  ]) {
    t.equal(res.statusCode, 400, res.body)
    t.type(res.json().error, 'string')
  }
})

t.test('args that cannot be stored fail their own command only, never the batch or the process', async (t) => {
  const app = await realApp(t)
  const { kernel } = app.helix
  const sql = new Sql(kernel.db.sequelize, kernel.config.databaseUrl)
  t.teardown(() => sql.close())
  const outbox = new Outbox(sql, kernel.bus)
  const dal = new CommandDal(sql, new PostgresCommandSql(sql, outbox), outbox)
  const queue = new CommandQueue(dal, new CommandBatcher(dal), new CommandEvents(outbox, new AlertService(sql, kernel.bus, outbox)))
  const kael = (await api(app).get('/api/agents/kael')).json()

  // As a task's step would hand them to the queue: built in the process, past any HTTP parser.
  let deep: unknown = 'bottom'
  for (let i = 0; i < 5000; i++) deep = [deep]
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const sent = await Promise.allSettled([
    queue.enqueue(kael.id, { command: 'STATUS', args: { before: 1 }, timeoutMs: 1000 }),
    queue.enqueue(kael.id, { command: 'STATUS', args: { deep }, timeoutMs: 1000 }),
    queue.enqueue(kael.id, { command: 'STATUS', args: cyclic, timeoutMs: 1000 }),
    queue.enqueue(kael.id, { command: 'STATUS', args: { big: 1n }, timeoutMs: 1000 }),
    queue.enqueue(kael.id, { command: 'STATUS', args: { after: 1 }, timeoutMs: 1000 })
  ])
  t.same(sent.map((s) => s.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled'], 'the others in the batch were stored')
  const reasons = sent.flatMap((s) => (s.status === 'rejected' ? [s.reason as { statusCode: number; code: string }] : []))
  t.match(reasons, [{ statusCode: 400, code: 'too_deep' }, { statusCode: 400, code: 'too_deep' }, { statusCode: 400, code: 'validation_failed' }])
  t.equal((await api(app).get('/api/agents/kael/commands')).json().items.length, 2)
  t.equal((await app.inject('/health/live')).statusCode, 200, 'the process lives on')
})
