// The publisher worker of the stream benchmark: publishes at a fixed rate through client sockets
// (Helix `publish` ops, Socket.IO `publish` emits), each event stamped with its scheduled send time.
import { io, type Socket } from 'socket.io-client'
import WebSocket from 'ws'
import { nowMs, type FromPublisher, type PublishJob } from './messages.js'

/** Helix allows 64 unacknowledged publishes per socket; a few sockets keep the rate off that cap. */
const SOCKETS = 32

/** An overloaded server may refuse a connect (503 from the kernel's load shedding): try again. */
async function retrying<T>(open: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await open()
    } catch (err) {
      if (attempt === 20) throw err
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
  }
}

async function helixSenders(job: PublishJob, errors: { n: number }): Promise<((text: string) => void)[]> {
  return Promise.all(Array.from({ length: SOCKETS }, () => retrying(() => new Promise<(text: string) => void>((resolve, reject) => {
    const ws = new WebSocket(`${job.url}?token=${job.token}`, { perMessageDeflate: false })
    ws.on('message', (data: Buffer) => {
      const text = data.toString()
      if (text.startsWith('{"op":"welcome"')) resolve((t) => ws.send(t))
      else if (text.startsWith('{"op":"error"')) errors.n++
    })
    ws.on('error', reject)
  }))))
}

async function socketIoSenders(job: PublishJob): Promise<{ emit(message: unknown): void }[]> {
  return Promise.all(Array.from({ length: SOCKETS }, () => retrying(() => new Promise<Socket>((resolve, reject) => {
    const socket = io(job.url, { transports: ['websocket'], auth: { token: job.token }, reconnection: false, forceNew: true })
    socket.on('connect', () => resolve(socket))
    socket.on('connect_error', reject)
  })))).then((sockets) => sockets.map((s) => ({ emit: (m: unknown) => s.emit('publish', m) })))
}

async function run(job: PublishJob): Promise<void> {
  const errors = { n: 0 }
  const pad = 'x'.repeat(job.padBytes)
  const helix = job.kind === 'helix' ? await helixSenders(job, errors) : []
  const sio = job.kind === 'socketio' ? await socketIoSenders(job) : []
  const total = Math.round((job.rate * job.durationMs) / 1000)
  const startedAt = nowMs() + 20
  let sent = 0
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const due = Math.min(total, Math.floor(((nowMs() - startedAt) * job.rate) / 1000) + 1)
      for (; sent < due; sent++) {
        const t = startedAt + (sent * 1000) / job.rate
        const channel = job.channels[sent % job.channels.length]
        if (job.kind === 'helix') {
          helix[sent % SOCKETS](`{"op":"publish","channel":"${channel}","type":"bench.tick","data":{"t":${t},"p":"${pad}"}}`)
        } else {
          sio[sent % SOCKETS].emit({ channel, type: 'bench.tick', data: { t, p: pad } })
        }
      }
      if (sent >= total) {
        clearInterval(timer)
        resolve()
      }
    }, 2)
  })
  process.send!({ evt: 'published', sent, startedAt, errors: errors.n } satisfies FromPublisher)
  setTimeout(() => process.exit(0), 500)
}

process.once('message', (job: PublishJob) => void run(job))

// Never outlive the benchmark that forked this process.
process.on('disconnect', () => process.exit(0))
