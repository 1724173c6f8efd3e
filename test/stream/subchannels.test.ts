// Bounded sub-channels (issue 10, finding 9): at most 1,000 per base channel across replicas, and the
// history of an idle one expires after HELIX_HISTORY_TTL (its epoch is new after that).
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t from 'tap'
import { RedisBus } from '../../core/bus/index.js'
import { createRedisFactory } from '../../core/redis.js'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { privateRedis, redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { connect, events, listen } from './ws.js'

t.test('the 1,001st sub-channel of a base channel is refused, on every replica', async (t) => {
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t) }
  const a = await build(t, env, { plugins: [streamPlugin] })
  const b = await build(t, env, { plugins: [streamPlugin] })
  // 1,000 sub-channels in use, published from replica a in a few script calls.
  await Promise.all(Array.from({ length: 1000 }, (_, i) => a.helix.kernel.bus.publish(`ucf:room${i}`, 'chat.message', { i })))

  const token = tokenFor(b, ['stream:read', 'stream:publish'])
  const publish = (channel: string) => b.inject({ method: 'POST', url: '/api/stream/publish', headers: { authorization: `Bearer ${token}` }, payload: { channel, type: 'chat.message' } })
  const refused = await publish('ucf:room1000')
  t.same([refused.statusCode, refused.json().error], [422, 'subchannel_limit'], refused.body)
  t.match(refused.json().message, /"ucf" already has 1000 sub-channels/)
  t.equal((await publish('ucf:room999')).statusCode, 200, 'a sub-channel in use stays usable')
  t.equal((await publish('ucf')).statusCode, 200, 'the base channel is not a sub-channel')
  t.equal((await publish('agents:kael')).statusCode, 200, 'each base channel has its own limit')

  const socket = await connect(await listen(b), token)
  await socket.next()
  socket.send({ op: 'publish', channel: 'ucf:room1001', type: 'chat.message', ref: 5 })
  t.match(await socket.next(), { op: 'error', code: 'subchannel_limit', ref: 5, channel: 'ucf:room1001' })
  socket.send({ op: 'subscribe', channels: ['ucf:room1002'] })
  t.match(await socket.next(), { op: 'error', code: 'subchannel_limit', channel: 'ucf:room1002' }, 'subscribing uses a sub-channel too')
  socket.send({ op: 'subscribe', channels: ['ucf:room0'] })
  t.match(await socket.next(), { op: 'subscribed', channel: 'ucf:room0' })
  socket.send({ op: 'subscribe', channels: ['ucf:room1002'] })
  t.match(await socket.next(), { op: 'error', code: 'subchannel_limit' }, 'a refused subscribe is not kept: again it is refused, not already_subscribed')
  socket.ws.close()
})

t.test('an idle sub-channel expires after HELIX_HISTORY_TTL; since then answers recovered:false', async (t) => {
  const prefix = redisPrefix(t)
  const app = await build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: prefix, HELIX_HISTORY_TTL: '1' }, { plugins: [streamPlugin] })
  const redis = new Redis(sharedRedisUrl)
  t.teardown(() => redis.disconnect())
  const token = tokenFor(app, ['stream:read', 'stream:publish'])
  const publish = async (channel: string) =>
    (await app.inject({ method: 'POST', url: '/api/stream/publish', headers: { authorization: `Bearer ${token}` }, payload: { channel, type: 'chat.message' } })).json()

  const idle = await publish('ucf:idle')
  const baseEvent = await publish('ucf')
  const ttls = await Promise.all([`hist:ucf:idle`, `epoch:ucf:idle`, `hist:ucf`, `epoch:ucf`].map((k) => redis.pttl(`${prefix}${k}`)))
  t.ok(ttls.slice(0, 2).every((ms) => ms > 0 && ms <= 1000), `the sub-channel's keys expire within HELIX_HISTORY_TTL (${ttls.slice(0, 2)} ms)`)
  t.same(ttls.slice(2), [-1, -1], "the base channel's keys do not expire")

  await waitFor(async () => (await redis.exists(`${prefix}hist:ucf:idle`, `${prefix}epoch:ucf:idle`, `${prefix}subs:ucf`)) === 0, 'the idle sub-channel to expire', 5000)
  const socket = await connect(await listen(app), token)
  await socket.next()
  socket.send({ op: 'subscribe', channels: ['ucf:idle', 'ucf'], since: { 'ucf:idle': { id: idle.id, epoch: idle.epoch }, ucf: { id: baseEvent.id, epoch: baseEvent.epoch } } })
  const answers = [await socket.next((f) => f.op === 'subscribed'), await socket.next((f) => f.op === 'subscribed')]
  const sub = answers.find((f) => f.channel === 'ucf:idle')!
  t.equal(sub.recovered, false, 'the expired sub-channel cannot be resumed')
  t.not(sub.epoch, idle.epoch, 'its epoch is new')
  t.match(answers.find((f) => f.channel === 'ucf'), { recovered: true, epoch: baseEvent.epoch }, 'the base channel resumes')
  socket.ws.close()
})

t.test('a subscribed sub-channel that expired and lost its place ends with subchannel_limit after a bus reconnect', async (t) => {
  // A private Redis: the test kills its pub/sub connections.
  const server = await privateRedis(t)
  const log = pino({ level: 'silent' })
  const bus = new RedisBus({ redis: createRedisFactory(server.url, log), prefix: 'helix:', historyLen: 100, source: 'all', log, maxSubchannels: 1, historyTtlMs: 300 })
  const app = await build(t, { REDIS_URL: server.url }, { plugins: [streamPlugin], bus })
  const redis = new Redis(server.url)
  t.teardown(() => redis.disconnect())
  const socket = await connect(await listen(app), tokenFor(app, ['stream:read']))
  await socket.next()
  socket.send({ op: 'subscribe', channels: ['ucf:a'] })
  await socket.next((f) => f.op === 'subscribed')
  await bus.publish('ucf:a', 'chat.message', {})
  await events(socket, 1)

  await waitFor(async () => (await redis.exists('helix:hist:ucf:a')) === 0, 'ucf:a to expire', 5000)
  await bus.publish('ucf:b', 'chat.message', {})
  // Events may have been lost while the subscriber connection was away: the hub reads ucf:a's history,
  // which the bus refuses now that ucf:b holds the one place.
  await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  t.match(await socket.next((f) => f.op === 'error'), { code: 'subchannel_limit', channel: 'ucf:a' })
  socket.send({ op: 'subscribe', channels: ['ucf:b'] })
  t.match(await socket.next((f) => f.op === 'subscribed'), { channel: 'ucf:b' }, 'the connection goes on')
  socket.ws.close()
})

