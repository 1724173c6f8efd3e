// The Redis bus: one Lua script appends to the channel's history stream and publishes the envelope,
// so history and live delivery share one order. One subscriber connection per process.
import type { Redis } from 'ioredis'
import type { Logger } from 'pino'
import type { BusMetrics } from '../metrics/bus-metrics.js'
import type { RedisFactory } from '../redis.js'
import { noTracing, type Tracing } from '../trace.js'
import { checkClientPublish } from './client-policy.js'
import { dispatchEvent, dispatchInternal, type Handlers } from './dispatch.js'
import { internalJson, newEpoch } from './envelope.js'
import { BusRefusal, serialiseData } from './refusal.js'
import {
  baseOf,
  compareIds,
  DEFAULT_HISTORY_TTL_MS,
  SUBCHANNEL_LIMIT,
  type Bus,
  type BusEvent,
  type BusHandler,
  type HistoryResult,
  type InternalHandler,
  type RecentEvents,
  type SubscribeOptions
} from './types.js'

// Lua functions shared by both scripts.
// ensure_epoch: the epoch changes whenever the history stream is gone (a flush, a DEL, an expiry). A
// new history stream is created at once (an added and deleted seed entry) so an empty channel keeps
// a stable epoch and a last-generated id a client can resume from.
// use_subchannel: a sub-channel is used now. A new one is refused (false) while its base channel has
// `cap` sub-channels in use; otherwise its history and epoch keys live `ttl` ms from now. Members idle
// for `ttl` are pruned first: their keys expired at that same instant (one TIME for the score and the
// expiry), so the count is of sub-channels that still have a history.
const FUNCTIONS = `
local function ensure_epoch(hist, key, candidate)
  local epoch = redis.call('GET', key)
  if (not epoch) or redis.call('EXISTS', hist) == 0 then
    epoch = candidate
    redis.call('SET', key, epoch)
    local seed = redis.call('XADD', hist, '*', 'seed', '1')
    redis.call('XDEL', hist, seed)
  end
  return epoch
end
local function use_subchannel(subs, member, hist, key, candidate, ttl, cap)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('ZREMRANGEBYSCORE', subs, '-inf', now - ttl)
  if (not redis.call('ZSCORE', subs, member)) and redis.call('ZCARD', subs) >= cap then return false end
  redis.call('ZADD', subs, now, member)
  local epoch = ensure_epoch(hist, key, candidate)
  for _, k in ipairs({subs, hist, key}) do redis.call('PEXPIREAT', k, now + ttl) end
  return epoch
end
`

// Publishes a batch of events, possibly on several channels, in one atomic and ordered step.
// KEYS: per channel: hist, epoch, the sub-channel set of its base.
// ARGV: epoch candidate, maxlen, channel count, ttl ms, sub-channel cap, then per channel: channel
// (JSON), pub/sub name, sub-channel member ('' for a base channel), then per event: channel index,
// type (JSON), source (JSON), data (JSON), traceparent ('' for none).
// Returns the epoch of each channel, then the id of each event; '' for a refused sub-channel.
// XADD keeps a key's TTL, so a sub-channel's keys expire `ttl` after its last use.
const PUBLISH = `${FUNCTIONS}
local maxlen, nch, ttl, cap = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local epochs, names, pubsub = {}, {}, {}
local a = 6
for i = 1, nch do
  names[i], pubsub[i] = ARGV[a], ARGV[a + 1]
  local member, hist, key = ARGV[a + 2], KEYS[3 * i - 2], KEYS[3 * i - 1]
  a = a + 3
  if member == '' then
    epochs[i] = ensure_epoch(hist, key, ARGV[1] .. i)
  else
    epochs[i] = use_subchannel(KEYS[3 * i], member, hist, key, ARGV[1] .. i, ttl, cap) or ''
  end
end
local out = {}
for i = 1, nch do out[i] = epochs[i] end
while a <= #ARGV do
  local i, t, s, d, p = tonumber(ARGV[a]), ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4]
  a = a + 5
  if epochs[i] == '' then
    out[#out + 1] = ''
  else
    local id, tp
    if p == '' then
      id, tp = redis.call('XADD', KEYS[3 * i - 2], 'MAXLEN', '~', maxlen, '*', 't', t, 's', s, 'd', d), ''
    else
      id, tp = redis.call('XADD', KEYS[3 * i - 2], 'MAXLEN', '~', maxlen, '*', 't', t, 's', s, 'p', p, 'd', d), ',"traceparent":"' .. p .. '"'
    end
    redis.call('PUBLISH', pubsub[i], '{"channel":' .. names[i] .. ',"id":"' .. id .. '","epoch":"' .. epochs[i] .. '","type":' .. t .. ',"ts":' .. string.match(id, '^(%d+)-') .. ',"source":' .. s .. tp .. ',"data":' .. d .. '}')
    out[#out + 1] = id
  end
end
return out
`

// KEYS: hist, epoch, the sub-channel set of its base.
// ARGV: candidate epoch, since id ('' for none), since epoch, limit, sub-channel member ('' for a
// base channel), ttl ms, sub-channel cap.
// Returns {epoch, lastGeneratedId, maxDeletedId, entries (limit + 1 at most) or false}, or {''} for a
// refused sub-channel.
const HISTORY = `${FUNCTIONS}
local epoch
if ARGV[5] == '' then
  epoch = ensure_epoch(KEYS[1], KEYS[2], ARGV[1])
else
  epoch = use_subchannel(KEYS[3], ARGV[5], KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[6]), tonumber(ARGV[7]))
  if not epoch then return {''} end
end
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
type HistoryReply = [epoch: string, last: string, deleted: string, entries: [string, string[]][] | null] | ['']

/** The two scripts, as ioredis defines them on the connection. */
interface BusScripts {
  helixPublish(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<PublishReply>
  helixHistory(hist: string, epochKey: string, subchannels: string, ...args: (string | number)[]): Promise<HistoryReply>
}

/** Most events one publish script call carries. */
const MAX_BATCH = 256

interface PendingPublish {
  channel: string
  type: string
  data: unknown
  /** Serialised when published, so a value JSON cannot hold fails that publish alone. */
  dataJson: string
  source: string
  /** Taken at publish, while the publisher's span is still the active one. */
  traceparent: string | undefined
  resolve(event: BusEvent): void
  reject(err: Error): void
}

export interface RedisBusOptions {
  redis: RedisFactory
  /** Key and channel namespace, `helix:` by default. */
  prefix: string
  historyLen: number
  source: string
  log: Logger
  /** An idle sub-channel's keys expire after this long (HELIX_HISTORY_TTL). */
  historyTtlMs?: number
  /** Sub-channels per base channel, counted across every process on this Redis. */
  maxSubchannels?: number
  metrics?: BusMetrics
  /** Stamps the active span's traceparent on each envelope (none with tracing off). */
  trace?: Tracing
}

export class RedisBus implements Bus {
  readonly kind = 'redis' as const
  private readonly pub: Redis
  private readonly scripts: BusScripts
  private readonly sub: Redis
  private readonly handlers = new Map<string, Handlers>()
  private readonly internalHandlers = new Map<string, Set<InternalHandler>>()
  private pending: PendingPublish[] = []
  private readonly reconnectListeners = new Set<() => void>()
  private subscriberWasReady = false
  private readonly historyTtlMs: number
  private readonly maxSubchannels: number
  private readonly trace: Tracing
  private readonly keys: {
    pubsub(c: string): string
    history(c: string): string
    epoch(c: string): string
    /** The sorted set of a base channel's sub-channels in use, scored by last use. */
    subchannels(base: string): string
    internal(c: string): string
  }

  constructor(private readonly options: RedisBusOptions) {
    const { prefix } = options
    this.historyTtlMs = options.historyTtlMs ?? DEFAULT_HISTORY_TTL_MS
    this.maxSubchannels = options.maxSubchannels ?? SUBCHANNEL_LIMIT
    this.trace = options.trace ?? noTracing
    this.keys = {
      pubsub: (channel) => `${prefix}ch:${channel}`,
      history: (channel) => `${prefix}hist:${channel}`,
      epoch: (channel) => `${prefix}epoch:${channel}`,
      subchannels: (base) => `${prefix}subs:${base}`,
      internal: (channel) => `${prefix}int:${channel}`
    }
    // Auto-pipelining writes every publish of one event-loop tick in a single round trip.
    // No offline queue: while Redis is away a publish fails at once (the caller answers 503 or keeps
    // it in its outbox) instead of waiting, unbounded, for the reconnect.
    this.pub = options.redis('bus-pub', { enableAutoPipelining: true, enableOfflineQueue: false })
    this.sub = options.redis('bus-sub')
    this.pub.defineCommand('helixPublish', { lua: PUBLISH })
    this.pub.defineCommand('helixHistory', { numberOfKeys: 3, lua: HISTORY })
    this.scripts = this.pub as unknown as BusScripts
    const publicPrefix = this.keys.pubsub('')
    const internalPrefix = this.keys.internal('')
    this.sub.on('message', (redisChannel: string, raw: string) => {
      if (redisChannel.startsWith(publicPrefix)) this.deliver(redisChannel.slice(publicPrefix.length), raw)
      else if (redisChannel.startsWith(internalPrefix)) this.deliverInternal(redisChannel.slice(internalPrefix.length), raw)
    })
    // ioredis renews the subscriptions before 'ready'; every 'ready' after the first is a reconnect.
    this.sub.on('ready', () => {
      if (this.subscriberWasReady) {
        options.log.info('redis bus subscriber reconnected')
        options.metrics?.reconnected()
        for (const listener of this.reconnectListeners) listener()
      }
      this.subscriberWasReady = true
    })
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
      let dataJson: string
      try {
        checkClientPublish(channel, type, source)
        dataJson = serialiseData(data)
      } catch (err) {
        return reject(err as Error)
      }
      this.pending.push({ channel, type, data, dataJson, source, traceparent: this.trace.traceparent(), resolve, reject })
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
        const base = baseOf(p.channel)
        keys.push(this.keys.history(p.channel), this.keys.epoch(p.channel), this.keys.subchannels(base ?? p.channel))
        header.push(JSON.stringify(p.channel), this.keys.pubsub(p.channel), base === null ? '' : p.channel)
      }
      events.push(index, JSON.stringify(p.type), JSON.stringify(p.source), p.dataJson, p.traceparent ?? '')
    }
    const started = performance.now()
    const measure = (failed: boolean) => this.options.metrics?.batchPublished(batch.map((p) => p.channel), (performance.now() - started) / 1000, failed)
    // Outside any trace: a write shared by publishers (each envelope carries its own traceparent).
    this.trace.detached(() => this.scripts.helixPublish(keys.length, ...keys, newEpoch(), this.options.historyLen, channels.size, this.historyTtlMs, this.maxSubchannels, ...header, ...events))
      .then((reply) => {
        measure(false)
        const epochs = reply.slice(0, channels.size)
        batch.forEach((p, i) => {
          const id = reply[channels.size + i]
          if (id === '') return p.reject(this.subchannelRefusal(p.channel))
          const event: BusEvent = { channel: p.channel, id, epoch: epochs[channels.get(p.channel)! - 1], type: p.type, ts: Number(id.slice(0, id.indexOf('-'))), source: p.source, data: p.data }
          if (p.traceparent !== undefined) event.traceparent = p.traceparent
          p.resolve(event)
        })
      })
      .catch((err: Error) => {
        measure(true)
        for (const p of batch) p.reject(err)
      })
  }

  async subscribe(channel: string, handler: BusHandler, options: SubscribeOptions = {}): Promise<void> {
    let handlers = this.handlers.get(channel)
    if (!handlers) this.handlers.set(channel, (handlers = new Map()))
    handlers.set(handler, options.clientEvents === true)
    if (handlers.size === 1) await this.sub.subscribe(this.keys.pubsub(channel))
  }

  async unsubscribe(channel: string, handler: BusHandler): Promise<void> {
    const handlers = this.handlers.get(channel)
    if (!handlers?.delete(handler) || handlers.size > 0) return
    this.handlers.delete(channel)
    await this.sub.unsubscribe(this.keys.pubsub(channel))
  }

  async history(channel: string, since?: { id: string; epoch: string }, limit = this.options.historyLen): Promise<HistoryResult> {
    const base = baseOf(channel)
    const reply = await this.scripts.helixHistory(
      this.keys.history(channel),
      this.keys.epoch(channel),
      this.keys.subchannels(base ?? channel),
      newEpoch(),
      since?.id ?? '',
      since?.epoch ?? '',
      limit,
      base === null ? '' : channel,
      this.historyTtlMs,
      this.maxSubchannels
    )
    if (reply.length === 1) throw this.subchannelRefusal(channel)
    const [epoch, last, deleted, entries] = reply
    const unrecovered = { epoch, offset: last, events: [], raw: [], recovered: false }
    if (!since) return unrecovered
    const metrics = this.options.metrics
    if (!entries) {
      metrics?.historyRead('epoch_changed', 0)
      return unrecovered
    }
    // Recoverable only if nothing after `since` was trimmed, `since` is not in the future, and the gap fits.
    if (compareIds(deleted, since.id) > 0 || compareIds(since.id, last) > 0 || entries.length > limit) {
      metrics?.historyRead(entries.length > limit ? 'too_far' : 'trimmed', 0)
      return unrecovered
    }
    metrics?.historyRead('recovered', entries.length)
    const raw = entries.map(([id, fields]) => rebuild(channel, id, epoch, fields))
    return { epoch, offset: last, events: raw.map((r) => JSON.parse(r) as BusEvent), raw, recovered: true }
  }

  async recent(channel: string, limit: number): Promise<RecentEvents> {
    if (limit <= 0) return { events: [], raw: [] }
    // One transaction, so the epoch read belongs to the entries read (a flush between them would not).
    const replies = await this.pub.multi()
      .get(this.keys.epoch(channel))
      .xrevrange(this.keys.history(channel), '+', '-', 'COUNT', limit)
      .exec()
    const [epochReply, entriesReply] = replies ?? []
    if (epochReply?.[0] || entriesReply?.[0]) throw epochReply?.[0] ?? entriesReply?.[0]
    const epoch = epochReply?.[1] as string | null
    const entries = (entriesReply?.[1] ?? []) as [string, string[]][]
    if (epoch === null) return { events: [], raw: [] }
    const raw = entries.reverse().map(([id, fields]) => rebuild(channel, id, epoch, fields))
    return { events: raw.map((r) => JSON.parse(r) as BusEvent), raw }
  }

  async publishInternal(channel: string, type: string, data: unknown): Promise<void> {
    await this.pub.publish(this.keys.internal(channel), internalJson(channel, type, Date.now(), this.options.source, serialiseData(data)))
  }

  async subscribeInternal(channel: string, handler: InternalHandler): Promise<void> {
    let handlers = this.internalHandlers.get(channel)
    if (!handlers) this.internalHandlers.set(channel, (handlers = new Set()))
    handlers.add(handler)
    if (handlers.size === 1) await this.sub.subscribe(this.keys.internal(channel))
  }

  async unsubscribeInternal(channel: string, handler: InternalHandler): Promise<void> {
    const handlers = this.internalHandlers.get(channel)
    if (!handlers?.delete(handler) || handlers.size > 0) return
    this.internalHandlers.delete(channel)
    await this.sub.unsubscribe(this.keys.internal(channel))
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
    this.internalHandlers.clear()
    await Promise.allSettled([this.pub.quit(), this.sub.quit()])
    this.pub.disconnect()
    this.sub.disconnect()
  }

  private subchannelRefusal(channel: string): BusRefusal {
    return new BusRefusal('subchannel_limit', `The channel ${JSON.stringify(baseOf(channel))} already has ${this.maxSubchannels} sub-channels in use`)
  }

  private deliver(channel: string, raw: string): void {
    const handlers = this.handlers.get(channel)
    if (handlers) dispatchEvent(handlers, channel, raw, this.options.log)
  }

  private deliverInternal(channel: string, raw: string): void {
    const handlers = this.internalHandlers.get(channel)
    if (handlers) dispatchInternal(handlers, channel, raw, this.options.log)
  }
}

/** The stream entry fields are the envelope's JSON pieces; rebuild the exact published bytes. */
function rebuild(channel: string, id: string, epoch: string, fields: string[]): string {
  const f: Record<string, string> = {}
  for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1]
  const trace = f.p === undefined ? '' : `,"traceparent":"${f.p}"`
  return `{"channel":${JSON.stringify(channel)},"id":"${id}","epoch":"${epoch}","type":${f.t},"ts":${id.slice(0, id.indexOf('-'))},"source":${f.s}${trace},"data":${f.d}}`
}
