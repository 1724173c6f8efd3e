// Deep nesting (issue 10, finding 1): a frame nested past 32 levels is refused with `too_deep`, and
// data the bus cannot serialise fails that publish alone; the replica keeps serving.
import t from 'tap'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { connect, events, listen } from './ws.js'

/** JSON text of `levels` nested arrays. */
const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels)

t.test('a frame nested past 32 levels gets too_deep; the socket and the replica live on', async (t) => {
  const app = await build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t) }, { plugins: [streamPlugin] })
  const base = await listen(app)
  const token = tokenFor(app, ['stream:read', 'stream:publish'])
  const watcher = await connect(base, token)
  await watcher.next()
  watcher.send({ op: 'subscribe', channels: ['ucf'] })
  await watcher.next((f) => f.op === 'subscribed')
  const client = await connect(base, token)
  await client.next()

  // The attack of the issue: ~10 KB of 5,000 nested arrays, which JSON.stringify cannot take.
  client.send(`{"op":"publish","channel":"ucf","type":"chat.message","data":${nested(5000)},"ref":1}`)
  t.match(await client.next(), { op: 'error', code: 'too_deep', ref: 1, message: /32 levels/ })
  // The frame is the first level: data may nest 31 more.
  client.send(`{"op":"publish","channel":"ucf","type":"chat.message","data":${nested(31)},"ref":2}`)
  t.match(await client.next(), { op: 'ack', ref: 2 })
  client.send(`{"op":"publish","channel":"ucf","type":"chat.message","data":${nested(32)},"ref":3}`)
  t.match(await client.next(), { op: 'error', code: 'too_deep', ref: 3 })
  client.send(`{"op":"subscribe","channels":["agents"],"extra":{"a":${nested(40)}}}`)
  t.match(await client.next(), { op: 'error', code: 'too_deep' }, 'any op, any field')
  client.send({ op: 'ping' })
  t.same(await client.next(), { op: 'pong' }, 'the socket still works')

  const [event] = await events(watcher, 1)
  t.same(event.data, JSON.parse(nested(31)), 'only the accepted publish went out')

  const http = await app.inject({
    method: 'POST',
    url: '/api/stream/publish',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    payload: `{"channel":"ucf","type":"chat.message","data":${nested(5000)}}`
  })
  t.equal(http.statusCode, 400, 'HTTP: refused as bad input, not a 500 and not a crash')
  t.match(http.json(), { error: String, message: String })
  t.equal((await app.inject('/health/live')).statusCode, 200)
  watcher.send({ op: 'ping' })
  await watcher.next((f) => f.op === 'pong')
  t.same(watcher.frames.filter((f) => f.op === 'event'), [], 'nothing else was published')
  for (const s of [watcher, client]) s.ws.close()
})
