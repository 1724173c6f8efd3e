// The UCF heartbeat (DESIGN section 9): `ucf.heartbeat` with the current state every few seconds,
// published only by a process that owns the orchestrator.
import type { Logger } from 'pino'
import type { Bus } from '../../core/bus/types.js'
import { systemClock, type Clock, type Timer } from '../../core/clock.js'
import type { Worker } from '../../core/plugin.js'
import type { UcfService } from './ucf-service.js'

export interface UcfHeartbeatDeps {
  ucf: UcfService
  bus: Bus
  log: Logger
  clock?: Clock
  intervalMs: number
}

export class UcfHeartbeat implements Worker {
  readonly name = 'orchestrator-ucf-heartbeat'
  private readonly clock: Clock
  private timer: Timer | undefined

  constructor(private readonly deps: UcfHeartbeatDeps) {
    this.clock = deps.clock ?? systemClock
  }

  start(): void {
    this.timer = this.clock.setInterval(() => {
      this.deps.ucf.get()
        .then((state) => this.deps.bus.publish('ucf', 'ucf.heartbeat', state))
        .catch((err) => this.deps.log.warn({ err }, 'ucf heartbeat failed'))
    }, this.deps.intervalMs)
  }

  stop(): void {
    this.clock.clearInterval(this.timer)
    this.timer = undefined
  }
}
