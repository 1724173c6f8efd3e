// The stream protocol on a real app over real Redis: auth at upgrade, every op, every error code,
// the limits (token expiry, heartbeat, frame size, rate), ownership loss (1012) and shutdown (1001).
import t from 'tap'
import { ManualFlags } from '../helpers/manual-flags.js'
import { createStreamPlugin, streamPlugin } from '../../plugins/stream/index.js'
import { bearer, build, tokenFor } from '../helpers/build.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { connect, events, listen, refusedUpgrade } from './ws.js'
import { waitFor } from '../helpers/wait.js'

type Test = { teardown(fn: () => unknown): void }

const redisEnv = (t: Test, extra: Record<string, string> = {}) => ({ REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), ...extra })


t.test('the upgrade is refused with a coded 401/403 before any WebSocket exists', async (t) => {
  const app = await build(t, redisEnv(t), { plugins: [streamPlugin] })
  const base = await listen(app)

  const none = await refusedUpgrade(base)
  t.same([none.status, none.body.error, none.upgraded], [401, 'unauthorized', false])
  const bad = await refusedUpgrade(base, { authorization: 'Bearer not-a-jwt' })
  t.same([bad.status, bad.body.error], [401, 'unauthorized'])
  const expired = await refusedUpgrade(base, {}, `?token=${tokenFor(app, ['stream:read'], -10)}`)
  t.same([expired.status, expired.body.error], [401, 'token_expired'])
  const scopeless = await refusedUpgrade(base, bearer(app, ['agents:read']))
  t.same([scopeless.status, scopeless.body.error], [403, 'forbidden'])
  const ok = await refusedUpgrade(base, bearer(app, ['stream:read']))
  t.equal(ok.status, 101, 'the Authorization header is accepted too')
})

t.test('welcome, subscribe, publish/ack, event, unsubscribe, ping/pong', async (t) => {
  const app = await build(t, redisEnv(t), { plugins: [streamPlugin] })
  const base = await listen(app)
  const client = await connect(base, tokenFor(app, ['stream:read', 'stream:publish']))

  const welcome = await client.next()
  t.match(welcome, { op: 'welcome', clientId: String, heartbeatMs: 25_000 })
  t.same(welcome.channels, ['ucf', 'agents', 'commands', 'rituals', 'alerts', 'voice', 'zapier', 'system'])

  client.send({ op: 'subscribe', channels: ['ucf', 'agents:kael'] })
  const subscribed = [await client.next((f) => f.op === 'subscribed'), await client.next((f) => f.op === 'subscribed')]
  t.same(subscribed.map((s) => s.channel).sort(), ['agents:kael', 'ucf'])
  t.match(subscribed[0], { epoch: String, offset: /^\d+-\d+$/, recovered: false })

  client.send({ op: 'publish', channel: 'ucf', type: 'chat.message', data: { harmony: 0.5 }, ref: 7 })
  const ack = await client.next((f) => f.op === 'ack')
  t.match(ack, { op: 'ack', ref: 7, id: /^\d+-\d+$/ })
  const [event] = await events(client, 1)
  t.same(event, { op: 'event', channel: 'ucf', id: ack.id, epoch: subscribed.find((s) => s.channel === 'ucf')!.epoch, type: 'chat.message', ts: event.ts, source: 'client:tester', data: { harmony: 0.5 } })

  const http = await app.inject({ method: 'POST', url: '/api/stream/publish', headers: bearer(app, ['stream:publish']), payload: { channel: 'agents:kael', type: 'note.added', data: { status: 'busy' } } })
  t.equal(http.statusCode, 200, http.body)
  t.match(await client.next((f) => f.op === 'event'), { channel: 'agents:kael', id: http.json().id, source: 'client:tester', data: { status: 'busy' } })

  client.send({ op: 'unsubscribe', channels: ['ucf'] })
  await app.helix.kernel.bus.publish('ucf', 'ucf.updated', { after: 'unsubscribe' })
  await app.helix.kernel.bus.publish('agents:kael', 'agent.updated', { marker: true })
  const next = await client.next((f) => f.op === 'event')
  t.match(next, { channel: 'agents:kael', data: { marker: true } }, 'no ucf event after unsubscribe')
  client.send({ op: 'ping' })
  t.same(await client.next(), { op: 'pong' })

  const stats = await app.inject({ url: '/api/stream/stats', headers: bearer(app, ['stream:read']) })
  t.match(stats.json(), { connections: 1, subscriptions: { 'agents:kael': 1 }, eventsIn: Number, dropped: { slowConsumer: 0 } })
  t.ok(stats.json().eventsOut >= 3 && stats.json().bytesOut > 0)
  t.equal((await app.inject({ url: '/api/stream/stats', headers: bearer(app, ['agents:read']) })).statusCode, 403)
  t.equal((await app.inject({ method: 'POST', url: '/api/stream/publish', headers: bearer(app, ['stream:read']), payload: { channel: 'ucf', type: 'x' } })).statusCode, 403)
  const unknown = await app.inject({ method: 'POST', url: '/api/stream/publish', headers: bearer(app, ['stream:publish']), payload: { channel: 'nope', type: 'x' } })
  t.same([unknown.statusCode, unknown.json().error], [400, 'validation_failed'])
  const metrics = await app.inject('/metrics')
  t.match(metrics.body, /helix_stream_connections\{role="all"\} 1/)
  t.match(metrics.body, /helix_stream_subscriptions\{channel="agents:kael",role="all"\} 1/)
  t.match(metrics.body, /helix_stream_publish_to_send_seconds_count\{role="all"\} \d+/)
  client.ws.close()
})

t.test('bad input gets coded error frames and never a crash', async (t) => {
  const app = await build(t, redisEnv(t), { plugins: [createStreamPlugin({ maxPayload: 4096 })] })
  const base = await listen(app)
  const reader = await connect(base, tokenFor(app, ['stream:read']))
  await reader.next()

  reader.send('{not json')
  t.match(await reader.next(), { op: 'error', code: 'invalid_json' })
  reader.send({ op: 'dance', ref: 3 })
  t.match(await reader.next(), { op: 'error', code: 'unknown_op', ref: 3 })
  reader.send({ op: 'subscribe', channels: 'ucf' })
  t.match(await reader.next(), { op: 'error', code: 'invalid_message', message: /subscribe/ })
  reader.ws.send(Buffer.from([1, 2, 3]), { binary: true })
  t.match(await reader.next(), { op: 'error', code: 'invalid_message', message: /JSON text/ })
  reader.send({ op: 'subscribe', channels: ['secrets'] })
  t.match(await reader.next(), { op: 'error', code: 'unknown_channel', channel: 'secrets' })
  reader.send({ op: 'publish', channel: 'ucf', type: 'chat.message', data: {}, ref: 'p1' })
  t.match(await reader.next(), { op: 'error', code: 'forbidden', ref: 'p1', message: /stream:publish/ })
  reader.send({ op: 'subscribe', channels: ['ucf'] })
  await reader.next((f) => f.op === 'subscribed')
  reader.send({ op: 'subscribe', channels: ['ucf'] })
  t.match(await reader.next(), { op: 'error', code: 'already_subscribed', channel: 'ucf' })

  // 1,000 subscribe requests in a burst: 127 more fit under the limit of 128, the rest are refused.
  for (let i = 0; i < 1000; i++) reader.send({ op: 'subscribe', channels: [`agents:a${i}`] })
  let subscribedCount = 0
  let limited = 0
  while (subscribedCount + limited < 1000) {
    const frame = await reader.next((f) => f.op === 'subscribed' || f.op === 'error')
    if (frame.op === 'subscribed') subscribedCount++
    else if (frame.code === 'subscription_limit') limited++
  }
  t.same([subscribedCount, limited], [127, 873])
  reader.send({ op: 'ping' })
  t.same(await reader.next((f) => f.op === 'pong'), { op: 'pong' }, 'the connection still works')

  const publisher = await connect(base, tokenFor(app, ['stream:publish']))
  t.same((await publisher.next()).channels, [], 'a publish-only token may not subscribe to anything')
  publisher.send({ op: 'subscribe', channels: ['ucf'] })
  t.match(await publisher.next(), { op: 'error', code: 'forbidden', channel: 'ucf' })

  reader.send(JSON.stringify({ op: 'ping', pad: 'x'.repeat(5000) }))
  t.equal((await reader.closed).code, 1009, 'a frame over maxPayload closes with 1009')
  t.equal((await app.inject('/health/live')).statusCode, 200)
})

t.test('limits: token expiry closes 4001, a silent peer is terminated, connects are rate limited', async (t) => {
  const app = await build(t, redisEnv(t, { HELIX_WS_CONNECT_RATE: '2' }), { plugins: [createStreamPlugin({ heartbeatMs: 40, silenceTimeoutMs: 150 })] })
  const base = await listen(app)

  // exp has whole-second precision: a 2 s token expires 1 to 2 s from now, after the connect.
  const short = await connect(base, tokenFor(app, ['stream:read'], 2))
  const silent = await connect(base, tokenFor(app, ['stream:read']), { autoPong: false })
  const lively = await connect(base, tokenFor(app, ['stream:read']))
  // 2 per second with bursts of 4: one more fits, then the address is refused.
  const statuses = [(await refusedUpgrade(base, bearer(app, ['stream:read']))).status]
  const limited = await refusedUpgrade(base, bearer(app, ['stream:read']))
  statuses.push(limited.status)
  t.same([statuses, limited.body.error], [[101, 429], 'too_many_requests'])

  t.equal((await silent.closed).code, 1006, 'terminated without a close frame')
  t.same(await short.closed, { code: 4001, reason: 'token expired' })
  t.equal(lively.ws.readyState, lively.ws.OPEN, 'a peer that answers pings stays open')
  const stats = (await app.inject({ url: '/api/stream/stats', headers: bearer(app, ['admin']) })).json()
  t.match(stats.dropped, { heartbeat: 1, tokenExpired: 1 })
  lively.ws.close()
})

t.test('losing ownership closes sockets with 1012 and the owner URL; shutdown closes with 1001', async (t) => {
  const flags = new ManualFlags()
  const env = redisEnv(t, { HELIX_PUBLIC_URLS: 'stream=http://stream.example:8080,all=http://all.example:8080' })
  const app = await build(t, env, { flags, plugins: [streamPlugin] })
  // A ready dedicated stream service on the same Redis: the monolith hands streaming only to a live owner.
  await build(t, { ...env, HELIX_ROLE: 'stream' }, { flags, plugins: [streamPlugin] })
  await waitFor(() => app.helix.liveOwners.hasReadyDedicated('stream'), 'the stream service announced as ready')
  const base = await listen(app)
  const client = await connect(base, tokenFor(app, ['stream:read']))
  await client.next()
  flags.flip('helix.stream.dedicated', true)
  const closed = await client.closed
  t.equal(closed.code, 1012)
  t.same(JSON.parse(closed.reason), { reconnect: 'http://stream.example:8080' })

  flags.flip('helix.stream.dedicated', false)
  const again = await connect(base, tokenFor(app, ['stream:read']))
  await again.next()
  await app.close()
  t.same(await again.closed, { code: 1001, reason: 'server shutting down' })
})
