// History recovery over real Redis: exactly the missed events in order before live ones, a new
// epoch with `recovered: false` after the history is lost, and delivery resuming after a Redis restart.
import { Redis } from 'ioredis'
import t from 'tap'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { privateRedis, redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { connect, events, listen } from './ws.js'

t.test('a reconnecting client gets exactly the 500 missed events in order, then live ones', async (t) => {
  const app = await build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t) }, { plugins: [streamPlugin] })
  const base = await listen(app)
  const bus = app.helix.kernel.bus
  const token = tokenFor(app, ['stream:read'])

  const first = await connect(base, token)
  first.send({ op: 'subscribe', channels: ['ucf'] })
  await first.next((f) => f.op === 'subscribed')
  const seen = await bus.publish('ucf', 'ucf.updated', { n: -1 })
  const [last] = await events(first, 1)
  t.equal(last.id, seen.id)
  first.ws.close()
  await first.closed

  const missed: string[] = []
  for (let n = 0; n < 500; n++) missed.push((await bus.publish('ucf', 'ucf.updated', { n })).id)

  const again = await connect(base, token)
  again.send({ op: 'subscribe', channels: ['ucf'], since: { ucf: { id: last.id, epoch: last.epoch } } })
  // Live events published while the recovery runs must come after the missed ones, without duplicates.
  const live: Promise<{ id: string }>[] = []
  for (let n = 500; n < 520; n++) live.push(bus.publish('ucf', 'ucf.updated', { n }))
  const subscribed = await again.next((f) => f.op === 'subscribed')
  t.match(subscribed, { channel: 'ucf', epoch: last.epoch, recovered: true })
  const liveIds = (await Promise.all(live)).map((e) => e.id)
  const received = await events(again, 520)
  t.same(received.map((e) => e.id), [...missed, ...liveIds], 'the missed 500 in order, then the live ones, once each')
  t.same(received.slice(0, 3).map((e) => (e.data as { n: number }).n), [0, 1, 2])
  const after = await bus.publish('ucf', 'ucf.updated', { n: 520 })
  t.equal((await events(again, 1))[0].id, after.id)
  again.ws.close()
})

t.test('after the history is lost the epoch changes and the client gets recovered: false', async (t) => {
  const redis = await privateRedis(t)
  const app = await build(t, { REDIS_URL: redis.url }, { plugins: [streamPlugin] })
  const base = await listen(app)
  const bus = app.helix.kernel.bus
  const client = await connect(base, tokenFor(app, ['stream:read']))
  client.send({ op: 'subscribe', channels: ['alerts'] })
  await client.next((f) => f.op === 'subscribed')
  await bus.publish('alerts', 'alert.raised', { level: 'high' })
  const [last] = await events(client, 1)
  client.ws.close()
  await client.closed

  const admin = new Redis(redis.url)
  await admin.flushall()
  admin.disconnect()
  await bus.publish('alerts', 'alert.raised', { level: 'critical' })

  const again = await connect(base, tokenFor(app, ['stream:read']))
  again.send({ op: 'subscribe', channels: ['alerts'], since: { alerts: { id: last.id, epoch: last.epoch } } })
  const subscribed = await again.next((f) => f.op === 'subscribed')
  t.equal(subscribed.recovered, false)
  t.not(subscribed.epoch, last.epoch, 'a new epoch')
  again.send({ op: 'ping' })
  await again.next((f) => f.op === 'pong')
  t.same(again.frames.filter((f) => f.op === 'event'), [], 'no partial replay: no event came before the pong')
  again.ws.close()
})

t.test('a Redis restart during streaming: the server survives, re-subscribes and delivery resumes', async (t) => {
  const redis = await privateRedis(t)
  const app = await build(t, { REDIS_URL: redis.url }, { plugins: [streamPlugin] })
  const base = await listen(app)
  const bus = app.helix.kernel.bus
  const client = await connect(base, tokenFor(app, ['stream:read']))
  client.send({ op: 'subscribe', channels: ['system'] })
  const before = await client.next((f) => f.op === 'subscribed')
  for (let n = 0; n < 20; n++) await bus.publish('system', 'system.flags', { n })
  t.equal((await events(client, 20)).length, 20)

  await redis.stop()
  await redis.start()
  let published
  while (!published) {
    published = await bus.publish('system', 'system.flags', { n: 'after' }).catch(() => null)
    if (!published) await new Promise((resolve) => setTimeout(resolve, 100))
  }
  // The history died with the server: the client is told to reload, then gets the new event.
  const reset = await client.next((f) => f.op === 'subscribed')
  t.match(reset, { channel: 'system', recovered: false })
  t.not(reset.epoch, before.epoch)
  // An event published before the reset may be covered by it (the reload); later ones are delivered.
  const later = await bus.publish('system', 'system.flags', { n: 'later' })
  const delivered: string[] = []
  while (delivered.at(-1) !== later.id) delivered.push((await client.next((f) => f.op === 'event')).id as string)
  t.ok(delivered.every((id) => id === published.id || id === later.id), 'only events after the restart')
  t.equal((await app.inject('/health/live')).statusCode, 200)
  client.ws.close()
})
