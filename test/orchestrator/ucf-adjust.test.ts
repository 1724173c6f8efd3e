// POST /api/ucf/adjust: partial deltas added to the UCF and clamped, once per caller and
// Idempotency-Key, with the scope and the input checked.
import t from 'tap'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { bearer, build, tokenFor } from '../helpers/build.js'

t.test('adjusts, clamps, applies once per key and caller, refuses bad input', async (t) => {
  const app = await build(t, {}, { plugins: [orchestratorPlugin] })
  const writer = bearer(app, ['agents:write', 'agents:read'])
  const adjust = (payload: unknown, headers: Record<string, string> = writer) => app.inject({ method: 'POST', url: '/api/ucf/adjust', headers, payload })
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
