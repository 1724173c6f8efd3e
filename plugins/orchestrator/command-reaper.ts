// Leases of running commands: the executor renews those it runs; the reaper hands back the ones whose
// lease expired (their replica died), by the database's clock, so replicas' clocks never disagree.
import type { CommandDal } from './command-dal.js'
import type { CommandEvents } from './command-events.js'
import type { CommandQueue } from './command-queue.js'

export class CommandReaper {
  constructor(
    private readonly dal: CommandDal,
    private readonly queue: CommandQueue,
    private readonly events: CommandEvents
  ) {}

  /** Extends the leases of the commands `owner` is executing right now (not of ones it lost track of). */
  renew(owner: string, ids: readonly string[], leaseMs: number): Promise<void> {
    return this.dal.renew(owner, ids, leaseMs)
  }

  /**
   * Hands back the running commands whose lease expired: past their deadline they end as
   * `timed_out`, otherwise they are queued again at their original place. Returns how many it found.
   */
  async reap(): Promise<number> {
    const expired = await this.dal.expired()
    for (const { id, overdue } of expired) {
      if (overdue) await this.queue.timeOut(id)
      else await this.requeue(id)
    }
    return expired.length
  }

  private async requeue(id: string): Promise<void> {
    const done = await this.dal.requeue(id)
    if (done) this.events.requeued(done.command, done.agent, done.outbox)
  }
}
