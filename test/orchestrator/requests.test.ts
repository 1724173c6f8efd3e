// POST /api/ucf/adjust: partial deltas added to the UCF and clamped, once per caller and
// Idempotency-Key, with the scope and the input checked; and who asked for a command or a ritual.
import t from 'tap'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { bearer, build, tokenFor } from '../helpers/build.js'

t.test('adjusts, clamps, applies once per key and caller, refuses bad input', async (t) => {
  const app = await build(t, {}, { plugins: [orchestratorPlugin] })
  const writer = bearer(app, ['agents:write', 'agents:read'])
  const adjust = (payload: Record<string, unknown>, headers: Record<string, string> = writer) => app.inject({ method: 'POST', url: '/api/ucf/adjust', headers, payload })
  const before = (await app.inject({ url: '/api/ucf', headers: writer })).json()

  const first = await adjust({ deltas: { harmony: 0.1, klesha: -0.5 }, reason: 'a test' }, { ...writer, 'idempotency-key': 'k1' })
  t.equal(first.statusCode, 200)
  t.equal(Math.round((first.json().metrics.harmony - before.metrics.harmony) * 1000) / 1000, 0.1, 'harmony +0.1')
  t.equal(first.json().metrics.klesha, 0, 'klesha clamped at 0')
  t.equal(first.json().metrics.prana, before.metrics.prana, 'other metrics untouched')

  const again = await adjust({ deltas: { harmony: 0.1, klesha: -0.5 }, reason: 'a test' }, { ...writer, 'idempotency-key': 'k1' })
  t.same(again.json().metrics, first.json().metrics, 'the same key adds nothing the second time')
  const other = `Bearer ${tokenFor(app, ['agents:write'], 60, 'someone-else')}`
  const theirs = await adjust({ deltas: { harmony: 0.1 } }, { authorization: other, 'idempotency-key': 'k1' })
  t.equal(Math.round((theirs.json().metrics.harmony - first.json().metrics.harmony) * 1000) / 1000, 0.1, "another caller's same key is its own")

  const history = (await app.inject({ url: '/api/ucf/history?limit=10', headers: writer })).json().items
  t.ok(history.some((h: { cause: string }) => h.cause === 'adjust: a test'), 'the history names the cause')

  for (const [payload, what] of [
    [{ deltas: {} }, 'no metric'],
    [{ deltas: { harmony: 2 } }, 'a delta over 1'],
    [{ deltas: { mood: 0.1 } }, 'an unknown metric'],
    [{ deltas: { harmony: 0.1 }, reason: 'a\u0001b' }, 'a control character']
  ] as const) {
    const res = await adjust(payload)
    t.equal(res.statusCode, 400, `${what}: 400`)
    t.equal(typeof res.json().error, 'string')
  }
  t.equal((await adjust({ deltas: { harmony: 0.1 } }, bearer(app, ['agents:read']))).statusCode, 403, 'agents:write is required')
})

t.test('commands and rituals record who asked: the subject, or the one a service acts for', async (t) => {
  const app = await build(t, {}, { plugins: [orchestratorPlugin] })
  const alice = { authorization: `Bearer ${tokenFor(app, ['agents:write', 'agents:read'], 60, 'alice')}` }
  const service = { authorization: `Bearer ${tokenFor(app, ['agents:write', 'agents:read'], 60, 'service:bot')}`, 'x-helix-on-behalf-of': 'discord:42' }
  const byAlice = await app.inject({ method: 'POST', url: '/api/agents/kael/commands', headers: alice, payload: { command: 'STATUS' } })
  t.equal(byAlice.json().requestedBy, 'alice')
  const forDiscord = await app.inject({ method: 'POST', url: '/api/agents/kael/commands', headers: service, payload: { command: 'STATUS' } })
  t.equal(forDiscord.json().requestedBy, 'discord:42')
  t.equal((await app.inject({ url: `/api/commands/${forDiscord.json().id}`, headers: alice })).json().requestedBy, 'discord:42', 'stored, not only answered')
  const ritual = await app.inject({ method: 'POST', url: '/api/ucf/rituals', headers: service, payload: { name: 'legend' } })
  t.equal(ritual.statusCode, 202)
  t.equal((await app.inject({ url: `/api/rituals/${ritual.json().id}`, headers: alice })).json().requestedBy, 'discord:42')
})
