// The StreamClient against real servers: it reconnects with a fresh token and resumes without loss
// or duplicates, and follows a 1012 reconnect hint to the new owner.
import t from 'tap'
import { StreamClient, type StreamEvent, type SubscribedInfo } from '../../core/clients/stream-client.js'
import { ManualFlags } from '../helpers/manual-flags.js'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { freePort } from '../helpers/net.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'

const waitFor = async (check: () => boolean, what: string, ms = 30_000) => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}


t.test('reconnects after its token expired, with a fresh one, and resumes every channel exactly', async (t) => {
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const app = await build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), HELIX_PUBLIC_URL: base }, { plugins: [streamPlugin] })
  await app.listen({ port, host: '127.0.0.1' })
  const received: StreamEvent[] = []
  const subscribed: SubscribedInfo[] = []
  const client = new StreamClient({
    url: base,
    // Two-second tokens (exp has whole-second precision): short enough to expire mid-run, long
    // enough that a connect on a busy machine does not outlive its token.
    token: () => tokenFor(app, ['stream:read'], 2),
    channels: ['ucf', 'rituals'],
    backoff: { initialMs: 20, maxMs: 100 },
    onEvent: (e) => received.push(e),
    onSubscribed: (s) => subscribed.push(s)
  })
  t.teardown(() => client.close())
  client.connect()
  await waitFor(() => subscribed.length === 2, 'both subscriptions')

  const published: string[] = []
  // Long enough to span several 1-second tokens, so several reconnects fall in the middle.
  for (let n = 0; n < 240; n++) {
    const event = await app.helix.kernel.bus.publish(n % 3 === 0 ? 'rituals' : 'ucf', 'ritual.progress', { n })
    published.push(event.id)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  await waitFor(() => received.length >= published.length, 'every published event')
  t.ok(subscribed.filter((s) => s.resumed).length >= 2, 'it resumed after reconnecting')
  t.ok(subscribed.every((s) => !s.resumed || s.recovered), 'every resume was recovered')
  // Order holds within a channel; a resume replays one channel after the other.
  for (const channel of ['ucf', 'rituals']) {
    const expected = published.map((_, n) => n).filter((n) => (n % 3 === 0) === (channel === 'rituals'))
    t.same(received.filter((e) => e.channel === channel).map((e) => (e.data as { n: number }).n), expected, `every ${channel} event once, in order`)
  }
  t.equal(received.length, published.length)
  t.notOk('op' in received[0], 'events are envelopes')
})

t.test('follows a 1012 hint to the new owner and resumes there', async (t) => {
  const prefix = redisPrefix(t)
  const [portA, portB] = [await freePort(), await freePort()]
  const urlA = `http://127.0.0.1:${portA}`
  const urlB = `http://127.0.0.1:${portB}`
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: prefix }
  const flags = new ManualFlags()
  // The dedicated stream service, which owns streaming once the flag says so.
  const owner = await build(t, { ...env, HELIX_ROLE: 'stream', HELIX_PUBLIC_URL: urlB }, { flags, plugins: [streamPlugin] })
  await owner.listen({ port: portB, host: '127.0.0.1' })
  const old = await build(t, { ...env, HELIX_PUBLIC_URL: urlA, HELIX_PUBLIC_URLS: `stream=${urlB}` }, { flags, plugins: [streamPlugin] })
  await old.listen({ port: portA, host: '127.0.0.1' })
  await waitFor(() => old.helix.liveOwners.hasReadyDedicated('stream'), 'the stream service announced as ready')

  const received: string[] = []
  const states: string[] = []
  const client = new StreamClient({
    url: urlA,
    token: tokenFor(old, ['stream:read']),
    channels: ['agents'],
    backoff: { initialMs: 20, maxMs: 100 },
    onEvent: (e) => received.push(e.id),
    onState: (s) => states.push(s)
  })
  t.teardown(() => client.close())
  client.connect()
  await waitFor(() => client.position('agents') !== undefined, 'a position on agents')

  const published: string[] = []
  for (let n = 0; n < 50; n++) {
    if (n === 20) flags.flip('helix.stream.dedicated', true)
    published.push((await old.helix.kernel.bus.publish('agents', 'agent.updated', { n })).id)
  }
  await waitFor(() => received.length >= published.length, 'every published event')
  t.same(received, published, 'nothing lost or repeated across the move')
  t.same(((await owner.inject({ url: '/api/stream/stats', headers: { authorization: `Bearer ${tokenFor(owner, ['admin'])}` } })).json()).connections, 1, 'connected to the new owner')
  t.ok(states.includes('reconnecting'))
})
