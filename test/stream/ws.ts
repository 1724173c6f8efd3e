// WebSocket test clients for the stream plugin: frames queued as they arrive, awaited by predicate.
import type { FastifyInstance } from 'fastify'
import WebSocket from 'ws'

export type Frame = Record<string, unknown> & { op: string }

export interface TestSocket {
  ws: WebSocket
  frames: Frame[]
  /** Resolves with the first not yet taken frame matching `match` and removes it from `frames`. */
  next(match?: (f: Frame) => boolean): Promise<Frame>
  send(message: unknown): void
  closed: Promise<{ code: number; reason: string }>
}

export async function listen(app: FastifyInstance): Promise<string> {
  const address = await app.listen({ port: 0, host: '127.0.0.1' })
  return address.replace(/^http/, 'ws')
}

export function connect(base: string, token: string | null, options: WebSocket.ClientOptions = {}): Promise<TestSocket> {
  const url = token === null ? `${base}/ws` : `${base}/ws?token=${encodeURIComponent(token)}`
  const ws = new WebSocket(url, options)
  const frames: Frame[] = []
  const waiters: (() => void)[] = []
  ws.on('message', (data) => {
    frames.push(JSON.parse(data.toString()) as Frame)
    for (const w of waiters.splice(0)) w()
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      resolve({ code, reason: reason.toString() })
      for (const w of waiters.splice(0)) w()
    }))
  const socket: TestSocket = {
    ws,
    frames,
    closed,
    send: (message) => ws.send(typeof message === 'string' ? message : JSON.stringify(message)),
    async next(match = () => true) {
      for (;;) {
        const index = frames.findIndex(match)
        if (index >= 0) return frames.splice(index, 1)[0]
        if (ws.readyState === WebSocket.CLOSED) throw new Error(`socket closed while waiting; frames: ${JSON.stringify(frames.slice(-3))}`)
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
    }
  }
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket))
    ws.once('error', reject)
  })
}

/** The HTTP answer to an upgrade that was refused: status and JSON body. */
export function refusedUpgrade(base: string, headers: Record<string, string> = {}, query = ''): Promise<{ status: number; body: Record<string, unknown>; upgraded: boolean }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${base}/ws${query}`, { headers })
    ws.once('open', () => {
      ws.terminate()
      resolve({ status: 101, body: {}, upgraded: true })
    })
    ws.once('unexpected-response', (_req, res) => {
      let text = ''
      res.on('data', (d: Buffer) => (text += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown>, upgraded: false }))
    })
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err)
    })
  })
}

/** Collects `count` event frames of a socket. */
export async function events(socket: TestSocket, count: number): Promise<Frame[]> {
  const out: Frame[] = []
  while (out.length < count) out.push(await socket.next((f) => f.op === 'event'))
  return out
}
