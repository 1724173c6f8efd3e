// One contract suite, run against the in-process bus and the Redis bus (a private redis-server, so
// the test may delete keys and kill connections freely).
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t from 'tap'
import { clientSource, MemoryBus, RedisBus, compareIds, type Bus, type BusEvent, type InternalEvent } from '../../core/bus/index.js'
import { privateRedis } from '../helpers/redis.js'
import { createRedisFactory } from '../../core/redis.js'

const log = pino({ level: 'silent' })

/** A clock for the in-process bus's sub-channel ages; the Redis bus ages by Redis's own time. */
interface FakeClock {
  now(): number
  advance(ms: number): void
}

function fakeClock(): FakeClock {
  let now = Date.now()
  return { now: () => now, advance: (ms) => void (now += ms) }
}

interface BusOptions {
  historyLen?: number
  historyTtlMs?: number
  maxSubchannels?: number
  clock?: FakeClock
}

interface Impl {
  name: string
  make(t: { teardown(fn: () => unknown): void }, options?: BusOptions): Promise<Bus>
  /** Lets a sub-channel sit idle until its history expired: the clock moves on, or Redis expires the keys. */
  idle(clock: FakeClock, channel: string, ttlMs: number): Promise<void>
  /** Milliseconds left to a sub-channel's history and epoch keys; undefined where there are no keys. */
  keyTtls?(channel: string): Promise<number[]>
  /** Deletes a channel's history as a Redis flush would; undefined where history cannot be lost. */
  loseHistory?(channel: string): Promise<void>
  /** Kills the subscriber connection from the server side. */
  killSubscriber?(): Promise<void>
}

function collect(bus: Bus, channel: string): { events: BusEvent[]; raw: string[]; ready: Promise<void> } {
  const events: BusEvent[] = []
  const raw: string[] = []
  const ready = bus.subscribe(channel, (event, json) => {
    events.push(event)
    raw.push(json)
  })
  return { events, raw, ready }
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const redisServer = await privateRedis(t)
const admin = new Redis(redisServer.url)
t.teardown(() => admin.disconnect())
let prefixes = 0

const impls: Impl[] = [
  {
    name: 'memory',
    async make(t, { historyLen = 1000, ...options } = {}) {
      const bus = new MemoryBus({ historyLen, source: 'test', log, ...options })
      t.teardown(() => bus.close())
      return bus
    },
    async idle(clock, _channel, ttlMs) {
      clock.advance(ttlMs)
    }
  },
  {
    name: 'redis',
    async make(t, { historyLen = 1000, historyTtlMs, maxSubchannels } = {}) {
      const bus = new RedisBus({ redis: createRedisFactory(redisServer.url, log), prefix: `p${prefixes}:`, historyLen, source: 'test', log, historyTtlMs, maxSubchannels })
      t.teardown(() => bus.close())
      await bus.connected()
      return bus
    },
    async idle(_clock, channel) {
      await until(async () => (await admin.exists(`p${prefixes}:hist:${channel}`, `p${prefixes}:epoch:${channel}`)) === 0, `the keys of ${channel} to expire`)
    },
    keyTtls(channel) {
      return Promise.all([admin.pttl(`p${prefixes}:hist:${channel}`), admin.pttl(`p${prefixes}:epoch:${channel}`)])
    },
    async loseHistory(channel) {
      await admin.del(`p${prefixes}:hist:${channel}`)
    },
    async killSubscriber() {
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    }
  }
]

for (const impl of impls) {
  t.test(`${impl.name} bus`, async (t) => {
    t.beforeEach(() => {
      prefixes++
    })

    t.test('delivers in publish order, with the exact published JSON', async (t) => {
      const bus = await impl.make(t)
      const got = collect(bus, 'ucf')
      await got.ready
      const published: BusEvent[] = []
      for (let i = 0; i < 1000; i++) published.push(await bus.publish('ucf', 'ucf.updated', { i, text: 'ü "quoted"' }))
      await until(() => got.events.length === 1000, '1000 events')
      t.same(got.events.map((e) => (e.data as { i: number }).i), [...Array(1000).keys()])
      t.same(got.events.map((e) => e.id), published.map((e) => e.id))
      t.ok(got.events.every((e, i) => i === 0 || compareIds(got.events[i - 1].id, e.id) < 0), 'ids strictly increase')
      t.same(JSON.parse(got.raw[0]), got.events[0])
      t.same(Object.keys(got.events[0]), ['channel', 'id', 'epoch', 'type', 'ts', 'source', 'data'], 'envelope field order')
      t.equal(got.events[0].source, 'test')
      t.equal(got.events[0].type, 'ucf.updated')
    })

    t.test('history after an id returns exactly the missed events', async (t) => {
      const bus = await impl.make(t)
      const events = []
      for (let i = 0; i < 10; i++) events.push(await bus.publish('agents', 'agent.updated', { i }))
      const { epoch } = events[0]
      const missed = await bus.history('agents', { id: events[4].id, epoch })
      t.equal(missed.recovered, true)
      t.same(missed.events.map((e) => e.id), events.slice(5).map((e) => e.id))
      t.same(missed.raw.map((r) => JSON.parse(r)), missed.events)
      t.equal(missed.offset, events[9].id)
      const upToDate = await bus.history('agents', { id: events[9].id, epoch })
      t.same([upToDate.recovered, upToDate.events.length], [true, 0])
      const position = await bus.history('agents')
      t.same([position.recovered, position.epoch, position.offset], [false, epoch, events[9].id])
      const otherEpoch = await bus.history('agents', { id: events[4].id, epoch: 'not-it' })
      t.same([otherEpoch.recovered, otherEpoch.events.length], [false, 0], 'another epoch is never recovered')
      const future = await bus.history('agents', { id: `${Date.now() + 60_000}-0`, epoch })
      t.equal(future.recovered, false, 'an id from the future is not recovered')
      const tooMany = await bus.history('agents', { id: events[0].id, epoch }, 5)
      t.same([tooMany.recovered, tooMany.events.length], [false, 0], 'never a partial set')
    })

    t.test('an empty channel has a stable epoch and position to resume from', async (t) => {
      const bus = await impl.make(t)
      const empty = await bus.history('rituals')
      const event = await bus.publish('rituals', 'ritual.progress', {})
      t.equal(event.epoch, empty.epoch, 'the first publish keeps the epoch a subscriber saw')
      const resumed = await bus.history('rituals', { id: empty.offset, epoch: empty.epoch })
      t.same([resumed.recovered, resumed.events.map((e) => e.id)], [true, [event.id]])
    })

    t.test('trimmed history is not recovered', async (t) => {
      const bus = await impl.make(t, { historyLen: 50 })
      const first = await bus.publish('alerts', 'alert.raised', { i: 0 })
      for (let i = 1; i < 400; i++) await bus.publish('alerts', 'alert.raised', { i })
      const result = await bus.history('alerts', { id: first.id, epoch: first.epoch })
      t.equal(result.recovered, false)
    })

    if (impl.loseHistory) {
      t.test('the epoch changes when the history is lost', async (t) => {
        const bus = await impl.make(t)
        const before = await bus.publish('ucf', 'ucf.updated', {})
        await impl.loseHistory!('ucf')
        const after = await bus.publish('ucf', 'ucf.updated', {})
        t.not(after.epoch, before.epoch)
        const result = await bus.history('ucf', { id: before.id, epoch: before.epoch })
        t.same([result.recovered, result.epoch], [false, after.epoch])
      })
    }

    if (impl.killSubscriber) {
      t.test('re-subscribes after its subscriber connection is killed', async (t) => {
        const bus = await impl.make(t)
        const got = collect(bus, 'system')
        await got.ready
        let reconnects = 0
        bus.onReconnect(() => reconnects++)
        await bus.publish('system', 'system.flags', { n: 1 })
        await until(() => got.events.length === 1, 'first event')
        await impl.killSubscriber!()
        await until(() => bus.isReady() === false || got.events.length === 1, 'noticing')
        // Publish until delivery resumes: events published while it reconnects may be missed
        // (history recovers those), but delivery must come back by itself.
        let n = 1
        const deadline = Date.now() + 10_000
        while (!got.events.some((e) => (e.data as { n: number }).n > 1) && Date.now() < deadline) {
          await bus.publish('system', 'system.flags', { n: ++n })
          await new Promise((r) => setTimeout(r, 50))
        }
        t.ok(got.events.some((e) => (e.data as { n: number }).n > 1), 'delivery resumed after the kill')
        t.ok(bus.isReady())
        t.equal(reconnects, 1, 'subscribers are told of the reconnect, to recover from history')
      })
    }

    t.test('two publishers racing lose nothing and agree on one order', async (t) => {
      const a = await impl.make(t)
      const b = impl.name === 'memory' ? a : await impl.make(t)
      const got = collect(a, 'commands')
      await got.ready
      const start = await a.history('commands')
      const run = (bus: Bus, who: string) =>
        Promise.all(Array.from({ length: 500 }, (_, i) => bus.publish('commands', 'command.updated', { who, i })))
      await Promise.all([run(a, 'a'), run(b, 'b')])
      await until(() => got.events.length === 1000, '1000 events')
      const history = await a.history('commands', { id: start.offset, epoch: start.epoch }, 2000)
      t.equal(history.recovered, true)
      t.same(got.events.map((e) => e.id), history.events.map((e) => e.id), 'live order equals history order')
      t.equal(new Set(got.events.map((e) => `${(e.data as { who: string }).who}${(e.data as { i: number }).i}`)).size, 1000)
      for (const who of ['a', 'b']) {
        const mine = got.events.filter((e) => (e.data as { who: string }).who === who).map((e) => (e.data as { i: number }).i)
        t.same(mine, [...mine].sort((x, y) => x - y), `publisher ${who}'s events keep its order`)
      }
    })

    t.test('data JSON cannot hold refuses that publish alone, never the batch it shares', async (t) => {
      const bus = await impl.make(t)
      const got = collect(bus, 'ucf')
      await got.ready
      let deep: unknown = []
      for (let i = 0; i < 5000; i++) deep = [deep]
      const circular: Record<string, unknown> = {}
      circular.self = circular
      // Published in one tick: the Redis bus sends them as one script call.
      const results = await Promise.allSettled([
        bus.publish('ucf', 'ucf.updated', { n: 1 }),
        bus.publish('ucf', 'ucf.updated', deep),
        bus.publish('ucf', 'ucf.updated', circular),
        bus.publish('ucf', 'ucf.updated', { big: 1n }),
        bus.publish('ucf', 'ucf.updated', { n: 2 })
      ])
      t.same(results.map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'rejected', 'fulfilled'])
      for (const r of results) if (r.status === 'rejected') t.match(r.reason, { name: 'BusRefusal', code: 'unserializable' })
      await until(() => got.events.length === 2, 'the two good events')
      t.same(got.events.map((e) => e.data), [{ n: 1 }, { n: 2 }])
      await t.rejects(bus.publishInternal('flags', 'flags.override', circular), { code: 'unserializable' })
    })

    t.test('client-published events reach only the handlers that ask for them', async (t) => {
      const bus = await impl.make(t)
      const helixOnly = collect(bus, 'commands')
      const everything: BusEvent[] = []
      await helixOnly.ready
      await bus.subscribe('commands', (e) => everything.push(e), { clientEvents: true })
      const start = await bus.history('commands')
      // Shaped like a cancel a command worker would act on; from a client it must reach no Helix code.
      await bus.publish('commands', 'chat.message', { id: 'c1', status: 'cancelled' }, clientSource('mallory'))
      await bus.publish('commands', 'command.updated', { id: 'c1', status: 'running' })
      await until(() => everything.length === 2, 'both events for the transport')
      t.same(everything.map((e) => e.source), ['client:mallory', 'test'])
      t.same(helixOnly.events.map((e) => e.type), ['command.updated'])
      const history = await bus.history('commands', { id: start.offset, epoch: start.epoch })
      t.equal(history.events.length, 2, 'history keeps both, for transports to replay')
    })

    t.test('a client source may not publish a reserved type or on system', async (t) => {
      const bus = await impl.make(t)
      const before = await bus.history('agents')
      for (const [channel, type] of [['agents', 'agent.updated'], ['agents:kael', 'Agent.Updated'], ['ucf', 'ucf.updated'], ['alerts', 'alert.raised'], ['commands', 'command.updated'], ['system', 'chat.message'], ['system:x', 'note'], ['ucf', 'ownership.no_owner'], ['ucf', 'bot.post']]) {
        await t.rejects(bus.publish(channel, type, {}, clientSource('mallory')), { name: 'BusRefusal', code: 'forbidden' }, `${type} on ${channel}`)
      }
      const after = await bus.history('agents', { id: before.offset, epoch: before.epoch })
      t.same([after.recovered, after.events.length], [true, 0], 'nothing was stored')
      const allowed = await bus.publish('agents', 'chat.message', { text: 'hi' }, clientSource('alice'))
      t.equal(allowed.source, 'client:alice')
      t.ok(await bus.publish('system', 'system.flags', {}), 'Helix itself still publishes on system')
    })

    t.test('internal channels reach internal subscribers only, apart from the public channel of that name', async (t) => {
      const a = await impl.make(t)
      const b = impl.name === 'memory' ? a : await impl.make(t)
      const internal: InternalEvent[] = []
      const onInternal = (e: InternalEvent) => internal.push(e)
      await b.subscribeInternal('flags', onInternal)
      const pub = collect(b, 'flags')
      await pub.ready
      await b.subscribe('flags', () => {}, { clientEvents: true })
      const start = await a.history('flags')
      await a.publishInternal('flags', 'flags.override', { name: 'helix.stream.dedicated' })
      await a.publish('flags', 'chat.message', { public: true }, clientSource('mallory'))
      await a.publish('flags', 'note', { public: true })
      await until(() => internal.length === 1 && pub.events.length === 1, 'the internal message and the public event')
      t.match(internal[0], { channel: 'flags', type: 'flags.override', source: 'test', ts: Number, data: { name: 'helix.stream.dedicated' } })
      t.same(pub.events.map((e) => e.type), ['note'], 'the internal message is not on the public channel')
      const history = await a.history('flags', { id: start.offset, epoch: start.epoch })
      t.same(history.events.map((e) => e.type), ['chat.message', 'note'], 'and not in its history')
      await b.unsubscribeInternal('flags', onInternal)
      await a.publishInternal('flags', 'flags.override', { n: 2 })
      await a.publish('flags', 'note', { after: true })
      await until(() => pub.events.length === 2, 'the later public event')
      t.equal(internal.length, 1, 'nothing after unsubscribeInternal')
    })

    t.test('sub-channels are limited per base channel; an idle one expires and frees its place', async (t) => {
      const clock = fakeClock()
      const ttlMs = 300
      const bus = await impl.make(t, { maxSubchannels: 2, historyTtlMs: ttlMs, clock })
      const idle = await bus.publish('ucf:a', 'chat.message', { n: 1 })
      await bus.publish('ucf:b', 'chat.message', {})
      await t.rejects(bus.publish('ucf:c', 'chat.message', {}), { name: 'BusRefusal', code: 'subchannel_limit', message: /"ucf" already has 2 sub-channels/ })
      await t.rejects(bus.history('ucf:c'), { code: 'subchannel_limit' }, 'reading a new sub-channel counts as using it')
      // In one batch (one script call on Redis) a refused sub-channel does not fail the others.
      const batch = await Promise.allSettled([bus.publish('ucf:c', 'chat.message', {}), bus.publish('ucf:a', 'chat.message', { n: 2 }), bus.publish('ucf', 'chat.message', {})])
      t.same(batch.map((r) => r.status), ['rejected', 'fulfilled', 'fulfilled'])
      t.ok(await bus.publish('agents:c', 'chat.message', {}), 'each base channel has its own limit')
      const base = await bus.publish('ucf', 'chat.message', { base: true })
      if (impl.keyTtls) {
        const [hist, epoch] = await impl.keyTtls('ucf:a')
        t.ok(hist > 0 && hist <= ttlMs && epoch > 0 && epoch <= ttlMs, `the sub-channel's keys expire (${hist}, ${epoch} ms)`)
        t.same(await impl.keyTtls('ucf'), [-1, -1], 'base channels never expire')
      }

      await impl.idle(clock, 'ucf:a', ttlMs)
      await impl.idle(clock, 'ucf:b', ttlMs)
      const resumed = await bus.history('ucf:a', { id: idle.id, epoch: idle.epoch })
      t.equal(resumed.recovered, false, 'an expired sub-channel cannot be resumed')
      t.not(resumed.epoch, idle.epoch, 'its epoch is new')
      const next = await bus.publish('ucf:c', 'chat.message', {})
      t.equal(next.channel, 'ucf:c', 'the expired sub-channels freed their places')
      await t.rejects(bus.publish('ucf:d', 'chat.message', {}), { code: 'subchannel_limit' }, 'ucf:a (read again) and ucf:c hold them now')
      const baseHistory = await bus.history('ucf', { id: base.id, epoch: base.epoch })
      t.same([baseHistory.recovered, baseHistory.offset], [true, base.id], 'the base channel kept its history')
    })

    if (impl.name === 'redis') {
      t.test('the sub-channel limit is counted across processes', async (t) => {
        const a = await impl.make(t, { maxSubchannels: 1 })
        const b = await impl.make(t, { maxSubchannels: 1 })
        await a.publish('agents:kael', 'chat.message', {})
        await t.rejects(b.publish('agents:lumina', 'chat.message', {}), { code: 'subchannel_limit' })
        t.ok(await b.publish('agents:kael', 'chat.message', {}), 'a sub-channel in use stays usable from every process')
      })
    }

    t.test('unsubscribe stops delivery to that handler only', async (t) => {
      const bus = await impl.make(t)
      const kept = collect(bus, 'voice')
      const dropped: BusEvent[] = []
      const handler = (e: BusEvent) => dropped.push(e)
      await kept.ready
      await bus.subscribe('voice', handler)
      await bus.publish('voice', 'voice.synthesized', { n: 1 })
      await until(() => kept.events.length === 1 && dropped.length === 1, 'both handlers')
      await bus.unsubscribe('voice', handler)
      await bus.publish('voice', 'voice.synthesized', { n: 2 })
      await until(() => kept.events.length === 2, 'second event')
      t.equal(dropped.length, 1)
    })
  })
}
