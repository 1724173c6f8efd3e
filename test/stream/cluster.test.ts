// Two Helix instances on one Redis: an event published on either reaches the subscribers of both,
// once each and in order.
import t from 'tap'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { connect, events, listen } from './ws.js'

t.test('events published on one instance reach subscribers on both, once each, in order', async (t) => {
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t) }
  const one = await build(t, env, { plugins: [streamPlugin] })
  const two = await build(t, env, { plugins: [streamPlugin] })
  const bases = [await listen(one), await listen(two)]
  const clients = await Promise.all([bases[0], bases[0], bases[1], bases[1]].map((b) => connect(b, tokenFor(one, ['stream:read', 'stream:publish']))))
  for (const c of clients) {
    c.send({ op: 'subscribe', channels: ['commands'] })
    await c.next((f) => f.op === 'subscribed')
  }

  const ids: string[] = []
  for (let n = 0; n < 60; n++) {
    const app = n % 2 === 0 ? one : two
    ids.push((await app.helix.kernel.bus.publish('commands', 'command.updated', { n })).id)
  }
  // And one published over a socket of the second instance (a client type: command.* is Helix's).
  clients[3].send({ op: 'publish', channel: 'commands', type: 'chat.message', data: { n: 60 }, ref: 1 })
  ids.push((await clients[3].next((f) => f.op === 'ack')).id as string)

  for (const [i, c] of clients.entries()) {
    const got = await events(c, ids.length)
    t.same(got.map((e) => e.id), ids, `client ${i} got every event once, in order`)
    c.send({ op: 'ping' })
    await c.next((f) => f.op === 'pong')
    t.same(c.frames.filter((f) => f.op === 'event'), [], `client ${i}: no duplicate after the last event`)
  }
  const stats = await Promise.all([one, two].map(async (app) => (await app.inject({ url: '/api/stream/stats', headers: { authorization: `Bearer ${tokenFor(app, ['admin'])}` } })).json()))
  t.same(stats.map((s) => s.subscriptions.commands), [2, 2], 'one bus subscription per instance serves both of its clients')
  t.same(stats.map((s) => s.eventsIn), [61, 61])
  for (const c of clients) c.ws.close()
})
