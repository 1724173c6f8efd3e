// Follows rituals on the bus for the /ritual replies: one `rituals` subscription serves every ritual
// being watched, by id.
import type { Bus, BusHandler } from '../../core/bus/types.js'
import type { Ritual } from '../../core/contracts/orchestrator.js'

export interface RitualProgress {
  step: number
  steps: number
}

interface Watch {
  progress(p: RitualProgress): void
  done(ritual: Ritual): void
}

export class RitualWatcher {
  private readonly watches = new Map<string, Set<Watch>>()
  private subscribed: Promise<void> | null = null

  constructor(private readonly bus: Bus) {}

  /** Subscribes (once) before a ritual is started, so none of its events can be missed. */
  ready(): Promise<void> {
    this.subscribed ??= this.bus.subscribe('rituals', this.onEvent)
    return this.subscribed
  }

  /** Calls `progress` per step and resolves with the ended ritual, or null after `timeoutMs`. */
  async follow(id: string, read: () => Promise<Ritual>, progress: (p: RitualProgress) => void, timeoutMs: number): Promise<Ritual | null> {
    let finish!: (ritual: Ritual | null) => void
    const ended = new Promise<Ritual | null>((resolve) => (finish = resolve))
    const watch: Watch = { progress, done: finish }
    let set = this.watches.get(id)
    if (!set) this.watches.set(id, (set = new Set()))
    set.add(watch)
    const timer = setTimeout(() => finish(null), timeoutMs)
    try {
      // Watching first, read second: an end that came before the watch is in the read.
      const current = await read()
      if (current.status === 'completed' || current.status === 'failed') finish(current)
      return await ended
    } finally {
      clearTimeout(timer)
      set.delete(watch)
      if (set.size === 0) this.watches.delete(id)
    }
  }

  async close(): Promise<void> {
    if (this.subscribed) await this.bus.unsubscribe('rituals', this.onEvent).catch(() => undefined)
    this.subscribed = null
  }

  private readonly onEvent: BusHandler = (event) => {
    const data = event.data as { id?: string; step?: number; steps?: number; status?: string }
    const set = data.id ? this.watches.get(data.id) : undefined
    if (!set) return
    for (const watch of [...set]) {
      if (event.type === 'ritual.progress') watch.progress({ step: data.step ?? 0, steps: data.steps ?? 0 })
      else if (event.type === 'ritual.completed') watch.done(event.data as Ritual)
    }
  }
}
