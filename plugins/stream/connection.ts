// One client socket: the protocol of DESIGN section 8 (subscribe with recovery, unsubscribe, publish,
// ping), the send-buffer cap and the token's expiry. Event frames come pre-built from the ChannelHub.
import type { Logger } from 'pino'
import type { RawData, WebSocket } from 'ws'
import { hasScope, type Principal } from '../../core/auth/index.js'
import { BusRefusal, clientSource, CHANNELS, compareIds, isChannel, type Bus } from '../../core/bus/index.js'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../core/json-depth.js'
import { eventFrame, type ChannelHub, type EventFrame, type Subscriber } from './hub.js'
import { clientMessage, OPS, type PublishMessage, type SubscribeMessage } from './schemas.js'

export const CLOSE = {
  goingAway: 1001,
  tooBig: 1009,
  restart: 1012,
  tokenExpired: 4001,
  slowConsumer: 4008
} as const

export interface ConnectionLimits {
  maxBuffer: number
  maxSubscriptions: number
  maxPublishesInFlight: number
  heartbeatMs: number
  /** Most events one subscribe recovers from history; more is `recovered: false`. */
  historyLimit: number
}

/**
 * Event frames are written once per event-loop turn per socket: the events a turn fans out to a
 * socket leave in one writev instead of one system call each, which is what bounds deliveries/s.
 */
export class FlushQueue {
  private dirty: StreamConnection[] = []

  add(connection: StreamConnection): void {
    if (this.dirty.length === 0) setImmediate(() => this.run())
    this.dirty.push(connection)
  }

  private run(): void {
    const dirty = this.dirty
    this.dirty = []
    for (const connection of dirty) connection.flush()
  }
}

export interface ConnectionDeps {
  hub: ChannelHub
  flushes: FlushQueue
  bus: Bus
  log: Logger
  limits: ConnectionLimits
  onDrop(reason: 'slow_consumer' | 'token_expired'): void
  onClose(connection: StreamConnection): void
  /** The per-subject publish rate limit: whether one more publish may go now, else when to retry. */
  allowPublish(): Promise<{ allowed: boolean; retryAfterSeconds: number }>
}

/** The base channels a principal may subscribe to: all of them with `stream:read`. */
export function allowedChannels(principal: Principal, channels: readonly string[]): string[] {
  return hasScope(principal, 'stream:read') ? [...channels] : []
}

const CHANNEL_LIST: readonly string[] = CHANNELS
/**
 * The ws internals the hot path reads. Writing a pre-built frame straight to the TCP socket skips
 * ws's per-send framing (a header allocation and a corked double write per socket); it is only done
 * while ws's own sender has nothing queued, so frame order is kept.
 */
interface WsInternals {
  _socket: { writableLength: number; write(chunk: Buffer): boolean; cork(): void; uncork(): void } | null
  _sender: { _queue: unknown[]; _bufferedBytes: number }
}
const MAX_TIMER_MS = 2 ** 31 - 1

/** A channel subscription; a new object per subscribe so a late history answer can tell it is stale. */
interface Subscription {
  epoch: string
  lastId: string
}

export class StreamConnection implements Subscriber {
  readonly clientId: string
  lastSeen = Date.now()
  lastPing = Date.now()
  private readonly subscriptions = new Map<string, Subscription>()
  private publishesInFlight = 0
  private closing = false
  private expiryTimer: NodeJS.Timeout | null = null
  private batch: EventFrame[] = []
  private batchBytes = 0

  constructor(
    readonly socket: WebSocket,
    readonly principal: Principal,
    clientId: string,
    private readonly deps: ConnectionDeps
  ) {
    this.clientId = clientId
    socket.on('message', (data, isBinary) => this.receive(data, isBinary))
    socket.on('pong', () => (this.lastSeen = Date.now()))
    socket.on('close', () => this.closed())
    socket.on('error', (err) => deps.log.debug({ err: err.message, clientId }, 'websocket error'))
    this.armExpiry()
    this.control({
      op: 'welcome',
      clientId,
      heartbeatMs: deps.limits.heartbeatMs,
      channels: allowedChannels(principal, CHANNEL_LIST)
    })
  }

  /** The hot path: the same bytes for every subscriber, refused past the buffer cap. */
  send(frame: EventFrame): boolean {
    if (this.closing) return false
    const { _socket: tcp, _sender: sender } = this.socket as unknown as WsInternals
    if (!tcp || tcp.writableLength + sender._bufferedBytes + this.batchBytes > this.deps.limits.maxBuffer) {
      this.drop(CLOSE.slowConsumer, 'slow consumer', 'slow_consumer')
      return false
    }
    if (this.batch.length === 0) this.deps.flushes.add(this)
    this.batch.push(frame)
    this.batchBytes += frame.wire.length
    return true
  }

  /** Writes the event frames batched this turn. */
  flush(): void {
    const batch = this.batch
    if (batch.length === 0) return
    this.batch = []
    this.batchBytes = 0
    if (this.closing) return
    const { _socket: tcp, _sender: sender } = this.socket as unknown as WsInternals
    if (!tcp) return
    if (sender._queue.length > 0) {
      for (const frame of batch) this.socket.send(frame.payload)
    } else if (batch.length === 1) {
      tcp.write(batch[0].wire)
    } else {
      tcp.cork()
      for (const frame of batch) tcp.write(frame.wire)
      tcp.uncork()
    }
  }

  reset(channel: string, epoch: string, offset: string): void {
    const subscription = this.subscriptions.get(channel)
    if (!subscription) return
    subscription.epoch = epoch
    subscription.lastId = offset
    this.control({ op: 'subscribed', channel, epoch, offset, recovered: false })
  }

  end(channel: string, code: string, message: string): void {
    this.subscriptions.delete(channel)
    this.error(code, message, { channel })
  }

  /** Closes from the server side; the socket stops receiving events at once. */
  drop(code: number, reason: string, metric?: 'slow_consumer' | 'token_expired'): void {
    if (this.closing) return
    // A slow consumer's backlog is dropped; anyone else gets what was already fanned out to it.
    if (metric === 'slow_consumer') this.batch = []
    else this.flush()
    this.closing = true
    if (metric) this.deps.onDrop(metric)
    this.leaveAll()
    this.socket.close(code, reason)
  }

  terminate(): void {
    this.closing = true
    this.leaveAll()
    this.socket.terminate()
  }

  private closed(): void {
    this.closing = true
    if (this.expiryTimer) clearTimeout(this.expiryTimer)
    this.leaveAll()
    this.deps.onClose(this)
  }

  private leaveAll(): void {
    for (const channel of this.subscriptions.keys()) this.deps.hub.leave(channel, this)
    this.subscriptions.clear()
  }

  private armExpiry(): void {
    const delay = this.principal.expiresAt - Date.now()
    this.expiryTimer = setTimeout(() => {
      if (Date.now() >= this.principal.expiresAt) this.drop(CLOSE.tokenExpired, 'token expired', 'token_expired')
      else this.armExpiry()
    }, Math.max(0, Math.min(delay, MAX_TIMER_MS)))
    this.expiryTimer.unref()
  }

  private control(message: Record<string, unknown>): void {
    if (this.closing) return
    // Batched events were fanned out before this frame was written: they go first.
    this.flush()
    this.socket.send(JSON.stringify(message))
  }

  private error(code: string, message: string, extra: Record<string, unknown> = {}): void {
    this.control({ op: 'error', code, message, ...extra })
  }

  private receive(data: RawData, isBinary: boolean): void {
    this.lastSeen = Date.now()
    if (this.closing) return
    if (isBinary) return this.error('invalid_message', 'Frames must be JSON text')
    const text = data.toString()
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      return this.error('invalid_json', 'The frame is not valid JSON')
    }
    // Parsing a deep frame is safe (V8 parses without recursion); it is parsed first only to echo its ref.
    if (exceedsJsonDepth(text)) {
      return this.error('too_deep', `The frame nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`, refOf(message))
    }
    if (!clientMessage.Check(message)) return this.invalid(message)
    switch (message.op) {
      case 'subscribe':
        return this.subscribe(message)
      case 'unsubscribe':
        for (const channel of message.channels) {
          if (this.subscriptions.delete(channel)) this.deps.hub.leave(channel, this)
        }
        return
      case 'publish':
        return void this.publish(message)
      case 'ping':
        return this.control({ op: 'pong' })
    }
  }

  private invalid(message: unknown): void {
    const op = (message as { op?: unknown } | null)?.op
    const refField = refOf(message)
    if (typeof op !== 'string' || !(OPS as readonly string[]).includes(op)) {
      return this.error('unknown_op', `Unknown op ${JSON.stringify(op ?? null)}; expected one of ${OPS.join(', ')}`, refField)
    }
    const [first] = clientMessage.Errors(message)
    const where = first?.instancePath || '/'
    this.error('invalid_message', `Invalid ${op} message at ${where}: ${first?.message ?? 'does not match the schema'}`, refField)
  }

  private channelProblem(channel: string, scope: 'stream:read' | 'stream:publish'): [code: string, message: string] | null {
    const base = channel.split(':', 1)[0]
    if (!isChannel(base)) return ['unknown_channel', `Unknown channel ${JSON.stringify(channel)}; channels are ${CHANNEL_LIST.join(', ')} (optionally with :<name>)`]
    if (!hasScope(this.principal, scope)) return ['forbidden', `The token lacks the scope "${scope}" for ${channel}`]
    return null
  }

  private subscribe(message: SubscribeMessage): void {
    for (const channel of message.channels) {
      const problem = this.channelProblem(channel, 'stream:read')
      if (problem) {
        this.error(problem[0], problem[1], { channel })
        continue
      }
      if (this.subscriptions.has(channel)) {
        this.error('already_subscribed', `Already subscribed to ${channel}`, { channel })
        continue
      }
      if (this.subscriptions.size >= this.deps.limits.maxSubscriptions) {
        this.error('subscription_limit', `At most ${this.deps.limits.maxSubscriptions} subscriptions per connection`, { channel })
        continue
      }
      const since = message.since?.[channel]
      const subscription: Subscription = { epoch: '', lastId: '0-0' }
      this.subscriptions.set(channel, subscription)
      void this.recover(channel, subscription, since)
    }
  }

  /**
   * Joins the channel's feed first (live events start queueing), then reads history: the missed
   * events go out in order, then the queued live ones not already sent. All or nothing: a gap that
   * history cannot fill is `recovered: false` with the current position.
   */
  private async recover(channel: string, subscription: Subscription, since: { id: string; epoch: string } | undefined): Promise<void> {
    const { hub, bus, limits } = this.deps
    const current = () => !this.closing && this.subscriptions.get(channel) === subscription
    let result
    try {
      await hub.join(channel, this)
      if (!current()) return
      result = await bus.history(channel, since, limits.historyLimit)
    } catch (err) {
      if (!current()) return
      this.subscriptions.delete(channel)
      hub.leave(channel, this)
      if (err instanceof BusRefusal) return this.error(err.code, err.message, { channel })
      this.deps.log.warn({ err, channel }, 'subscribe failed')
      return this.error('unavailable', `The bus is unavailable; subscribe to ${channel} again`, { channel })
    }
    if (!current()) return
    subscription.epoch = result.epoch
    subscription.lastId = since && result.recovered ? since.id : result.offset
    this.control({ op: 'subscribed', channel, epoch: result.epoch, offset: result.offset, recovered: result.recovered })
    for (let i = 0; i < result.raw.length; i++) {
      if (!this.send(eventFrame(result.raw[i]))) return
      subscription.lastId = result.events[i].id
    }
    for (const item of hub.activate(channel, this)) {
      if (item.kind === 'reset') {
        this.reset(channel, item.epoch, item.offset)
      } else if (item.epoch === subscription.epoch && compareIds(item.id, subscription.lastId) > 0) {
        if (!this.send(item.frame)) return
        subscription.lastId = item.id
      }
    }
  }

  private async publish(message: PublishMessage): Promise<void> {
    const ref = message.ref === undefined ? {} : { ref: message.ref }
    const problem = this.channelProblem(message.channel, 'stream:publish')
    if (problem) return this.error(problem[0], problem[1], { channel: message.channel, ...ref })
    if (this.publishesInFlight >= this.deps.limits.maxPublishesInFlight) {
      return this.error('rate_limited', `At most ${this.deps.limits.maxPublishesInFlight} publishes may wait for their ack`, ref)
    }
    this.publishesInFlight++
    try {
      const verdict = await this.deps.allowPublish()
      if (!verdict.allowed) return this.error('too_many_requests', `Publish rate limit exceeded; retry in ${verdict.retryAfterSeconds} s`, { ...ref, retryAfter: verdict.retryAfterSeconds })
      // The bus refuses what a client may not publish (reserved types, `system`) by this source.
      const event = await this.deps.bus.publish(message.channel, message.type, message.data ?? null, clientSource(this.principal.sub))
      this.control({ op: 'ack', ...ref, id: event.id })
    } catch (err) {
      if (err instanceof BusRefusal) return this.error(err.code === 'unserializable' ? 'invalid_message' : err.code, err.message, { channel: message.channel, ...ref })
      this.deps.log.warn({ err, channel: message.channel }, 'publish failed')
      this.error('publish_failed', 'The event could not be published; try again', ref)
    } finally {
      this.publishesInFlight--
    }
  }
}

/** The `ref` of a frame, echoed in the answer when it is one a client could match. */
function refOf(message: unknown): { ref?: number | string } {
  const ref = (message as { ref?: unknown } | null)?.ref
  return typeof ref === 'number' || typeof ref === 'string' ? { ref } : {}
}
