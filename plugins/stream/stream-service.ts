// StreamService: the open connections of this process, their heartbeat, the per-IP connection rate
// limit, the ownership and shutdown closes, and the counters behind /api/stream/stats.
import { randomBytes } from 'node:crypto'
import type { WebSocket } from 'ws'
import type { Principal } from '../../core/auth/index.js'
import type { Kernel } from '../../core/plugin.js'
import { CLOSE, FlushQueue, StreamConnection, type ConnectionDeps, type ConnectionLimits } from './connection.js'
import { ChannelHub } from './hub.js'
import { createStreamMetrics, type StreamMetrics } from './metrics.js'
import type { Stats } from './schemas.js'

export interface StreamOptions {
  /** Ping interval (DESIGN: 25 s). */
  heartbeatMs: number
  /** A peer silent this long is terminated (DESIGN: 35 s). */
  silenceTimeoutMs: number
  maxSubscriptions: number
  /** Largest client frame in bytes; a bigger one closes the socket with 1009. */
  maxPayload: number
  /** Live events queued per recovering subscriber (and per repairing channel). */
  maxPending: number
  maxPublishesInFlight: number
  /** Bytes a socket may have queued before it is closed as a slow consumer (HELIX_WS_MAX_BUFFER). */
  maxBuffer: number
  /** Connections per second per IP (HELIX_WS_CONNECT_RATE), enforced by the route's rate limit. */
  connectRate: number
}

export const defaultStreamOptions: Omit<StreamOptions, 'maxBuffer' | 'connectRate'> = {
  heartbeatMs: 25_000,
  silenceTimeoutMs: 35_000,
  maxSubscriptions: 128,
  maxPayload: 64 * 1024,
  maxPending: 10_000,
  maxPublishesInFlight: 64
}

export class StreamService {
  readonly hub: ChannelHub
  readonly metrics: StreamMetrics
  private readonly connections = new Set<StreamConnection>()
  /** The 1012 close reason while ownership is elsewhere; null while this process owns streaming. */
  private movedTo: string | null = null
  private readonly flushes = new FlushQueue()
  private readonly limits: ConnectionLimits
  private readonly sweepTimer: NodeJS.Timeout
  private readonly counters = { eventsIn: 0, eventsOut: 0, bytesOut: 0, slowConsumer: 0, heartbeat: 0, tokenExpired: 0 }
  private nextId = 0
  private readonly idPrefix = randomBytes(4).toString('hex')

  constructor(
    private readonly kernel: Kernel,
    readonly options: StreamOptions
  ) {
    this.metrics = createStreamMetrics(kernel.metrics, () => this.hub.subscriberCounts())
    this.hub = new ChannelHub({
      bus: kernel.bus,
      log: kernel.log,
      metrics: this.metrics,
      maxPending: options.maxPending,
      counters: this.counters
    })
    this.limits = {
      maxBuffer: options.maxBuffer,
      maxSubscriptions: options.maxSubscriptions,
      maxPublishesInFlight: options.maxPublishesInFlight,
      heartbeatMs: options.heartbeatMs,
      historyLimit: kernel.config.historyLen
    }
    // One sweep for every socket instead of a timer each; five sweeps per ping interval keep the
    // silence cut-off within a fifth of an interval of its target.
    this.sweepTimer = setInterval(() => this.sweep(), Math.max(10, Math.floor(Math.min(options.heartbeatMs, options.silenceTimeoutMs) / 5)))
    this.sweepTimer.unref()
  }

  /** `allowPublish` answers for this connection's subject (HELIX_RATE_PUBLISH, shared by replicas). */
  accept(socket: WebSocket, principal: Principal, allowPublish: ConnectionDeps['allowPublish']): void {
    // An upgrade that passed the gate just before ownership moved would otherwise outlive the sweep.
    if (this.movedTo !== null) {
      socket.close(CLOSE.restart, this.movedTo)
      return
    }
    const connection = new StreamConnection(socket, principal, `${this.idPrefix}-${(this.nextId++).toString(36)}`, {
      allowPublish,
      hub: this.hub,
      flushes: this.flushes,
      bus: this.kernel.bus,
      log: this.kernel.log,
      limits: this.limits,
      onDrop: (reason) => {
        this.metrics.closes.inc({ reason })
        if (reason === 'slow_consumer') this.counters.slowConsumer++
        else this.counters.tokenExpired++
      },
      onClose: (c) => {
        if (this.connections.delete(c)) this.metrics.connections.dec()
      }
    })
    this.connections.add(connection)
    this.metrics.connections.inc()
  }

  /** Closes every socket with `code`; clients reconnect (1012 names where, 1001 is shutdown). */
  closeAll(code: number, reason: string): void {
    for (const connection of this.connections) connection.drop(code, reason)
  }

  /** Ownership moved away: every socket, and any that still arrives, is closed with 1012 and `reason`. */
  moveAway(reason: string): void {
    this.movedTo = reason
    this.closeAll(CLOSE.restart, reason)
  }

  /** Ownership came back: sockets are accepted again. */
  resume(): void {
    this.movedTo = null
  }

  stats(): Stats {
    return {
      connections: this.connections.size,
      subscriptions: Object.fromEntries(this.hub.subscriberCounts()),
      eventsIn: this.counters.eventsIn,
      eventsOut: this.counters.eventsOut,
      bytesOut: this.counters.bytesOut,
      dropped: { slowConsumer: this.counters.slowConsumer, heartbeat: this.counters.heartbeat, tokenExpired: this.counters.tokenExpired }
    }
  }

  close(): void {
    clearInterval(this.sweepTimer)
    for (const connection of this.connections) connection.terminate()
    this.hub.close()
  }

  private sweep(): void {
    const now = Date.now()
    for (const connection of this.connections) {
      if (now - connection.lastSeen > this.options.silenceTimeoutMs) {
        this.counters.heartbeat++
        this.metrics.closes.inc({ reason: 'heartbeat' })
        connection.terminate()
      } else if (now - connection.lastPing >= this.options.heartbeatMs) {
        connection.lastPing = now
        connection.socket.ping()
      }
    }
  }
}

