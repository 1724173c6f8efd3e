// The generic claiming worker (core/workers): never more items at once than its concurrency, a slot
// refilled as an item ends or handed to the item's next one, kicks folded while a claim is in flight,
// periodic jobs on the injected clock, a failed claim survived, and a stop that drains.
import { pino } from 'pino'
import t from 'tap'
import type { Clock } from '../../../core/clock.js'
import { ClaimingWorker, type PeriodicJob } from '../../../core/workers/claiming-worker.js'
import { waitFor } from '../../helpers/wait.js'
import { FakeClock } from '../../helpers/fake-clock.js'

const log = pino({ level: 'silent' })

function deferred<T = void>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

interface Item {
  id: string
  /** Resolves to the item that takes over this one's slot, or null. */
  done: Promise<Item | null>
}

/** A queue of items in memory, claimed as a database queue would be. */
class TestWorker extends ClaimingWorker<Item> {
  readonly name = 'test-worker'
  readonly queue: Item[] = []
  readonly claims: number[] = []
  readonly ran: string[] = []
  maxRunning = 0
  ticks = 0
  failNextClaim = false
  claimGate: Promise<void> | null = null

  constructor(concurrency: number, clock: Clock) {
    super({ log, concurrency, clock })
  }

  protected async claim(free: number): Promise<Item[]> {
    this.claims.push(free)
    if (this.claimGate) await this.claimGate
    if (this.failNextClaim) {
      this.failNextClaim = false
      throw new Error('database away')
    }
    return this.queue.splice(0, free)
  }

  protected idOf(item: Item): string {
    return item.id
  }

  protected async execute(item: Item): Promise<Item | null> {
    this.ran.push(item.id)
    this.maxRunning = Math.max(this.maxRunning, this.running.size)
    return item.done
  }

  protected periodic(): PeriodicJob[] {
    return [{ everyMs: 1000, run: () => {
      this.ticks++
      this.kick()
    } }]
  }

  get runningNow(): number {
    return this.running.size
  }
}

function items(n: number, prefix = 'i') {
  const ends = Array.from({ length: n }, () => deferred<Item | null>())
  return { list: ends.map((end, i) => ({ id: `${prefix}${i}`, done: end.promise })), end: (i: number, next: Item | null = null) => ends[i].resolve(next) }
}

t.test('never runs more than its concurrency, and refills a slot as each item ends', async (t) => {
  const worker = new TestWorker(3, new FakeClock())
  const { list, end } = items(7)
  worker.queue.push(...list)
  await worker.start()
  t.teardown(() => worker.stop())
  await waitFor(() => worker.runningNow === 3, 'three running')
  t.same(worker.ran, ['i0', 'i1', 'i2'])
  end(1)
  await waitFor(() => worker.ran.length === 4, 'a fourth item in the freed slot')
  t.equal(worker.runningNow, 3)
  for (let i = 0; i < 7; i++) end(i)
  await waitFor(() => worker.ran.length === 7 && worker.runningNow === 0, 'every item run')
  t.equal(worker.maxRunning, 3)
  t.ok(worker.claims.every((free) => free >= 1 && free <= 3), 'each claim asks for the free slots only')
})

t.test('an item hands its slot to the next item it claimed, without a claim', async (t) => {
  const worker = new TestWorker(1, new FakeClock())
  const { list, end } = items(2)
  worker.queue.push(list[0])
  await worker.start()
  t.teardown(() => worker.stop())
  await waitFor(() => worker.runningNow === 1, 'the first item running')
  const claimsBefore = worker.claims.length
  end(0, list[1])
  await waitFor(() => worker.ran.length === 2, 'the next item running')
  t.same(worker.ran, ['i0', 'i1'])
  t.equal(worker.claims.length, claimsBefore, 'the next item took the slot without a claim')
  end(1)
})

t.test('kicks during a claim fold into one more round', async (t) => {
  const worker = new TestWorker(4, new FakeClock())
  const gate = deferred()
  worker.claimGate = gate.promise
  await worker.start()
  t.teardown(() => worker.stop())
  t.equal(worker.claims.length, 1, 'start claims once')
  for (let i = 0; i < 5; i++) worker.kick()
  worker.claimGate = null
  gate.resolve()
  await waitFor(() => worker.claims.length === 2, 'one more round')
  worker.kick()
  await waitFor(() => worker.claims.length === 3, 'a later kick claims again')
  t.equal(worker.claims.length, 3)
})

t.test('periodic jobs run on the injected clock, and stop clears them', async (t) => {
  const clock = new FakeClock()
  const worker = new TestWorker(2, clock)
  await worker.start()
  t.equal(clock.pending, 1, 'the backstop poll is scheduled on the clock')
  t.equal(worker.ticks, 0)
  clock.advance(999)
  t.equal(worker.ticks, 0)
  clock.advance(1)
  t.equal(worker.ticks, 1)
  const { list, end } = items(1)
  worker.queue.push(...list)
  clock.advance(3000)
  t.equal(worker.ticks, 4)
  await waitFor(() => worker.ran.length === 1, 'the poll found the new item')
  end(0)
  await worker.stop()
  t.equal(clock.pending, 0, 'no timer left behind')
  clock.advance(5000)
  t.equal(worker.ticks, 4)
})

t.test('a failed claim is survived: the next kick claims again', async (t) => {
  const worker = new TestWorker(2, new FakeClock())
  worker.failNextClaim = true
  const { list, end } = items(1)
  worker.queue.push(...list)
  await worker.start()
  t.teardown(() => worker.stop())
  await waitFor(() => worker.claims.length === 1, 'the failed claim')
  t.equal(worker.ran.length, 0)
  worker.kick()
  await waitFor(() => worker.ran.length === 1, 'the item claimed on the next kick')
  end(0)
})

t.test('stop takes no new work and resolves once the items in flight have ended', async (t) => {
  const worker = new TestWorker(2, new FakeClock())
  const { list, end } = items(3)
  worker.queue.push(list[0])
  await worker.start()
  await waitFor(() => worker.runningNow === 1, 'one item running')
  const claims = worker.claims.length
  let stopped = false
  const stopping = worker.stop().then(() => (stopped = true))
  worker.queue.push(list[1], list[2])
  worker.kick()
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(stopped, false, 'stop waits for the item in flight')
  end(0)
  await stopping
  t.same(worker.ran, ['i0'], 'nothing new was run while stopping')
  t.equal(worker.claims.length, claims, 'nor claimed')
})
