// Log lines an operator reads (issue 15, part 4): each request's completion line carries the route
// pattern, status, duration, role and request id; a WebSocket's messages write no info-level line.
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { buildApp } from '../../core/app.js'
import { loggerOptions } from '../../core/logger.js'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { streamPlugin } from '../../plugins/stream/index.js'
import { bearer, testConfig, tokenFor } from '../helpers/build.js'
import { connect, listen } from '../stream/ws.js'

type Line = Record<string, unknown> & { level: number; msg: string }

const lines: Line[] = []
const sink = new Writable({
  write(chunk: Buffer, _encoding, done) {
    for (const text of chunk.toString().split('\n')) if (text.trim()) lines.push(JSON.parse(text) as Line)
    done()
  }
})
const plugins = [streamPlugin, orchestratorPlugin]
const config = testConfig(t, { LOG_LEVEL: 'info' }, plugins)
const app = await buildApp(config, { plugins, logger: pino(loggerOptions(config), sink) })
t.teardown(() => app.close())
await app.ready()

t.test('the completion line: route pattern, status, duration, role and request id', async (t) => {
  const res = await app.inject({ url: '/api/agents/kael', headers: { ...bearer(app, ['agents:read']), 'x-request-id': 'req-observability-1' } })
  t.equal(res.statusCode, 200)
  const done = lines.find((l) => l.msg === 'request completed' && l.reqId === 'req-observability-1')
  t.ok(done, 'one completion line for the request')
  t.match(done, { level: 30, role: 'all', reqId: 'req-observability-1', res: { statusCode: 200, method: 'GET', route: '/api/agents/:idOrSlug' }, responseTime: Number })
  t.notMatch(JSON.stringify(done), /"route":"\/api\/agents\/kael"/, 'the pattern, not the URL')
  const missing = await app.inject({ url: '/no/such/route', headers: { 'x-request-id': 'req-observability-2' } })
  t.equal(missing.statusCode, 404)
  t.match(lines.find((l) => l.msg === 'request completed' && l.reqId === 'req-observability-2'), { res: { statusCode: 404, route: 'unmatched' } })
})

t.test('a WebSocket\'s messages write no info-level line', async (t) => {
  const base = await listen(app)
  const socket = await connect(base, tokenFor(app, ['stream:read', 'stream:publish']))
  t.teardown(() => socket.ws.close())
  socket.send({ op: 'subscribe', channels: ['agents'] })
  await socket.next((f) => f.op === 'subscribed')
  const before = lines.length
  for (let ref = 1; ref <= 20; ref++) {
    socket.send({ op: 'ping' })
    socket.send({ op: 'publish', channel: 'agents', type: 'note.added', data: { n: ref }, ref })
  }
  for (let ref = 1; ref <= 20; ref++) await socket.next((f) => f.op === 'ack' && f.ref === ref)
  const during = lines.slice(before).filter((l) => l.level >= 30)
  t.same(during.map((l) => l.msg), [], '40 messages and 20 events, no line at info or above')
})
