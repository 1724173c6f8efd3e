// A client that stops reading is closed with 4008 while 100 others keep receiving everything, and
// the server stops queueing for it (its buffer is bounded by HELIX_WS_MAX_BUFFER).
import t from 'tap'
import WebSocket from 'ws'
import { streamPlugin } from '../../plugins/stream/index.js'
import { bearer, build, tokenFor } from '../helpers/build.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { connect, listen } from './ws.js'

t.test('a slow consumer is closed with 4008 and the others get every event', async (t) => {
  const maxBuffer = 64 * 1024
  const app = await build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), HELIX_WS_MAX_BUFFER: String(maxBuffer), HELIX_WS_CONNECT_RATE: '1000' }, { plugins: [streamPlugin] })
  const base = await listen(app)
  const bus = app.helix.kernel.bus
  const token = tokenFor(app, ['stream:read'])

  // The 100 others only count their events, so the test's own memory stays flat.
  const counts: number[] = []
  const others: WebSocket[] = []
  for (let i = 0; i < 100; i++) {
    const ws = new WebSocket(`${base}/ws?token=${token}`)
    counts.push(0)
    await new Promise<void>((resolve) => ws.on('message', (data) => {
      const text = data.toString()
      if (text.startsWith('{"op":"event"')) counts[i]++
      else if (text.startsWith('{"op":"welcome"')) ws.send(JSON.stringify({ op: 'subscribe', channels: ['voice'] }))
      else if (text.startsWith('{"op":"subscribed"')) resolve()
    }))
    others.push(ws)
  }
  const slow = await connect(base, token)
  slow.send({ op: 'subscribe', channels: ['voice'] })
  await slow.next((f) => f.op === 'subscribed')
  slow.ws.pause()

  const stats = async () => (await app.inject({ url: '/api/stream/stats', headers: bearer(app, ['stream:read']) })).json()
  const allReceived = async (n: number) => {
    while (counts.some((c) => c < n)) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const payload = 'x'.repeat(8 * 1024)
  let published = 0
  // Publish until the server gives up on the paused socket; the kernel's socket buffers fill first.
  while ((await stats()).dropped.slowConsumer === 0 && published < 4000) {
    for (let i = 0; i < 50; i++) await bus.publish('voice', 'voice.synthesized', { n: published++, payload })
  }
  t.equal((await stats()).dropped.slowConsumer, 1, `closed after ${published} events of 8 KiB`)
  await allReceived(published)

  const before = await stats()
  const heapBefore = process.memoryUsage().heapUsed
  for (let i = 0; i < 500; i++) await bus.publish('voice', 'voice.synthesized', { n: published++, payload })
  await allReceived(published)
  const after = await stats()
  t.equal(after.eventsOut - before.eventsOut, 500 * 100, 'nothing more is written or queued for the slow socket')
  t.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'heap stays bounded while publishing on')
  t.same(new Set(counts), new Set([published]), 'each of the 100 others received every event')

  slow.ws.resume()
  t.equal((await slow.closed).code, 4008)
  while ((await stats()).connections !== 100) await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal((await stats()).subscriptions.voice, 100)
  for (const ws of others) ws.close()
})
