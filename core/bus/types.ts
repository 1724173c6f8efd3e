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
  data: T
}

/**
 * A subscriber gets the parsed event and the exact JSON it was published as, so a transport can
 * forward the same bytes to every client without serialising again.
 */
export type BusHandler = (event: BusEvent, raw: string) => void

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

export interface Bus {
  readonly kind: 'redis' | 'memory'
  /** Appends to the channel's history and publishes, as one ordered, atomic step. */
  publish<T>(channel: string, type: string, data: T, source?: string): Promise<BusEvent<T>>
  subscribe(channel: string, handler: BusHandler): Promise<void>
  unsubscribe(channel: string, handler: BusHandler): Promise<void>
  /** Events after `sinceId` in `epoch` (see HistoryResult.recovered). Without `sinceId`: only the position. */
  history(channel: string, since?: { id: string; epoch: string }, limit?: number): Promise<HistoryResult>
  /**
   * Called each time the subscriber connection comes back after being lost (its subscriptions are
   * renewed first): events published meanwhile were not delivered and must come from history.
   * Returns an unsubscribe function.
   */
  onReconnect(listener: () => void): () => void
  /** Connected and subscribed. */
  isReady(): boolean
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
