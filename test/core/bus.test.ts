// One contract suite, run against the in-process bus and the Redis bus (a private redis-server, so
// the test may delete keys and kill connections freely).
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t from 'tap'
import { MemoryBus, RedisBus, compareIds, type Bus, type BusEvent } from '../../core/bus/index.js'
import { privateRedis } from '../helpers/redis.js'

const log = pino({ level: 'silent' })

interface Impl {
  name: string
  make(t: { teardown(fn: () => unknown): void }, historyLen?: number): Promise<Bus>
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

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
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
    async make(t, historyLen = 1000) {
      const bus = new MemoryBus({ historyLen, source: 'test', log })
      t.teardown(() => bus.close())
      return bus
    }
  },
  {
    name: 'redis',
    async make(t, historyLen = 1000) {
      const bus = new RedisBus({ url: redisServer.url, prefix: `p${prefixes}:`, historyLen, source: 'test', log })
      t.teardown(() => bus.close())
      await bus.connected()
      return bus
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
      const bus = await impl.make(t, 50)
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
