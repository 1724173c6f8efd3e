// Calls made close together, sent to the database as one statement: the executor's per-command
// round trips (recording outcomes, STATUS reads) grouped across the agents running at once.
import { inBatchTrace, noTracing, type Tracing, type Within } from '../../core/trace.js'

/** Microtask hops the first call waits for others: a few awaits' worth of slack between callers. */
const HOPS = 8

function afterHops(hops: number, fn: () => void): void {
  queueMicrotask(hops <= 1 ? fn : () => afterHops(hops - 1, fn))
}

interface Waiting<I, O> {
  item: I
  within: Within
  resolve(output: O): void
  reject(err: unknown): void
}

/**
 * The first call waits a few microtask hops, so the calls that the same callback set off (the
 * agents a previous statement handed work to, which step through the same awaits in lockstep) join
 * it, without waiting for another turn of the event loop, which under load may take long; calls made
 * while a statement is in flight join the next one, sent as soon as it returns. `send` answers each
 * item in order; a failure fails the items of its statement and nothing else.
 */
export class SharedRoundTrip<I, O> {
  private waiting: Waiting<I, O>[] = []
  private scheduled = false
  private inFlight = false

  constructor(
    private readonly send: (items: I[]) => Promise<O[]>,
    private readonly trace: Tracing = noTracing,
    private readonly max = 256
  ) {}

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, within: this.trace.bind(), resolve, reject })
      this.schedule()
    })
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight || this.waiting.length === 0) return
    this.scheduled = true
    afterHops(HOPS, () => {
      this.scheduled = false
      void this.flush()
    })
  }

  private async flush(): Promise<void> {
    const batch = this.waiting.splice(0, this.max)
    this.inFlight = true
    try {
      const outputs = await inBatchTrace(this.trace, batch, () => this.send(batch.map((w) => w.item)))
      batch.forEach((w, i) => w.resolve(outputs[i] as O))
    } catch (err) {
      for (const w of batch) w.reject(err)
    } finally {
      this.inFlight = false
      if (this.waiting.length > 0) void this.flush()
    }
  }
}
