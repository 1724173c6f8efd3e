// The bus contract (DESIGN section 6): ordered publish with history and epochs, per-channel
// subscriptions, and history reads for recovery. Implemented over Redis and in-process.
export const CHANNELS = ['ucf', 'agents', 'commands', 'rituals', 'alerts', 'voice', 'zapier', 'system'] as const
export type Channel = (typeof CHANNELS)[number]

export function isChannel(value: string): value is Channel {
  return (CHANNELS as readonly string[]).includes(value)
}

/** The one JSON envelope every event travels in, on Redis and on the wire. */
export interface BusEvent<T = unknown> {
  channel: string
  /** History stream id, `<ms>-<seq>`: ordered within a channel. */
  id: string
  /** Changes whenever the channel's history was lost. */
  epoch: string
  type: string
  ts: number
  source: string
  /** W3C trace context of the span that published it (tracing on); clients ignore it. */
  traceparent?: string
  data: T
}

/**
 * A subscriber gets the parsed event and the exact JSON it was published as, so a transport can
 * forward the same bytes to every client without serialising again.
 */
export type BusHandler = (event: BusEvent, raw: string) => void

export interface SubscribeOptions {
  /**
   * Also deliver events that clients published (source `client:<sub>`). Off by default, so Helix code
   * never acts on what a client wrote; a transport that forwards events to clients turns it on.
   */
  clientEvents?: boolean
}

/** A message on an internal channel: control traffic between Helix processes, never seen by clients. */
export interface InternalEvent<T = unknown> {
  channel: string
  type: string
  ts: number
  /** The role list of the publishing process. */
  source: string
  data: T
}

export type InternalHandler = (event: InternalEvent) => void

export interface HistoryResult {
  epoch: string
  /** Id of the newest event in the channel ('0-0' when empty): where a fresh subscriber starts. */
  offset: string
  /** Events after `sinceId`, oldest first. Empty when not `recovered`. */
  events: BusEvent[]
  /** The exact JSON of each event in `events`, as it was published. */
  raw: string[]
  /**
   * True when every event after `sinceId` is returned: the id is still within the retained
   * history of the same epoch and the gap fits `limit`. Never a partial set.
   */
  recovered: boolean
}

export interface RecentEvents {
  /** Oldest first. */
  events: BusEvent[]
  /** The exact JSON of each event in `events`, as it was published. */
  raw: string[]
}

export interface Bus {
  readonly kind: 'redis' | 'memory'
  /**
   * Appends to the channel's history and publishes, as one ordered, atomic step. Rejects with a
   * BusRefusal (and publishes nothing) when the data cannot be serialised, a client source breaks the
   * client publish rules, or a new sub-channel would pass the limit of its base channel.
   */
  publish<T>(channel: string, type: string, data: T, source?: string): Promise<BusEvent<T>>
  subscribe(channel: string, handler: BusHandler, options?: SubscribeOptions): Promise<void>
  unsubscribe(channel: string, handler: BusHandler): Promise<void>
  /**
   * Events after `sinceId` in `epoch` (see HistoryResult.recovered). Without `sinceId`: only the
   * position. Reading a sub-channel counts as using it (BusRefusal `subchannel_limit` past the limit).
   */
  history(channel: string, since?: { id: string; epoch: string }, limit?: number): Promise<HistoryResult>
  /**
   * The newest `limit` events of the channel's history, oldest first (what a page shows before it
   * follows the live feed). A read only: it neither creates the history nor marks a sub-channel used.
   */
  recent(channel: string, limit: number): Promise<RecentEvents>
  /**
   * Control traffic (flag overrides, owner changes, cache invalidation) on an internal channel: a
   * namespace of its own (`<prefix>int:<channel>` on Redis) that no client route can name. Delivered
   * live only, without history: a subscriber re-reads state after onReconnect.
   */
  publishInternal(channel: string, type: string, data: unknown): Promise<void>
  subscribeInternal(channel: string, handler: InternalHandler): Promise<void>
  unsubscribeInternal(channel: string, handler: InternalHandler): Promise<void>
  /**
   * Called each time the subscriber connection comes back after being lost (its subscriptions are
   * renewed first): events published meanwhile were not delivered and must come from history.
   * Returns an unsubscribe function.
   */
  onReconnect(listener: () => void): () => void
  /** Connected and subscribed. */
  isReady(): boolean
  /** Resolves once connected (at once in process); ioredis reconnects by itself after that. */
  connected(): Promise<void>
  close(): Promise<void>
}

/** Orders two stream ids (`<ms>-<seq>`). */
export function compareIds(a: string, b: string): number {
  const [am, as = '0'] = a.split('-')
  const [bm, bs = '0'] = b.split('-')
  const ms = BigInt(am) - BigInt(bm)
  if (ms !== 0n) return ms < 0n ? -1 : 1
  const seq = BigInt(as) - BigInt(bs)
  return seq === 0n ? 0 : seq < 0n ? -1 : 1
}

export const STREAM_ID = /^\d{1,20}-\d{1,20}$/

/** Sub-channels (`<base>:<name>`) one base channel may have at once (DESIGN section 6). */
export const SUBCHANNEL_LIMIT = 1000
/** How long an idle sub-channel keeps its history by default (HELIX_HISTORY_TTL). */
export const DEFAULT_HISTORY_TTL_MS = 86_400_000

/** The base channel of a sub-channel (`agents:kael` -> `agents`); null for a base channel. */
export function baseOf(channel: string): string | null {
  const colon = channel.indexOf(':')
  return colon < 0 ? null : channel.slice(0, colon)
}
