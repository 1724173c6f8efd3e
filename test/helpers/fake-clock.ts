// A clock a test moves by hand (core/clock.ts's Clock): timers fire, in time order, only when
// advance() passes their time, and an interval fires once for every period it passes.
import type { Clock, Timer } from '../../core/clock.js'

export class FakeClock implements Clock {
  private time: number
  private readonly timers = new Map<number, { at: number; every: number | null; fn: () => void }>()
  private nextId = 1

  constructor(start = Date.now()) {
    this.time = start
  }

  now(): number {
    return this.time
  }

  setTimeout(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, null)
  }

  setInterval(fn: () => void, ms: number): Timer {
    return this.add(fn, ms, ms)
  }

  clearTimeout(timer: Timer | undefined): void {
    this.timers.delete(timer as unknown as number)
  }

  clearInterval(timer: Timer | undefined): void {
    this.timers.delete(timer as unknown as number)
  }

  /** Timers not yet fired or cleared. */
  get pending(): number {
    return this.timers.size
  }

  advance(ms: number): void {
    const end = this.time + ms
    for (;;) {
      const due = [...this.timers].filter(([, timer]) => timer.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
      if (!due) break
      const [id, timer] = due
      this.time = timer.at
      if (timer.every === null) this.timers.delete(id)
      else timer.at += timer.every
      timer.fn()
    }
    this.time = end
  }

  private add(fn: () => void, ms: number, every: number | null): Timer {
    const id = this.nextId++
    this.timers.set(id, { at: this.time + ms, every, fn })
    return id as unknown as Timer
  }
}
