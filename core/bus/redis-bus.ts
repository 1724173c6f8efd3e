// The Redis bus: one Lua script appends to the channel's history stream and publishes the envelope,
// so history and live delivery share one order. One subscriber connection per process.
import { Redis } from 'ioredis'
import type { Logger } from 'pino'
import { newEpoch } from './envelope.js'
import { compareIds, type Bus, type BusEvent, type BusHandler, type HistoryResult } from './types.js'


// Shared by both scripts: the epoch changes whenever the history stream is gone (a flush, a DEL).
// A new history stream is created at once (an added and deleted seed entry) so an empty channel
// keeps a stable epoch and a last-generated id a client can resume from.
const ENSURE_EPOCH = `
local epoch = redis.call('GET', KEYS[2])
if (not epoch) or redis.call('EXISTS', KEYS[1]) == 0 then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
  local seed = redis.call('XADD', KEYS[1], '*', 'seed', '1')
  redis.call('XDEL', KEYS[1], seed)
end
`

// Publishes a batch of events, possibly on several channels, in one atomic and ordered step.
// KEYS: hist, epoch of channel 1, hist, epoch of channel 2, ...
// ARGV: epoch candidate, maxlen, channel count, then per channel: channel (JSON), pub/sub name,
// then per event: channel index, type (JSON), source (JSON), data (JSON).
// Returns the epoch of each channel, then the id of each event.
const PUBLISH = `
local maxlen, nch = ARGV[2], tonumber(ARGV[3])
local epochs, names, pubsub = {}, {}, {}
local a = 4
for i = 1, nch do
  names[i], pubsub[i] = ARGV[a], ARGV[a + 1]
  a = a + 2
  local hist, key = KEYS[2 * i - 1], KEYS[2 * i]
  local epoch = redis.call('GET', key)
  if (not epoch) or redis.call('EXISTS', hist) == 0 then
    epoch = ARGV[1] .. i
    redis.call('SET', key, epoch)
    local seed = redis.call('XADD', hist, '*', 'seed', '1')
    redis.call('XDEL', hist, seed)
  end
  epochs[i] = epoch
end
local out = {}
for i = 1, nch do out[i] = epochs[i] end
while a <= #ARGV do
  local i, t, s, d = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  a = a + 4
  local id = redis.call('XADD', KEYS[2 * i - 1], 'MAXLEN', '~', maxlen, '*', 't', t, 's', s, 'd', d)
  redis.call('PUBLISH', pubsub[i], '{"channel":' .. names[i] .. ',"id":"' .. id .. '","epoch":"' .. epochs[i] .. '","type":' .. t .. ',"ts":' .. string.match(id, '^(%d+)-') .. ',"source":' .. s .. ',"data":' .. d .. '}')
  out[#out + 1] = id
end
return out
`

// ARGV: candidate epoch, since id ('' for none), since epoch, limit
// Returns {epoch, lastGeneratedId, maxDeletedId, entries (limit + 1 at most) or false}
const HISTORY = `${ENSURE_EPOCH}
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local last, deleted = '0-0', '0-0'
for i = 1, #info, 2 do
  if info[i] == 'last-generated-id' then last = info[i + 1] end
  if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
end
if ARGV[2] == '' or ARGV[3] ~= epoch then return {epoch, last, deleted, false} end
return {epoch, last, deleted, redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', tonumber(ARGV[4]) + 1)}
`

type PublishReply = string[]
type HistoryReply = [epoch: string, last: string, deleted: string, entries: [string, string[]][] | null]

/** The two scripts, as ioredis defines them on the connection. */
interface BusScripts {
  helixPublish(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<PublishReply>
  helixHistory(hist: string, epochKey: string, ...args: (string | number)[]): Promise<HistoryReply>
}

/** Most events one publish script call carries. */
const MAX_BATCH = 256

interface PendingPublish {
  channel: string
  type: string
  data: unknown
  source: string
  resolve(event: BusEvent): void
  reject(err: Error): void
}

export interface RedisBusOptions {
  url: string
  /** Key and channel namespace, `helix:` by default. */
  prefix: string
  historyLen: number
  source: string
  log: Logger
}

export function redisOptions(name: string) {
  return {
    connectionName: name,
    maxRetriesPerRequest: 2,
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000)
  }
}

export class RedisBus implements Bus {
  readonly kind = 'redis' as const
  private readonly pub: Redis
  private readonly scripts: BusScripts
  private readonly sub: Redis
  private readonly handlers = new Map<string, Set<BusHandler>>()
  private pending: PendingPublish[] = []
  private readonly reconnectListeners = new Set<() => void>()
  private subscriberWasReady = false
  private readonly keys: { pubsub(c: string): string; history(c: string): string; epoch(c: string): string }

  constructor(private readonly options: RedisBusOptions) {
    const { prefix } = options
    this.keys = {
      pubsub: (channel) => `${prefix}ch:${channel}`,
      history: (channel) => `${prefix}hist:${channel}`,
      epoch: (channel) => `${prefix}epoch:${channel}`
    }
    // Auto-pipelining writes every publish of one event-loop tick in a single round trip.
    this.pub = new Redis(options.url, { ...redisOptions('helix-bus-pub'), enableAutoPipelining: true })
    this.sub = new Redis(options.url, redisOptions('helix-bus-sub'))
    this.pub.defineCommand('helixPublish', { lua: PUBLISH })
    this.pub.defineCommand('helixHistory', { numberOfKeys: 2, lua: HISTORY })
    this.scripts = this.pub as unknown as BusScripts
    this.sub.on('message', (redisChannel: string, raw: string) => this.deliver(redisChannel.slice(prefix.length + 3), raw))
    // ioredis renews the subscriptions before 'ready'; every 'ready' after the first is a reconnect.
    this.sub.on('ready', () => {
      if (this.subscriberWasReady) {
        options.log.info('redis bus subscriber reconnected')
        for (const listener of this.reconnectListeners) listener()
      }
      this.subscriberWasReady = true
    })
    for (const [name, conn] of [['publisher', this.pub], ['subscriber', this.sub]] as const) {
      conn.on('error', (err: Error) => options.log.warn({ err: err.message, connection: name }, 'redis bus connection error'))
      conn.on('ready', () => options.log.debug({ connection: name }, 'redis bus connection ready'))
    }
  }

  /** Resolves once both connections are ready (ioredis connects and reconnects by itself). */
  async connected(): Promise<void> {
    await Promise.all([this.pub, this.sub].map((c) => (c.status === 'ready' ? undefined : new Promise((resolve) => c.once('ready', resolve)))))
  }

  /**
   * Publishes made in the same tick go to Redis as one script call (up to MAX_BATCH events), which
   * keeps their order and costs one round trip and one script run instead of one per event.
   */
  publish<T>(channel: string, type: string, data: T, source = this.options.source): Promise<BusEvent<T>> {
    return new Promise<BusEvent>((resolve, reject) => {
      this.pending.push({ channel, type, data, source, resolve, reject })
      if (this.pending.length >= MAX_BATCH) this.flush()
      else if (this.pending.length === 1) queueMicrotask(() => this.flush())
    }) as Promise<BusEvent<T>>
  }

  private flush(): void {
    const batch = this.pending
    if (batch.length === 0) return
    this.pending = []
    const channels = new Map<string, number>()
    const keys: string[] = []
    const header: (string | number)[] = []
    const events: (string | number)[] = []
    for (const p of batch) {
      let index = channels.get(p.channel)
      if (index === undefined) {
        index = channels.size + 1
        channels.set(p.channel, index)
        keys.push(this.keys.history(p.channel), this.keys.epoch(p.channel))
        header.push(JSON.stringify(p.channel), this.keys.pubsub(p.channel))
      }
      events.push(index, JSON.stringify(p.type), JSON.stringify(p.source), JSON.stringify(p.data ?? null))
    }
    this.scripts
      .helixPublish(keys.length, ...keys, newEpoch(), this.options.historyLen, channels.size, ...header, ...events)
      .then((reply) => {
        const epochs = reply.slice(0, channels.size)
        batch.forEach((p, i) => {
          const id = reply[channels.size + i]
          p.resolve({ channel: p.channel, id, epoch: epochs[channels.get(p.channel)! - 1], type: p.type, ts: Number(id.slice(0, id.indexOf('-'))), source: p.source, data: p.data })
        })
      })
      .catch((err: Error) => {
        for (const p of batch) p.reject(err)
      })
  }

  async subscribe(channel: string, handler: BusHandler): Promise<void> {
    let set = this.handlers.get(channel)
    if (!set) {
      set = new Set()
      this.handlers.set(channel, set)
    }
    set.add(handler)
    if (set.size === 1) await this.sub.subscribe(this.keys.pubsub(channel))
  }

  async unsubscribe(channel: string, handler: BusHandler): Promise<void> {
    const set = this.handlers.get(channel)
    if (!set?.delete(handler) || set.size > 0) return
    this.handlers.delete(channel)
    await this.sub.unsubscribe(this.keys.pubsub(channel))
  }

  async history(channel: string, since?: { id: string; epoch: string }, limit = this.options.historyLen): Promise<HistoryResult> {
    const [epoch, last, deleted, entries] = await this.scripts.helixHistory(
      this.keys.history(channel),
      this.keys.epoch(channel),
      newEpoch(),
      since?.id ?? '',
      since?.epoch ?? '',
      limit
    )
    const unrecovered = { epoch, offset: last, events: [], raw: [], recovered: false }
    if (!since || !entries) return unrecovered
    // Recoverable only if nothing after `since` was trimmed, `since` is not in the future, and the gap fits.
    if (compareIds(deleted, since.id) > 0 || compareIds(since.id, last) > 0 || entries.length > limit) return unrecovered
    const raw = entries.map(([id, fields]) => rebuild(channel, id, epoch, fields))
    return { epoch, offset: last, events: raw.map((r) => JSON.parse(r) as BusEvent), raw, recovered: true }
  }

  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener)
    return () => this.reconnectListeners.delete(listener)
  }

  isReady(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready'
  }

  /** For tests and the health check: a client of the publisher connection's kind. */
  get client(): Redis {
    return this.pub
  }

  async close(): Promise<void> {
    this.handlers.clear()
    await Promise.allSettled([this.pub.quit(), this.sub.quit()])
    this.pub.disconnect()
    this.sub.disconnect()
  }

  private deliver(channel: string, raw: string): void {
    const set = this.handlers.get(channel)
    if (!set) return
    const event = JSON.parse(raw) as BusEvent
    for (const handler of set) {
      try {
        handler(event, raw)
      } catch (err) {
        this.options.log.error({ err, channel }, 'bus handler threw')
      }
    }
  }
}

/** The stream entry fields are the envelope's JSON pieces; rebuild the exact published bytes. */
function rebuild(channel: string, id: string, epoch: string, fields: string[]): string {
  const f: Record<string, string> = {}
  for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1]
  return `{"channel":${JSON.stringify(channel)},"id":"${id}","epoch":"${epoch}","type":${f.t},"ts":${id.slice(0, id.indexOf('-'))},"source":${f.s},"data":${f.d}}`
}
