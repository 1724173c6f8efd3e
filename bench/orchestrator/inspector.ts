// A Chrome DevTools protocol session with a server process's inspector (SIGUSR1 opens it on
// 127.0.0.1:9229): the benchmarks read a process's heap after a full GC through it.
import { once } from 'node:events'
import WebSocket from 'ws'

const INSPECTOR_PORT = 9229

/** A Chrome DevTools protocol session with the server's inspector. */
export class Inspector {
  private nextId = 1
  private readonly replies = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  private readonly listeners = new Map<string, (params: Record<string, unknown>) => void>()

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: Record<string, unknown> }
      if (message.id !== undefined) {
        const reply = this.replies.get(message.id)
        this.replies.delete(message.id)
        if (message.error) reply?.reject(new Error(message.error.message))
        else reply?.resolve(message.result)
      } else if (message.method) this.listeners.get(message.method)?.(message.params ?? {})
    })
  }

  /** Opens the inspector of `pid` (SIGUSR1) and connects to it; refuses another process's inspector. */
  static async open(pid: number): Promise<Inspector> {
    process.kill(pid, 'SIGUSR1')
    const deadline = Date.now() + 10_000
    while (Date.now() < deadline) {
      try {
        const [target] = (await (await fetch(`http://127.0.0.1:${INSPECTOR_PORT}/json/list`)).json()) as { webSocketDebuggerUrl: string }[]
        const socket = new WebSocket(target!.webSocketDebuggerUrl, { maxPayload: 0 })
        await once(socket, 'open')
        const inspector = new Inspector(socket)
        const other = await inspector.evaluate<number>('process.pid')
        if (other === pid) return inspector
        await inspector.close()
        throw new Error(`port ${INSPECTOR_PORT} is the inspector of another process (${other})`)
      } catch (err) {
        if (err instanceof Error && err.message.startsWith('port ')) throw err
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    throw new Error(`the inspector of ${pid} did not open`)
  }

  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++
    this.socket.send(JSON.stringify({ id, method, params }))
    return new Promise((resolve, reject) => this.replies.set(id, { resolve: resolve as (v: unknown) => void, reject }))
  }

  on(method: string, fn: (params: Record<string, unknown>) => void): void {
    this.listeners.set(method, fn)
  }

  /** The value of `expression` evaluated in the server (JSON-serialisable). */
  async evaluate<T>(expression: string): Promise<T> {
    const { result } = await this.send<{ result: { value: T } }>('Runtime.evaluate', { expression, returnByValue: true })
    return result.value
  }

  async close(): Promise<void> {
    this.socket.close()
    await once(this.socket, 'close')
  }
}

/** V8's heap in use after a full GC, in MiB: the live heap, with no garbage V8 has not yet collected. */
export async function liveHeapMiB(inspector: Inspector): Promise<number> {
  await inspector.send('HeapProfiler.collectGarbage')
  const used = await inspector.evaluate<number>('process.memoryUsage().heapUsed')
  return Math.round((used / 1024 / 1024) * 10) / 10
}
