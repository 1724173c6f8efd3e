// Turns bus events into outbound deliveries (DESIGN section 11): `agent.updated`, `command.updated`,
// `ritual.completed`, `alert.raised`, and `ucf.phase_changed` (derived from `ucf.updated` when the phase
// moves). Runs in the owning replicas; each keeps the recent items the trigger samples show.
import type { Logger } from 'pino'
import type { Bus, BusEvent, BusHandler } from '../../core/bus/types.js'
import type { Clock } from '../../core/clock.js'
import type { Worker } from '../../core/plugin.js'
import type { DeliveryStore } from './delivery-store.js'
import type { DeliveryPayload, OutboundEvent } from './schemas.js'
import type { SubscriptionStore } from './subscription-store.js'

const CHANNELS: Record<string, OutboundEvent | 'ucf.updated'> = {
  agents: 'agent.updated',
  commands: 'command.updated',
  rituals: 'ritual.completed',
  alerts: 'alert.raised',
  ucf: 'ucf.updated'
}

/** Items kept per event for GET /api/zapier/triggers/:event/sample. */
const SAMPLE_SIZE = 10

export class RecentItems {
  private readonly items = new Map<string, DeliveryPayload[]>()

  add(item: DeliveryPayload): void {
    const list = this.items.get(item.event) ?? []
    list.unshift(item)
    if (list.length > SAMPLE_SIZE) list.length = SAMPLE_SIZE
    this.items.set(item.event, list)
  }

  /** Newest first. */
  of(event: string): DeliveryPayload[] {
    return [...(this.items.get(event) ?? [])]
  }
}

export interface FanoutDeps {
  bus: Bus
  subscriptions: SubscriptionStore
  deliveries: DeliveryStore
  recent: RecentItems
  clock: Clock
  log: Logger
  /** New deliveries are waiting: wake the sender. */
  queued(): void
}

export class OutboundFanout implements Worker {
  readonly name = 'zapier-fanout'
  private phase: string | null = null

  constructor(private readonly deps: FanoutDeps) {}

  async start(): Promise<void> {
    await Promise.all(Object.keys(CHANNELS).map((channel) => this.deps.bus.subscribe(channel, this.onEvent)))
  }

  async stop(): Promise<void> {
    await Promise.all(Object.keys(CHANNELS).map((channel) => this.deps.bus.unsubscribe(channel, this.onEvent).catch(() => undefined)))
  }

  private readonly onEvent: BusHandler = (event) => {
    if (event.type === 'ucf.heartbeat') {
      // The state every 5 s: where the phase stands before the first change is heard.
      const phase = (event.data as { phase?: unknown }).phase
      if (typeof phase === 'string') this.phase ??= phase
      return
    }
    if (event.type !== CHANNELS[event.channel]) return
    if (event.type === 'ucf.updated') {
      const phase = (event.data as { phase?: unknown }).phase
      if (typeof phase !== 'string') return
      const before = this.phase
      this.phase = phase
      if (before === null || before === phase) return
      void this.fanOut(event, 'ucf.phase_changed', { from: before, to: phase, ucf: event.data })
      return
    }
    void this.fanOut(event, event.type as OutboundEvent, event.data)
  }

  private async fanOut(event: BusEvent, name: OutboundEvent, data: unknown): Promise<void> {
    const { subscriptions, deliveries, recent, clock, log } = this.deps
    const item: DeliveryPayload = { id: `${event.channel}:${event.epoch}:${event.id}`, event: name, ts: event.ts, data }
    recent.add(item)
    try {
      const targets = await subscriptions.activeFor(name, clock.now())
      if (targets.length === 0) return
      const added = await deliveries.enqueue(targets.map((s) => s.id), item.id, name, JSON.stringify(item), clock.now())
      if (added > 0) this.deps.queued()
    } catch (err) {
      log.warn({ err: (err as Error).message, event: name }, 'could not queue outbound deliveries')
    }
  }
}
