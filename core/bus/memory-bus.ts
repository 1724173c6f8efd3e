// The in-process bus of the embedded default: the same contract as the Redis bus within one process.
// History is a bounded ring per channel; ids follow Redis stream ids (`<ms>-<seq>`).
import type { Logger } from 'pino'
import { systemClock, type Clock } from '../clock.js'
import type { BusMetrics } from '../metrics/bus-metrics.js'
import type { Tracing } from '../trace.js'
import { checkClientPublish } from './client-policy.js'
import { dispatchEvent, dispatchInternal, type Handlers } from './dispatch.js'
import { envelopeJson, internalJson, newEpoch } from './envelope.js'
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

interface ChannelState {
  epoch: string
  lastMs: number
  lastSeq: number
  /** Id of the newest event trimmed out of history. */
  trimmedId: string
  entries: { id: string; raw: string }[]
  handlers: Handlers
}

export interface MemoryBusOptions {
  historyLen: number
  source: string
  log: Logger
  /** An idle sub-channel's history is dropped after this long (HELIX_HISTORY_TTL). */
  historyTtlMs?: number
  /** Sub-channels per base channel. */
  maxSubchannels?: number
  /** Tells when a sub-channel was last used (a test hands a fake one to age it). */
  clock?: Pick<Clock, 'now'>
  metrics?: BusMetrics
  /** Stamps the active span's traceparent on each envelope (none with tracing off). */
  trace?: Tracing
}

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const
  private readonly channels = new Map<string, ChannelState>()
  /** Per base channel, its sub-channels in order of last use (oldest first), with that time. */
  private readonly subchannels = new Map<string, Map<string, number>>()
  private readonly internal = new Map<string, Set<InternalHandler>>()
  private readonly historyTtlMs: number
  private readonly maxSubchannels: number
  private readonly clock: Pick<Clock, 'now'>
  private closed = false

  constructor(private readonly options: MemoryBusOptions) {
    this.historyTtlMs = options.historyTtlMs ?? DEFAULT_HISTORY_TTL_MS
    this.maxSubchannels = options.maxSubchannels ?? SUBCHANNEL_LIMIT
    this.clock = options.clock ?? systemClock
  }

  async publish<T>(channel: string, type: string, data: T, source = this.options.source): Promise<BusEvent<T>> {
    if (this.closed) throw new Error('bus is closed')
    const started = performance.now()
    checkClientPublish(channel, type, source)
    const dataJson = serialiseData(data)
    const state = this.use(channel)
    const now = Date.now()
    if (now > state.lastMs) {
      state.lastMs = now
      state.lastSeq = 0
    } else {
      state.lastSeq++
    }
    const id = `${state.lastMs}-${state.lastSeq}`
    const traceparent = this.options.trace?.traceparent()
    const raw = envelopeJson(channel, id, state.epoch, type, state.lastMs, source, dataJson, traceparent)
    state.entries.push({ id, raw })
    if (state.entries.length > this.options.historyLen) state.trimmedId = state.entries.shift()!.id
    const event: BusEvent<T> = { channel, id, epoch: state.epoch, type, ts: state.lastMs, source, data }
    if (traceparent !== undefined) event.traceparent = traceparent
    if (state.handlers.size > 0) {
      // Delivered asynchronously and in publish order, as from Redis.
      queueMicrotask(() => dispatchEvent(state.handlers, channel, raw, this.options.log))
    }
    this.options.metrics?.batchPublished([channel], (performance.now() - started) / 1000, false)
    return event
  }

  async subscribe(channel: string, handler: BusHandler, options: SubscribeOptions = {}): Promise<void> {
    this.channel(channel).handlers.set(handler, options.clientEvents === true)
  }

  async unsubscribe(channel: string, handler: BusHandler): Promise<void> {
    const state = this.channels.get(channel)
    if (!state?.handlers.delete(handler) || state.handlers.size > 0) return
    // A sub-channel that was only listened to (never used, or expired) holds nothing worth keeping.
    const base = baseOf(channel)
    if (base !== null && !this.subchannels.get(base)?.has(channel)) this.channels.delete(channel)
  }

  async history(channel: string, since?: { id: string; epoch: string }, limit = this.options.historyLen): Promise<HistoryResult> {
    const state = this.use(channel)
    const offset = `${state.lastMs}-${state.lastSeq}`
    const unrecovered = { epoch: state.epoch, offset, events: [], raw: [], recovered: false }
    if (!since) return unrecovered
    const metrics = this.options.metrics
    if (since.epoch !== state.epoch) {
      metrics?.historyRead('epoch_changed', 0)
      return unrecovered
    }
    if (compareIds(state.trimmedId, since.id) > 0 || compareIds(since.id, offset) > 0) {
      metrics?.historyRead('trimmed', 0)
      return unrecovered
    }
    let start = state.entries.length
    while (start > 0 && compareIds(state.entries[start - 1].id, since.id) > 0) start--
    if (state.entries.length - start > limit) {
      metrics?.historyRead('too_far', 0)
      return unrecovered
    }
    metrics?.historyRead('recovered', state.entries.length - start)
    const raw = state.entries.slice(start).map((e) => e.raw)
    return { epoch: state.epoch, offset, events: raw.map((r) => JSON.parse(r) as BusEvent), raw, recovered: true }
  }

  async recent(channel: string, limit: number): Promise<RecentEvents> {
    const entries = limit > 0 ? (this.channels.get(channel)?.entries.slice(-limit) ?? []) : []
    const raw = entries.map((e) => e.raw)
    return { events: raw.map((r) => JSON.parse(r) as BusEvent), raw }
  }

  async publishInternal(channel: string, type: string, data: unknown): Promise<void> {
    if (this.closed) throw new Error('bus is closed')
    const raw = internalJson(channel, type, Date.now(), this.options.source, serialiseData(data))
    const handlers = this.internal.get(channel)
    if (handlers && handlers.size > 0) queueMicrotask(() => dispatchInternal(handlers, channel, raw, this.options.log))
  }

  async subscribeInternal(channel: string, handler: InternalHandler): Promise<void> {
    let handlers = this.internal.get(channel)
    if (!handlers) this.internal.set(channel, (handlers = new Set()))
    handlers.add(handler)
  }

  async unsubscribeInternal(channel: string, handler: InternalHandler): Promise<void> {
    this.internal.get(channel)?.delete(handler)
  }

  /** An in-process bus never loses its subscriptions. */
  onReconnect(): () => void {
    return () => {}
  }

  isReady(): boolean {
    return !this.closed
  }

  async connected(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true
    for (const state of this.channels.values()) state.handlers.clear()
    this.internal.clear()
  }

  private channel(name: string): ChannelState {
    let state = this.channels.get(name)
    if (!state) {
      state = { epoch: newEpoch(), lastMs: 0, lastSeq: 0, trimmedId: '0-0', entries: [], handlers: new Map() }
      this.channels.set(name, state)
    }
    return state
  }

  /** A channel about to be published on or read: a sub-channel is marked used, or refused past the limit. */
  private use(channel: string): ChannelState {
    const base = baseOf(channel)
    if (base !== null) {
      const now = this.clock.now()
      let used = this.subchannels.get(base)
      if (!used) this.subchannels.set(base, (used = new Map()))
      this.expireIdle(used, now)
      if (!used.has(channel) && used.size >= this.maxSubchannels) {
        throw new BusRefusal('subchannel_limit', `The channel ${JSON.stringify(base)} already has ${this.maxSubchannels} sub-channels in use`)
      }
      // Re-inserted so the map stays in order of last use.
      used.delete(channel)
      used.set(channel, now)
    }
    return this.channel(channel)
  }

  /** Idle sub-channels lose their history (a new epoch); those nobody listens to are dropped whole. */
  private expireIdle(used: Map<string, number>, now: number): void {
    for (const [channel, lastUse] of used) {
      if (now - lastUse < this.historyTtlMs) return
      used.delete(channel)
      const state = this.channels.get(channel)
      if (!state) continue
      if (state.handlers.size === 0) {
        this.channels.delete(channel)
      } else {
        state.epoch = newEpoch()
        state.entries = []
        state.trimmedId = '0-0'
      }
    }
  }
}
