// ChannelHub: one bus subscription per channel per process, fan-out of one pre-built frame to every
// local subscriber, and gap repair (history catch-up) when the bus shows this process missed events.
import type { Logger } from 'pino'
import * as ws from 'ws'
import { BusRefusal, compareIds, type Bus, type BusEvent, type BusHandler } from '../../core/bus/index.js'
import type { StreamMetrics } from './metrics.js'

/** One event as it goes out: the JSON text, and the complete WebSocket frame around it. */
export interface EventFrame {
  payload: Buffer
  /** Header and payload of an unmasked final text frame, written as-is to every socket. */
  wire: Buffer
}

/** ws's frame builder, public in ws but missing from its type declarations. */
const { Sender } = ws as unknown as {
  Sender: { frame(data: Buffer, options: { fin: boolean; rsv1: boolean; opcode: number; mask: boolean; readOnly: boolean }): Buffer[] }
}

/** Builds an event's bytes once, for every socket of this process. */
export function eventFrame(rawEnvelope: string): EventFrame {
  const payload = Buffer.from(`{"op":"event",${rawEnvelope.slice(1)}`)
  const [header, body] = Sender.frame(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true })
  return { payload, wire: Buffer.concat([header, body]) }
}

/** What a subscriber receives while its own recovery runs: events, or a hub-wide reset. */
export type Pending =
  | { kind: 'event'; id: string; epoch: string; frame: EventFrame }
  | { kind: 'reset'; epoch: string; offset: string }

export interface Subscriber {
  /** Writes a frame shared by every subscriber of the channel; false when the socket was dropped. */
  send(frame: EventFrame): boolean
  /** The hub lost events it could not recover: the subscriber's position restarts at `offset`. */
  reset(channel: string, epoch: string, offset: string): void
  /** The subscription is over (its recovery buffer overflowed, the bus refused the channel): an error says why. */
  end(channel: string, code: string, message: string): void
}

interface Feed {
  channel: string
  live: Set<Subscriber>
  /** Subscribers still reading history, with the live events that arrived meanwhile. */
  recovering: Map<Subscriber, Pending[]>
  handler: BusHandler
  subscribed: Promise<void>
  epoch: string | null
  lastId: string | null
  lastMs: number
  lastSeq: number
  /** Non-null while the hub reads missed events from history; live events wait here. */
  held: BusEvent[] | null
  heldRaw: string[]
}

export interface HubOptions {
  bus: Bus
  log: Logger
  metrics: StreamMetrics
  /** Live events kept per recovering subscriber or per catching-up channel before giving up. */
  maxPending: number
  /** Plain counters behind /api/stream/stats, next to the Prometheus ones. */
  counters: FanOutCounters
}

export interface FanOutCounters {
  eventsIn: number
  eventsOut: number
  bytesOut: number
}

/** Pause between attempts to read history for a gap repair while the bus is down. */
const HISTORY_RETRY_MS = 250

export class ChannelHub {
  private readonly feeds = new Map<string, Feed>()
  private readonly stopReconnectWatch: () => void

  constructor(private readonly options: HubOptions) {
    this.stopReconnectWatch = options.bus.onReconnect(() => this.catchUpAll())
  }

  /**
   * Adds a recovering subscriber and resolves once the bus subscription is live, so a history read
   * made after this misses nothing: every later event is either in that history or pending here.
   */
  async join(channel: string, subscriber: Subscriber): Promise<void> {
    const feed = this.feeds.get(channel) ?? this.open(channel)
    feed.recovering.set(subscriber, [])
    await feed.subscribed
  }

  /** Ends a subscriber's recovery: returns what arrived meanwhile, in order, and makes it live. */
  activate(channel: string, subscriber: Subscriber): Pending[] {
    const feed = this.feeds.get(channel)
    const pending = feed?.recovering.get(subscriber)
    if (!feed || !pending) return []
    feed.recovering.delete(subscriber)
    feed.live.add(subscriber)
    return pending
  }

  leave(channel: string, subscriber: Subscriber): void {
    const feed = this.feeds.get(channel)
    if (!feed) return
    feed.live.delete(subscriber)
    feed.recovering.delete(subscriber)
    if (feed.live.size > 0 || feed.recovering.size > 0) return
    this.feeds.delete(channel)
    this.options.bus.unsubscribe(channel, feed.handler).catch((err) => this.options.log.warn({ err, channel }, 'bus unsubscribe failed'))
  }

  subscriberCounts(): Map<string, number> {
    const counts = new Map<string, number>()
    for (const [channel, feed] of this.feeds) counts.set(channel, feed.live.size + feed.recovering.size)
    return counts
  }

  close(): void {
    this.stopReconnectWatch()
    for (const [channel, feed] of this.feeds) void this.options.bus.unsubscribe(channel, feed.handler).catch(() => undefined)
    this.feeds.clear()
  }

  private open(channel: string): Feed {
    const feed: Feed = {
      channel,
      live: new Set(),
      recovering: new Map(),
      handler: (event, raw) => this.receive(feed, event, raw),
      subscribed: Promise.resolve(),
      epoch: null,
      lastId: null,
      lastMs: 0,
      lastSeq: 0,
      held: null,
      heldRaw: []
    }
    // Clients' own events are what a transport forwards, next to Helix's.
    feed.subscribed = this.options.bus.subscribe(channel, feed.handler, { clientEvents: true })
    // A failed subscribe must not stay cached for the next subscriber.
    feed.subscribed.catch(() => {
      if (this.feeds.get(channel) === feed) this.feeds.delete(channel)
    })
    this.feeds.set(channel, feed)
    return feed
  }

  private receive(feed: Feed, event: BusEvent, raw: string): void {
    if (this.feeds.get(feed.channel) !== feed) return
    this.options.metrics.eventsIn.inc()
    this.options.counters.eventsIn++
    if (feed.held) {
      this.hold(feed, event, raw)
      return
    }
    if (feed.lastId !== null) {
      if (event.epoch !== feed.epoch || this.skipsSequence(feed, event.id)) {
        this.hold(feed, event, raw)
        void this.catchUp(feed)
        return
      }
      if (compareIds(event.id, feed.lastId) <= 0) return
    }
    this.fanOut(feed, event, raw)
  }

  /**
   * Stream ids are `<ms>-<seq>` and seq counts up within one millisecond, so a jump within the same
   * millisecond proves a lost message. A lost message in a later millisecond cannot be seen in the
   * ids; bus reconnects (the way messages get lost) are caught by catchUpAll instead.
   */
  private skipsSequence(feed: Feed, id: string): boolean {
    const dash = id.indexOf('-')
    return Number(id.slice(0, dash)) === feed.lastMs && Number(id.slice(dash + 1)) > feed.lastSeq + 1
  }

  private fanOut(feed: Feed, event: BusEvent, raw: string): void {
    const id = event.id
    const dash = id.indexOf('-')
    feed.lastId = id
    feed.epoch = event.epoch
    feed.lastMs = Number(id.slice(0, dash))
    feed.lastSeq = Number(id.slice(dash + 1))
    // The one serialisation of this event in this process: every socket gets these same bytes.
    const frame = eventFrame(raw)
    let sent = 0
    for (const subscriber of feed.live) if (subscriber.send(frame)) sent++
    for (const [subscriber, pending] of feed.recovering) {
      if (pending.length >= this.options.maxPending) {
        feed.recovering.delete(subscriber)
        subscriber.end(feed.channel, 'recovery_overflow', `Too many live events arrived while recovering ${feed.channel}; subscribe again`)
      } else {
        pending.push({ kind: 'event', id, epoch: event.epoch, frame })
      }
    }
    if (sent > 0) {
      const { metrics } = this.options
      metrics.eventsOut.inc(sent)
      metrics.bytesOut.inc(sent * frame.wire.length)
      this.options.counters.eventsOut += sent
      this.options.counters.bytesOut += sent * frame.wire.length
    }
    this.options.metrics.publishToSend.observe(Math.max(0, Date.now() - event.ts) / 1000)
  }

  private hold(feed: Feed, event: BusEvent, raw: string): void {
    feed.held ??= []
    // Past the bound the held events are dropped: the catch-up ends in a reset either way.
    if (feed.held.length < this.options.maxPending) {
      feed.held.push(event)
      feed.heldRaw.push(raw)
    }
  }

  private end(feed: Feed, refusal: BusRefusal): void {
    this.feeds.delete(feed.channel)
    for (const subscriber of [...feed.live, ...feed.recovering.keys()]) subscriber.end(feed.channel, refusal.code, refusal.message)
    this.options.bus.unsubscribe(feed.channel, feed.handler).catch((err) => this.options.log.warn({ err, channel: feed.channel }, 'bus unsubscribe failed'))
  }

  /** After a bus reconnect: pub/sub messages may have been lost, so every channel checks history. */
  private catchUpAll(): void {
    this.options.log.info({ channels: this.feeds.size }, 'bus reconnected: checking history for missed events')
    for (const feed of this.feeds.values()) {
      if (!feed.held && feed.lastId !== null) {
        feed.held = []
        void this.catchUp(feed)
      }
    }
  }

  /** Reads what this process missed from history and replays it, or resets every subscriber. */
  private async catchUp(feed: Feed): Promise<void> {
    const { bus, log } = this.options
    const since = feed.lastId !== null && feed.epoch !== null ? { id: feed.lastId, epoch: feed.epoch } : undefined
    let result
    for (;;) {
      if (this.feeds.get(feed.channel) !== feed) return
      try {
        result = await bus.history(feed.channel, since, this.options.maxPending)
        break
      } catch (err) {
        // An idle sub-channel that expired while subscribed may find its base channel full: retrying cannot help.
        if (err instanceof BusRefusal) return this.end(feed, err)
        log.warn({ err, channel: feed.channel }, 'history read for gap repair failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, HISTORY_RETRY_MS).unref())
      }
    }
    if (this.feeds.get(feed.channel) !== feed) return
    const held = feed.held ?? []
    const heldRaw = feed.heldRaw
    feed.held = null
    feed.heldRaw = []
    if (result.recovered) {
      for (let i = 0; i < result.events.length; i++) {
        if (compareIds(result.events[i].id, feed.lastId ?? '0-0') > 0) this.fanOut(feed, result.events[i], result.raw[i])
      }
    } else {
      // Restart just before the first event held live in the new epoch, so it and the rest still go out.
      const firstHeld = held.find((e) => e.epoch === result.epoch)
      const offset = firstHeld && compareIds(firstHeld.id, result.offset) <= 0 ? previousId(firstHeld.id) : result.offset
      log.warn({ channel: feed.channel, epoch: result.epoch, offset }, 'events lost beyond history: subscribers reset')
      feed.epoch = result.epoch
      feed.lastId = offset
      feed.lastMs = -1
      for (const subscriber of feed.live) subscriber.reset(feed.channel, result.epoch, offset)
      for (const pending of feed.recovering.values()) pending.push({ kind: 'reset', epoch: result.epoch, offset })
    }
    for (let i = 0; i < held.length; i++) {
      if (held[i].epoch === feed.epoch && compareIds(held[i].id, feed.lastId ?? '0-0') > 0) this.fanOut(feed, held[i], heldRaw[i])
    }
  }
}

/** The id right before `id` in stream order (`<ms>-<seq>`, seq up to 2^64 - 1). */
function previousId(id: string): string {
  const [ms, seq] = id.split('-').map(BigInt)
  if (seq > 0n) return `${ms}-${seq - 1n}`
  return ms > 0n ? `${ms - 1n}-18446744073709551615` : '0-0'
}
