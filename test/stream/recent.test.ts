// The feed's history: bus.recent (the newest events of a channel, oldest first, as published) on
// both bus kinds, and GET /api/stream/recent (auth, channels, limit bounds, order across channels).
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { Bus, BusEvent } from '../../core/bus/index.js'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

type Test = { teardown(fn: () => unknown): void }

const kinds = {
  memory: (_t: Test) => ({}),
  redis: (t: Test) => ({ REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t, 'recent') })
}

/** What a live subscriber received, to compare with what `recent` answers later. */
async function published(bus: Bus, channel: string, count: number, from = 0): Promise<{ events: BusEvent[]; raw: string[] }> {
  const seen = { events: [] as BusEvent[], raw: [] as string[] }
  const handler = (event: BusEvent, raw: string) => {
    seen.events.push(event)
    seen.raw.push(raw)
  }
  await bus.subscribe(channel, handler)
  for (let i = from; i < from + count; i++) await bus.publish(channel, 'alert.raised', { n: i, text: 'ünïcode "quoted"' })
  await waitFor(() => seen.raw.length === count, `${count} events delivered`)
  await bus.unsubscribe(channel, handler)
  return seen
}

for (const [kind, env] of Object.entries(kinds)) {
  t.test(`${kind} bus: recent`, async (t) => {
    const app = await build(t, { ...env(t), HELIX_HISTORY_LEN: '1000' }, { plugins: [streamPlugin] })
    const bus = app.helix.kernel.bus
    t.equal(bus.kind, kind)

    t.same(await bus.recent('alerts', 10), { events: [], raw: [] }, 'a channel never published on has no history')

    const live = await published(bus, 'alerts', 12)
    const last5 = await bus.recent('alerts', 5)
    t.same(last5.raw, live.raw.slice(-5), 'the newest five, oldest first, as the exact bytes subscribers got')
    t.same(last5.events, live.events.slice(-5))
    t.same(last5.events.map((e) => (e.data as { n: number }).n), [7, 8, 9, 10, 11])

    const all = await bus.recent('alerts', 200)
    t.same(all.raw, live.raw, 'a limit past the history gives all of it')
    t.same((await bus.recent('alerts', 0)).raw, [])
    t.same((await bus.recent('rituals', 3)).raw, [], 'other channels are untouched')
  })

  t.test(`${kind} bus: GET /api/stream/recent`, async (t) => {
    const app = await build(t, env(t), { plugins: [streamPlugin] })
    const bus = app.helix.kernel.bus
    const reader = tokenFor(app, ['stream:read'])
    const get = (query: string, token: string | null = reader) =>
      app.inject({ url: `/api/stream/recent?${query}`, headers: token ? { authorization: `Bearer ${token}` } : {} })

    // Interleaved across three channels, each in a millisecond of its own: across channels the
    // publish time is all that orders events.
    const order: string[] = []
    let last = 0
    for (let i = 0; i < 9; i++) {
      const channel = ['alerts', 'zapier', 'commands'][i % 3]
      await waitFor(() => Date.now() > last, 'the next millisecond', 1000, 1)
      const event = await bus.publish(channel, `${channel}.test`, { i })
      order.push(`${channel}:${event.id}`)
      last = event.ts
    }
    await bus.publish('voice', 'voice.test', { i: 'not asked for' })

    const res = await get('channels=alerts,zapier,commands&limit=50')
    t.equal(res.statusCode, 200, res.body)
    t.match(res.headers['content-type'], /^application\/json/)
    const events: BusEvent[] = res.json().events
    t.same(events.map((e) => `${e.channel}:${e.id}`), order, 'merged across the channels, oldest first, none from channels not asked for')
    t.same(events.map((e) => (e.data as { i: number }).i), [0, 1, 2, 3, 4, 5, 6, 7, 8])
    for (const e of events) t.match(e, { epoch: String, ts: Number, source: String, type: `${e.channel}.test` })

    const newest = await get('channels=commands,alerts,zapier&limit=4')
    t.same(newest.json().events.map((e: BusEvent) => `${e.channel}:${e.id}`), order.slice(-4), 'the limit keeps the newest, still oldest first')

    const defaulted = await get('channels=alerts')
    t.equal(defaulted.json().events.length, 3)

    t.equal((await get('channels=alerts', null)).statusCode, 401, 'a token is required')
    const forbidden = await get('channels=alerts', tokenFor(app, ['agents:read']))
    t.same([forbidden.statusCode, forbidden.json().error], [403, 'forbidden'], 'stream:read is required')

    for (const channels of ['alerts,bogus', 'ALERTS', 'alerts:kael', 'alerts,', '']) {
      const bad = await get(`channels=${encodeURIComponent(channels)}`)
      t.same([bad.statusCode, bad.json().error], [400, 'validation_failed'], `channels=${channels}`)
    }
    t.match((await get('channels=alerts,bogus')).json().message, /bogus/, 'the message names the unknown channel')
    t.equal((await get('limit=5')).statusCode, 400, 'channels are required')
    for (const limit of ['0', '201', '-1', '1.5', 'many']) t.equal((await get(`channels=alerts&limit=${limit}`)).statusCode, 400, `limit=${limit}`)
    t.equal((await get('channels=alerts&limit=200')).statusCode, 200, 'limit 200 is allowed')
    t.equal((await get('channels=alerts&limit=1')).json().events.length, 1, 'limit 1 is allowed')
    const unknown = await get('channels=alerts&since=0')
    t.equal(unknown.statusCode, 400, 'unknown parameters are refused')
    t.match(unknown.json().message, /since/)
  })
}

t.test('client-published events are in the history as they were published, source and all', async (t) => {
  const app: FastifyInstance = await build(t, kinds.redis(t), { plugins: [streamPlugin] })
  const token = tokenFor(app, ['stream:read', 'stream:publish'], 3600, 'alice')
  const sent = await app.inject({ method: 'POST', url: '/api/stream/publish', headers: { authorization: `Bearer ${token}` }, payload: { channel: 'zapier', type: 'note.posted', data: { text: 'hi' } } })
  t.equal(sent.statusCode, 200, sent.body)
  const res = await app.inject({ url: '/api/stream/recent?channels=zapier', headers: { authorization: `Bearer ${token}` } })
  t.same(res.json().events, [sent.json()])
  t.equal(res.json().events[0].source, 'client:alice')
})
