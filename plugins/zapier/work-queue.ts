// The inbound work queue: event ids on a Redis Stream read by a consumer group (every owning replica
// one consumer), or an in-process queue with the same interface in the embedded default (no Redis).
// The database row is the record; the queue only says what to run, and may be rebuilt from the rows.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'

export interface QueueEntry {
  /** The entry's id in the queue (the stream id). */
  entryId: string
  eventId: string
}

export interface WorkQueue {
  readonly kind: 'redis' | 'memory'
  add(eventId: string): Promise<void>
  /** New entries for this consumer, waiting up to `blockMs` for one. */
  read(consumer: string, count: number, blockMs: number): Promise<QueueEntry[]>
  /** Entries another consumer took but did not acknowledge within `minIdleMs` (it died): now this consumer's. */
  reclaim(consumer: string, minIdleMs: number, count: number): Promise<QueueEntry[]>
  /** Done with an entry: acknowledged and removed, so the stream only ever holds pending or unread entries. */
  ack(entryId: string): Promise<void>
  /** Records an event given up on (after its last delivery), for operators. */
  deadLetter(eventId: string, reason: string): Promise<void>
  /** Called when the queue found its data lost (the group had to be made again); returns an unsubscribe. */
  onLost(listener: () => void): () => void
  close(): Promise<void>
}

const GROUP = 'zapier'

/** A Redis Stream and its consumer group; `connection` makes the blocking reader its own connection. */
export class RedisWorkQueue implements WorkQueue {
  readonly kind = 'redis'
  private readonly stream: string
  private readonly deadStream: string
  private readonly listeners = new Set<() => void>()
  private groupReady: Promise<void> | null = null
  private acking: string[] = []
  private acked: Promise<void> | null = null
  /**
   * Where the next reclaim goes on in the pending entries: one XAUTOCLAIM looks at no more than ten
   * times its COUNT, so always starting at the head would never reach idle entries behind busy ones.
   */
  private reclaimFrom = '0-0'

  constructor(
    private readonly redis: Redis,
    private readonly reader: Redis,
    prefix: string,
    private readonly log: Logger
  ) {
    this.stream = `${prefix}zapier:inbound`
    this.deadStream = `${prefix}zapier:dead`
  }

  async add(eventId: string): Promise<void> {
    // Fails at once while Redis is away, rather than holding the sender's answer: the sweep queues it later.
    if (this.redis.status !== 'ready') throw new Error(`Redis is ${this.redis.status}`)
    await this.redis.xadd(this.stream, '*', 'e', eventId)
  }

  async read(consumer: string, count: number, blockMs: number): Promise<QueueEntry[]> {
    return this.withGroup(async () => {
      const reply = (await this.reader.xreadgroup('GROUP', GROUP, consumer, 'COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.stream, '>')) as [string, [string, string[]][]][] | null
      return entriesOf(reply?.[0]?.[1] ?? [])
    })
  }

  async reclaim(consumer: string, minIdleMs: number, count: number): Promise<QueueEntry[]> {
    return this.withGroup(async () => {
      const reply = (await this.redis.xautoclaim(this.stream, GROUP, consumer, minIdleMs, this.reclaimFrom, 'COUNT', count)) as [string, [string, string[] | null][]]
      // 0-0 once the scan reached the end: the next one starts over.
      this.reclaimFrom = reply[0]
      return entriesOf(reply[1].filter((e): e is [string, string[]] => Array.isArray(e[1])))
    })
  }

  ack(entryId: string): Promise<void> {
    // The acks of one tick go out as one XACK and one XDEL.
    this.acking.push(entryId)
    this.acked ??= new Promise<void>((resolve, reject) => setImmediate(() => {
      const ids = this.acking
      this.acking = []
      this.acked = null
      this.redis.xack(this.stream, GROUP, ...ids).then(() => this.redis.xdel(this.stream, ...ids)).then(() => resolve(), reject)
    }))
    return this.acked
  }

  async deadLetter(eventId: string, reason: string): Promise<void> {
    await this.redis.xadd(this.deadStream, 'MAXLEN', '~', '10000', '*', 'e', eventId, 'reason', reason.slice(0, 500))
  }

  onLost(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  async close(): Promise<void> {
    this.reader.disconnect()
  }

  /** Runs a group command; a missing group (Redis restarted empty) is made again from the start of the stream. */
  private async withGroup<T>(work: () => Promise<T>): Promise<T> {
    await (this.groupReady ??= this.createGroup())
    try {
      return await work()
    } catch (err) {
      if (!String((err as Error).message).startsWith('NOGROUP')) throw err
      this.groupReady = null
      await (this.groupReady = this.createGroup())
      this.log.warn('the Zapier work queue was lost (Redis restarted without its data): putting the unprocessed events back on it')
      for (const listener of this.listeners) listener()
      return work()
    }
  }

  private async createGroup(): Promise<void> {
    try {
      // From the stream's start: entries added after a loss but before the group existed are read too.
      await this.redis.xgroup('CREATE', this.stream, GROUP, '0', 'MKSTREAM')
    } catch (err) {
      if (!String((err as Error).message).startsWith('BUSYGROUP')) {
        this.groupReady = null
        throw err
      }
    }
  }
}

function entriesOf(raw: [string, string[]][]): QueueEntry[] {
  return raw.map(([entryId, fields]) => ({ entryId, eventId: fields[fields.indexOf('e') + 1] ?? '' }))
}

/** The embedded default: the same contract in process memory; lost with the process, like a Redis without persistence. */
export class MemoryWorkQueue implements WorkQueue {
  readonly kind = 'memory'
  private seq = 0
  private readonly unread: QueueEntry[] = []
  private readonly pending = new Map<string, { entry: QueueEntry; consumer: string; since: number }>()
  private readonly waiters = new Set<() => void>()
  readonly dead: { eventId: string; reason: string }[] = []

  constructor(private readonly now: () => number = Date.now) {}

  async add(eventId: string): Promise<void> {
    this.unread.push({ entryId: `${this.now()}-${this.seq++}`, eventId })
    for (const wake of this.waiters) wake()
  }

  async read(consumer: string, count: number, blockMs: number): Promise<QueueEntry[]> {
    if (this.unread.length === 0 && blockMs > 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          this.waiters.delete(wake)
          resolve()
        }
        const timer = setTimeout(wake, blockMs)
        this.waiters.add(wake)
      })
    }
    const taken = this.unread.splice(0, count)
    for (const entry of taken) this.pending.set(entry.entryId, { entry, consumer, since: this.now() })
    return taken
  }

  async reclaim(consumer: string, minIdleMs: number, count: number): Promise<QueueEntry[]> {
    const out: QueueEntry[] = []
    for (const p of this.pending.values()) {
      if (out.length >= count) break
      if (this.now() - p.since < minIdleMs) continue
      p.consumer = consumer
      p.since = this.now()
      out.push(p.entry)
    }
    return out
  }

  async ack(entryId: string): Promise<void> {
    this.pending.delete(entryId)
  }

  async deadLetter(eventId: string, reason: string): Promise<void> {
    this.dead.push({ eventId, reason })
  }

  onLost(): () => void {
    return () => undefined
  }

  async close(): Promise<void> {
    for (const wake of this.waiters) wake()
  }
}
