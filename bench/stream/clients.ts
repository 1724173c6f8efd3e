// A load-generator worker process of the stream benchmark: opens WebSocket clients (ws for Helix,
// socket.io-client for the reference), counts deliveries and records publish-to-receive latency.
import * as hdr from 'hdr-histogram-js'
import { io, type Socket } from 'socket.io-client'
import WebSocket from 'ws'
import { channelsFor, nowMs, type FromClients, type ToClients } from './messages.js'

const T_KEY = Buffer.from('"data":{"t":')
let histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 })
let received = 0
let lastAt = 0
const closes: Record<string, number> = {}
const helixSockets: WebSocket[] = []
const sioSockets: Socket[] = []

const send = (message: FromClients) => process.send!(message)

function record(t: number): void {
  const now = nowMs()
  received++
  lastAt = now
  histogram.recordValue(Math.max(1, Math.round((now - t) * 1000)))
}

/** Reads `data.t` straight from the frame's bytes: the generator must stay cheaper than the server. */
function scheduledTime(frame: Buffer): number {
  const at = frame.indexOf(T_KEY)
  return at < 0 ? NaN : parseFloat(frame.toString('latin1', at + T_KEY.length, at + T_KEY.length + 24))
}

function openHelix(url: string, token: string, channels: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}?token=${token}`, { perMessageDeflate: false })
    let waiting = channels.length
    ws.on('message', (data: Buffer) => {
      if (data[8] === 0x76 /* the v of {"op":"event" */) {
        const t = scheduledTime(data)
        if (!Number.isNaN(t)) record(t)
        return
      }
      const text = data.toString()
      if (text.startsWith('{"op":"welcome"')) {
        if (waiting === 0) resolve()
        else ws.send(JSON.stringify({ op: 'subscribe', channels }))
      } else if (text.startsWith('{"op":"subscribed"') && --waiting === 0) {
        resolve()
      }
    })
    ws.on('close', (code) => {
      closes[code] = (closes[code] ?? 0) + 1
      reject(new Error(`closed ${code}`))
    })
    ws.on('error', reject)
    helixSockets.push(ws)
  })
}

function openSocketIo(url: string, token: string, channels: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = io(url, { transports: ['websocket'], auth: { token }, reconnection: false, forceNew: true })
    socket.on('event', (event: { data: { t: number } }) => record(event.data.t))
    socket.on('connect', () => {
      if (channels.length === 0) resolve()
      else socket.emit('subscribe', channels, () => resolve())
    })
    socket.on('connect_error', reject)
    socket.on('disconnect', (reason) => (closes[reason] = (closes[reason] ?? 0) + 1))
    sioSockets.push(socket)
  })
}

async function connect(message: Extract<ToClients, { cmd: 'connect' }>): Promise<void> {
  const started = nowMs()
  let next = 0
  let failed = 0
  const open = message.kind === 'helix' ? openHelix : openSocketIo
  async function lane(): Promise<void> {
    while (next < message.count) {
      const index = message.first + next++
      await open(message.url, message.token, channelsFor(message.layout, index)).catch(() => failed++)
    }
  }
  await Promise.all(Array.from({ length: message.concurrency }, lane))
  send({ evt: 'connected', connected: message.count - failed, failed, ms: nowMs() - started })
}

process.on('message', (message: ToClients) => {
  switch (message.cmd) {
    case 'connect':
      return void connect(message)
    case 'reset':
      histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 })
      received = 0
      lastAt = 0
      for (const key of Object.keys(closes)) delete closes[key]
      return
    case 'report':
      return send({ evt: 'report', received, lastAt, histogram: hdr.encodeIntoCompressedBase64(histogram), closes: { ...closes } })
    case 'disconnect':
      for (const ws of helixSockets.splice(0)) ws.terminate()
      for (const socket of sioSockets.splice(0)) socket.disconnect()
      return send({ evt: 'disconnected' })
  }
})

// Never outlive the benchmark that forked this process.
process.on('disconnect', () => process.exit(0))
