// The in-process bus of the embedded default: the same contract as the Redis bus within one process.
// History is a bounded ring per channel; ids follow Redis stream ids (`<ms>-<seq>`).
import type { Logger } from 'pino'
import { envelopeJson, newEpoch } from './envelope.js'
import { compareIds, type Bus, type BusEvent, type BusHandler, type HistoryResult } from './types.js'

interface ChannelState {
  epoch: string
  lastMs: number
  lastSeq: number
  /** Id of the newest event trimmed out of history. */
  trimmedId: string
  entries: { id: string; raw: string }[]
  handlers: Set<BusHandler>
}

export class MemoryBus implements Bus {
  readonly kind = 'memory' as const
  private readonly channels = new Map<string, ChannelState>()
  private closed = false

  constructor(private readonly options: { historyLen: number; source: string; log: Logger }) {}

  async publish<T>(channel: string, type: string, data: T, source = this.options.source): Promise<BusEvent<T>> {
    if (this.closed) throw new Error('bus is closed')
    const state = this.channel(channel)
    const now = Date.now()
    if (now > state.lastMs) {
      state.lastMs = now
      state.lastSeq = 0
    } else {
      state.lastSeq++
    }
    const id = `${state.lastMs}-${state.lastSeq}`
    const raw = envelopeJson(channel, id, state.epoch, type, state.lastMs, source, JSON.stringify(data ?? null))
    state.entries.push({ id, raw })
    if (state.entries.length > this.options.historyLen) state.trimmedId = state.entries.shift()!.id
    const event: BusEvent<T> = { channel, id, epoch: state.epoch, type, ts: state.lastMs, source, data }
    if (state.handlers.size > 0) {
      // Delivered asynchronously and in publish order, as from Redis.
      queueMicrotask(() => this.deliver(state, raw))
    }
    return event
  }

  async subscribe(channel: string, handler: BusHandler): Promise<void> {
    this.channel(channel).handlers.add(handler)
  }

  async unsubscribe(channel: string, handler: BusHandler): Promise<void> {
    this.channels.get(channel)?.handlers.delete(handler)
  }

  async history(channel: string, since?: { id: string; epoch: string }, limit = this.options.historyLen): Promise<HistoryResult> {
    const state = this.channel(channel)
    const offset = `${state.lastMs}-${state.lastSeq}`
    const unrecovered = { epoch: state.epoch, offset, events: [], raw: [], recovered: false }
    if (!since || since.epoch !== state.epoch) return unrecovered
    if (compareIds(state.trimmedId, since.id) > 0 || compareIds(since.id, offset) > 0) return unrecovered
    let start = state.entries.length
    while (start > 0 && compareIds(state.entries[start - 1].id, since.id) > 0) start--
    if (state.entries.length - start > limit) return unrecovered
    const raw = state.entries.slice(start).map((e) => e.raw)
    return { epoch: state.epoch, offset, events: raw.map((r) => JSON.parse(r) as BusEvent), raw, recovered: true }
  }

  /** An in-process bus never loses its subscriptions. */
  onReconnect(): () => void {
    return () => {}
  }

  isReady(): boolean {
    return !this.closed
  }

  async close(): Promise<void> {
    this.closed = true
    for (const state of this.channels.values()) state.handlers.clear()
  }

  private channel(name: string): ChannelState {
    let state = this.channels.get(name)
    if (!state) {
      state = { epoch: newEpoch(), lastMs: 0, lastSeq: 0, trimmedId: '0-0', entries: [], handlers: new Set() }
      this.channels.set(name, state)
    }
    return state
  }

  private deliver(state: ChannelState, raw: string): void {
    const event = JSON.parse(raw) as BusEvent
    for (const handler of state.handlers) {
      try {
        handler(event, raw)
      } catch (err) {
        this.options.log.error({ err, channel: event.channel }, 'bus handler threw')
      }
    }
  }
}
