// The reference server of the stream benchmark: Socket.IO with its Redis adapter, websocket
// transport only, the same HS256 verification on connect, rooms as channels.
import { createServer } from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import { createVerifier } from 'fast-jwt'
import { Redis } from 'ioredis'
import { Server } from 'socket.io'

const port = Number(process.env.PORT)
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const verify = createVerifier({ key: process.env.HELIX_JWT_SECRET!, algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] })

const httpServer = createServer()
const io = new Server(httpServer, { transports: ['websocket'], serveClient: false, maxHttpBufferSize: 64 * 1024 })
const pub = new Redis(redisUrl)
const sub = pub.duplicate()
io.adapter(createAdapter(pub, sub, { key: process.env.SIO_KEY ?? 'bench-sio' }))

io.use((socket, next) => {
  try {
    const claims = verify(String(socket.handshake.auth?.token ?? '')) as { sub: string; scope?: string }
    socket.data.scopes = new Set((claims.scope ?? '').split(' '))
    next()
  } catch {
    next(new Error('unauthorized'))
  }
})

let seq = 0
io.on('connection', (socket) => {
  socket.on('subscribe', (channels: string[], ack?: (ok: boolean) => void) => {
    void socket.join(channels)
    ack?.(true)
  })
  socket.on('publish', (message: { channel: string; type: string; data: unknown }) => {
    const ts = Date.now()
    io.to(message.channel).emit('event', { channel: message.channel, id: `${ts}-${seq++}`, epoch: 'sio', type: message.type, ts, source: 'bench', data: message.data })
  })
})

httpServer.listen(port, '127.0.0.1', () => process.send?.({ evt: 'listening' }))
process.on('SIGTERM', () => {
  io.close()
  pub.disconnect()
  sub.disconnect()
  process.exit(0)
})

// Never outlive the benchmark that forked this process.
process.on('disconnect', () => process.exit(0))
