// StreamClient: the typed client of the stream plugin's WebSocket protocol for browsers (the
// dashboard) and Node 22 (the bot, tests). Uses only the global WebSocket and fetch.
import { compareIds, type BusEvent } from '../bus/types.js'

/** An event as the stream delivers it: the bus envelope. */
export type StreamEvent<T = unknown> = BusEvent<T>

export interface StreamPosition {
  id: string
  epoch: string
}

export type StreamState = 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface SubscribedInfo {
  channel: string
  epoch: string
  offset: string
  /**
   * False when the client had a position but the events since it could not all be replayed (history
   * trimmed or lost, or the server's own feed lost events): reload the state this channel describes.
   */
  recovered: boolean
  /** True when this client asked to resume from a position. */
  resumed: boolean
}

export interface StreamError {
  code: string
  message: string
  channel?: string
  ref?: number | string
}

export interface StreamClientOptions {
  /** Base URL of any Helix service (`https://helix.example`); the ws URL comes from discovery. */
  url: string
  /** The access token, or a function returning a fresh one before each connect. */
  token: string | (() => string | Promise<string>)
  channels?: readonly string[]
  onEvent?(event: StreamEvent): void
  onState?(state: StreamState, detail: { code?: number; reason?: string; attempt: number }): void
  onSubscribed?(info: SubscribedInfo): void
  onError?(error: StreamError): void
  /** Reconnect delays: full jitter over an exponential ceiling. */
  backoff?: { initialMs?: number; maxMs?: number }
  /** Positions to resume from on the first connect (e.g. kept in sessionStorage). */
  positions?: Record<string, StreamPosition>
}

/** Close codes after which reconnecting cannot help. */
const FINAL_CLOSE_CODES = new Set([4001, 1008])

export class StreamClient {
  private socket: WebSocket | null = null
  private readonly channels = new Set<string>()
  private readonly positions = new Map<string, StreamPosition>()
  /** Channels whose subscribe asked to resume; answers are matched to tell `resumed`. */
  private readonly resuming = new Set<string>()
  private readonly acks = new Map<number, { resolve(id: string): void; reject(err: StreamError): void }>()
  private nextRef = 1
  private attempt = 0
  private stopped = false
  private retryTimer: ReturnType<typeof setTimeout> | null = null
  private baseUrl: string
  private state: StreamState = 'closed'

  constructor(private readonly options: StreamClientOptions) {
    this.baseUrl = options.url.replace(/\/+$/, '')
    for (const channel of options.channels ?? []) this.channels.add(channel)
    for (const [channel, position] of Object.entries(options.positions ?? {})) this.positions.set(channel, position)
  }

  /** Connects (and keeps reconnecting) until close(). */
  connect(): void {
    this.stopped = false
    void this.open()
  }

  close(): void {
    this.stopped = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    this.socket?.close(1000)
    this.socket = null
    this.setState('closed', {})
  }

  subscribe(channels: readonly string[]): void {
    const added = channels.filter((c) => !this.channels.has(c))
    for (const channel of added) this.channels.add(channel)
    if (added.length > 0 && this.state === 'open') this.sendSubscribe(added)
  }

  unsubscribe(channels: readonly string[]): void {
    const removed = channels.filter((c) => this.channels.delete(c))
    for (const channel of removed) this.positions.delete(channel)
    if (removed.length > 0 && this.state === 'open') this.socket?.send(JSON.stringify({ op: 'unsubscribe', channels: removed }))
  }

  /** Publishes over the socket; resolves with the event id once the server acknowledged it. */
  publish(channel: string, type: string, data: unknown): Promise<string> {
    if (this.state !== 'open' || !this.socket) return Promise.reject({ code: 'not_connected', message: 'The stream is not connected' } satisfies StreamError)
    const ref = this.nextRef++
    this.socket.send(JSON.stringify({ op: 'publish', channel, type, data, ref }))
    return new Promise((resolve, reject) => this.acks.set(ref, { resolve, reject }))
  }

  /** The last event position seen per channel: what a reconnect resumes from. */
  position(channel: string): StreamPosition | undefined {
    return this.positions.get(channel)
  }

  get currentState(): StreamState {
    return this.state
  }

  private setState(state: StreamState, detail: { code?: number; reason?: string }): void {
    this.state = state
    this.options.onState?.(state, { ...detail, attempt: this.attempt })
  }

  private async wsUrl(): Promise<string> {
    let ws: string | null | undefined
    try {
      const res = await fetch(`${this.baseUrl}/.well-known/helix.json`)
      if (res.ok) ws = ((await res.json()) as { plugins?: { stream?: { ws?: string | null } } }).plugins?.stream?.ws
    } catch {
      // Discovery unreachable: fall back to the conventional path on the same host.
    }
    return ws ?? `${this.baseUrl.replace(/^http/, 'ws')}/ws`
  }

  private async open(): Promise<void> {
    this.setState(this.attempt === 0 ? 'connecting' : 'reconnecting', {})
    let socket: WebSocket
    try {
      const token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token
      const url = await this.wsUrl()
      if (this.stopped) return
      socket = new WebSocket(`${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`)
    } catch {
      return this.retry({})
    }
    this.socket = socket
    socket.onmessage = (message) => this.receive(String(message.data))
    socket.onclose = (event) => {
      if (this.socket !== socket) return
      this.socket = null
      for (const { reject } of this.acks.values()) reject({ code: 'disconnected', message: 'The connection closed before the ack' })
      this.acks.clear()
      if (this.stopped) return
      if (event.code === 1012) this.followOwner(event.reason)
      if (FINAL_CLOSE_CODES.has(event.code) && typeof this.options.token === 'string') {
        this.stopped = true
        return this.setState('closed', { code: event.code, reason: event.reason })
      }
      this.retry({ code: event.code, reason: event.reason })
    }
  }

  /** 1012 names the service that owns streaming now; its discovery gives the new ws URL. */
  private followOwner(reason: string): void {
    try {
      const reconnect = (JSON.parse(reason) as { reconnect?: string | null }).reconnect
      if (reconnect) this.baseUrl = reconnect.replace(/\/+$/, '')
    } catch {
      // No usable hint: reconnect where we were; discovery there knows the owner.
    }
  }

  private retry(detail: { code?: number; reason?: string }): void {
    if (this.stopped) return
    this.attempt++
    this.setState('reconnecting', detail)
    const initial = this.options.backoff?.initialMs ?? 500
    const max = this.options.backoff?.maxMs ?? 30_000
    const ceiling = Math.min(max, initial * 2 ** Math.min(this.attempt - 1, 16))
    this.retryTimer = setTimeout(() => void this.open(), Math.random() * ceiling)
  }

  private sendSubscribe(channels: readonly string[]): void {
    const since: Record<string, StreamPosition> = {}
    for (const channel of channels) {
      const position = this.positions.get(channel)
      if (position) {
        since[channel] = position
        this.resuming.add(channel)
      }
    }
    this.socket?.send(JSON.stringify({ op: 'subscribe', channels, since }))
  }

  private receive(text: string): void {
    let frame: { op: string } & Record<string, unknown>
    try {
      frame = JSON.parse(text)
    } catch {
      return
    }
    switch (frame.op) {
      case 'event':
        return this.event(frame as unknown as StreamEvent & { op: 'event' })
      case 'welcome':
        this.attempt = 0
        this.setState('open', {})
        if (this.channels.size > 0) this.sendSubscribe([...this.channels])
        return
      case 'subscribed': {
        const info = frame as unknown as Omit<SubscribedInfo, 'resumed'>
        const resumed = this.resuming.delete(info.channel)
        const current = this.positions.get(info.channel)
        // Without a replay the position restarts at the server's offset; a replay advances it per event.
        if (!info.recovered || !current) this.positions.set(info.channel, { id: info.offset, epoch: info.epoch })
        this.options.onSubscribed?.({ channel: info.channel, epoch: info.epoch, offset: info.offset, recovered: info.recovered, resumed })
        return
      }
      case 'ack': {
        const pending = this.acks.get(frame.ref as number)
        this.acks.delete(frame.ref as number)
        return pending?.resolve(frame.id as string)
      }
      case 'error': {
        const error = frame as unknown as StreamError
        const pending = typeof error.ref === 'number' ? this.acks.get(error.ref) : undefined
        if (pending) {
          this.acks.delete(error.ref as number)
          return pending.reject(error)
        }
        if (error.channel && ['unavailable', 'recovery_overflow'].includes(error.code) && this.channels.has(error.channel)) {
          // The server dropped this subscription but it can be retried: ask again with our position.
          setTimeout(() => this.state === 'open' && this.sendSubscribe([error.channel!]), 1000)
        }
        return this.options.onError?.(error)
      }
    }
  }

  private event(frame: StreamEvent & { op?: string }): void {
    const position = this.positions.get(frame.channel)
    // Dedupe: an id at or before our position in the same epoch was delivered already.
    if (position && position.epoch === frame.epoch && compareIds(frame.id, position.id) <= 0) return
    this.positions.set(frame.channel, { id: frame.id, epoch: frame.epoch })
    if (!this.channels.has(frame.channel)) return
    delete frame.op
    this.options.onEvent?.(frame)
  }
}
