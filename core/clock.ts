// Time as a dependency: leases, workers and timers take a Clock, so a test can hand them a fake one.
// The system clock's timers are unref'd: background work never keeps a process alive on its own.

export type Timer = { readonly __timer: unique symbol }

export interface Clock {
  /** Epoch milliseconds. */
  now(): number
  setTimeout(fn: () => void, ms: number): Timer
  clearTimeout(timer: Timer | undefined): void
  setInterval(fn: () => void, ms: number): Timer
  clearInterval(timer: Timer | undefined): void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    return setTimeout(fn, ms).unref() as unknown as Timer
  },
  clearTimeout(timer) {
    if (timer) clearTimeout(timer as unknown as NodeJS.Timeout)
  },
  setInterval(fn, ms) {
    return setInterval(fn, ms).unref() as unknown as Timer
  },
  clearInterval(timer) {
    if (timer) clearInterval(timer as unknown as NodeJS.Timeout)
  }
}
