// `npm run bench:stream`: Helix's stream plugin against Socket.IO + its Redis adapter, side by side,
// on the same Redis with the same load-generator processes. Prints one table; bounded in time.
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSigner } from 'fast-jwt'
import * as hdr from 'hdr-histogram-js'
import { Redis } from 'ioredis'
import { freePort } from '../test/helpers/net.js'
import { otelEnv } from './observability/otel-env.js'
import { printTable } from './table.js'
import { SPREAD_CHANNELS, type FromClients, type FromPublisher, type Layout, type PublishJob, type ServerKind, type ToClients } from './stream/messages.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const projectRoot = path.resolve(here, '../..')
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const SECRET = randomBytes(24).toString('hex')
const PREFIX = `bench:stream:${randomBytes(3).toString('hex')}:`
const WORKERS = 2
const sign = createSigner({ key: SECRET, algorithm: 'HS256' })
const token = (scope: string) => sign({ sub: 'bench', scope, exp: Math.floor(Date.now() / 1000) + 3600 })
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Server {
  kind: ServerKind
  /** What the clients connect to: ws://.../ws for Helix, http://... for Socket.IO. */
  url: string
  pid: number
  stop(): Promise<void>
}

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'))!
  return Number(line.replace(/\D+/g, '')) * 1024
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  await new Promise((resolve) => {
    child.once('exit', resolve)
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 3000).unref()
  })
}

/** Every child this run started, killed if the run ends early. */
const children = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})

async function startHelix(): Promise<Server> {
  const port = await freePort()
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'helix-bench-'))
  const child = spawn(process.execPath, [path.join(projectRoot, 'dist/core/main.js')], {
    cwd: projectRoot,
    env: {
      PATH: process.env.PATH, NODE_ENV: 'production', LOG_LEVEL: 'warn', HOST: '127.0.0.1', PORT: String(port),
      REDIS_URL, HELIX_REDIS_PREFIX: PREFIX, HELIX_JWT_SECRET: SECRET, HELIX_DATA_DIR: dataDir, HELIX_WS_CONNECT_RATE: '1000000',
      HELIX_RATE_PUBLISH: '10000000', ...otelEnv()
    },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  children.add(child)
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false)
    if (ok) break
    if (child.exitCode !== null) throw new Error('helix exited during start-up')
    await sleep(50)
  }
  return {
    kind: 'helix', url: `ws://127.0.0.1:${port}/ws`, pid: child.pid!,
    stop: async () => {
      await stopChild(child)
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

async function startSocketIo(): Promise<Server> {
  const port = await freePort()
  const child = fork(path.join(here, 'stream/socketio-server.js'), [], {
    env: { PORT: String(port), REDIS_URL, HELIX_JWT_SECRET: SECRET, SIO_KEY: `${PREFIX}sio` },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  await new Promise((resolve) => child.once('message', resolve))
  return { kind: 'socketio', url: `http://127.0.0.1:${port}`, pid: child.pid!, stop: () => stopChild(child) }
}

/** The client worker processes, driven over IPC. */
class Clients {
  private readonly workers: ChildProcess[] = []
  constructor() {
    for (let i = 0; i < WORKERS; i++) this.workers.push(fork(path.join(here, 'stream/clients.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
  }

  private ask<E extends FromClients['evt']>(message: ToClients, evt: E): Promise<Extract<FromClients, { evt: E }>[]> {
    return Promise.all(this.workers.map((w) => new Promise<Extract<FromClients, { evt: E }>>((resolve) => {
      const onMessage = (m: FromClients) => {
        if (m.evt !== evt) return
        w.off('message', onMessage)
        resolve(m as Extract<FromClients, { evt: E }>)
      }
      w.on('message', onMessage)
      w.send(message)
    })))
  }

  /** Opens `count` clients split over the workers; returns connects per second and failures. */
  async connect(server: Server, count: number, layout: Layout): Promise<{ perSecond: number; failed: number }> {
    const per = Math.ceil(count / WORKERS)
    const replies = await Promise.all(this.workers.map((w, i) => new Promise<Extract<FromClients, { evt: 'connected' }>>((resolve) => {
      const onMessage = (m: FromClients) => {
        if (m.evt !== 'connected') return
        w.off('message', onMessage)
        resolve(m)
      }
      w.on('message', onMessage)
      w.send({ cmd: 'connect', kind: server.kind, url: server.url, token: token('stream:read'), count: per, first: i * per, layout, concurrency: 64 } satisfies ToClients)
    })))
    const connected = replies.reduce((n, r) => n + r.connected, 0)
    return { perSecond: connected / (Math.max(...replies.map((r) => r.ms)) / 1000), failed: replies.reduce((n, r) => n + r.failed, 0) }
  }

  reset(): void {
    for (const w of this.workers) w.send({ cmd: 'reset' } satisfies ToClients)
  }

  async report(): Promise<{ received: number; lastAt: number; histogram: hdr.Histogram; closes: Record<string, number> }> {
    const replies = await this.ask({ cmd: 'report' }, 'report')
    const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 })
    const closes: Record<string, number> = {}
    for (const r of replies) {
      histogram.add(hdr.decodeFromCompressedBase64(r.histogram))
      for (const [k, v] of Object.entries(r.closes)) closes[k] = (closes[k] ?? 0) + v
    }
    return { received: replies.reduce((n, r) => n + r.received, 0), lastAt: Math.max(...replies.map((r) => r.lastAt)), histogram, closes }
  }

  async disconnect(): Promise<void> {
    await this.ask({ cmd: 'disconnect' }, 'disconnected')
  }

  close(): void {
    for (const w of this.workers) w.kill('SIGKILL')
  }
}

function publish(server: Server, rate: number, durationMs: number, channels: string[]): Promise<FromPublisher> {
  const child = fork(path.join(here, 'stream/publisher.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const job: PublishJob = { kind: server.kind, url: server.url, token: token('stream:read stream:publish'), rate, durationMs, channels, padBytes: 60 }
  child.send(job)
  return new Promise((resolve) => child.once('message', (m: FromPublisher) => resolve(m)))
}

interface Run {
  offered: number
  delivered: number
  perSecond: number
  p50: number
  p99: number
  p999: number
  closes: Record<string, number>
}

/** One fixed-rate run: publish, wait until deliveries stop, measure. */
async function run(server: Server, clients: Clients, rate: number, durationMs: number, channels: string[], fanOut: number): Promise<Run> {
  clients.reset()
  await sleep(100)
  const published = await publish(server, rate, durationMs, channels)
  let previous = -1
  let report = await clients.report()
  for (let waited = 0; waited < 10_000 && report.received !== previous; waited += 400) {
    previous = report.received
    await sleep(400)
    report = await clients.report()
  }
  const seconds = (report.lastAt - published.startedAt) / 1000
  const ms = (q: number) => report.histogram.getValueAtPercentile(q) / 1000
  console.error(`  ${server.kind}: ${rate} events/s x ${fanOut}: ${published.errors} publishes refused, ${report.received} of ${(published.sent - published.errors) * fanOut} delivered, ${Math.round(report.received / seconds)}/s, p99 ${ms(99)} ms, closes ${JSON.stringify(report.closes)}`)
  return {
    // A publish the server refused (rate_limited) never existed: it is not offered.
    offered: (published.sent - published.errors) * fanOut,
    delivered: report.received,
    perSecond: seconds > 0 ? report.received / seconds : 0,
    p50: ms(50), p99: ms(99), p999: ms(99.9),
    closes: report.closes
  }
}

interface Result {
  idle: { perSecond: number; failed: number; bytesPerConnection: number }
  hotLatency: Run
  hotSaturation: Run
  spreadLatency: Run
  spreadSaturation: Run
}

async function measure(server: Server): Promise<Result> {
  const clients = new Clients()
  try {
    // 10,000 idle authenticated connections: connect rate and memory.
    await sleep(500)
    const rssBefore = rssBytes(server.pid)
    const idleConnect = await clients.connect(server, 10_000, 'idle')
    await sleep(1500)
    const bytesPerConnection = (rssBytes(server.pid) - rssBefore) / (10_000 - idleConnect.failed)
    console.error(`  ${server.kind}: 10,000 idle: ${Math.round(idleConnect.perSecond)} connects/s, ${idleConnect.failed} failed, ${Math.round(bytesPerConnection / 1024)} KB each`)
    await clients.disconnect()
    await sleep(1000)

    // One hot channel to 5,000 clients, ~200-byte events.
    await clients.connect(server, 5_000, 'hot')
    const hotLatency = await run(server, clients, 20, 5_000, ['ucf'], 5_000)
    let hotSaturation = hotLatency
    for (const rate of [60, 120]) {
      const r = await run(server, clients, rate, 3_000, ['ucf'], 5_000)
      if (r.perSecond > hotSaturation.perSecond) hotSaturation = r
      if (r.delivered < r.offered * 0.9) break
    }
    await clients.disconnect()
    await sleep(1000)

    // 1,000 channels with 10 subscribers each (2,000 clients on 5 channels).
    await clients.connect(server, 2_000, 'spread')
    const channels = Array.from({ length: SPREAD_CHANNELS }, (_, i) => `agents:c${i}`)
    const spreadLatency = await run(server, clients, 10_000, 3_000, channels, 10)
    let spreadSaturation = spreadLatency
    for (const rate of [20_000]) {
      const r = await run(server, clients, rate, 3_000, channels, 10)
      if (r.perSecond > spreadSaturation.perSecond) spreadSaturation = r
      if (r.delivered < r.offered * 0.9) break
    }
    await clients.disconnect()
    return { idle: { ...idleConnect, bytesPerConnection }, hotLatency, hotSaturation, spreadLatency, spreadSaturation }
  } finally {
    clients.close()
  }
}

function table(helix: Result, sio: Result): string {
  const n = (v: number) => Math.round(v).toLocaleString('en-US')
  const f = (v: number) => v.toFixed(2)
  const lat = (r: Run) => `${f(r.p50)} / ${f(r.p99)} / ${f(r.p999)}`
  const loss = (r: Run) => `${n(r.delivered)} of ${n(r.offered)}${Object.keys(r.closes).length ? ` (closes ${JSON.stringify(r.closes)})` : ''}`
  const rows: [string, string, string, string][] = [
    ['hot channel, 5,000 clients: deliveries/s at saturation', n(helix.hotSaturation.perSecond), n(sio.hotSaturation.perSecond), '>= 200,000 and >= 3x Socket.IO'],
    ['  delivered of offered in that run', loss(helix.hotSaturation), loss(sio.hotSaturation), ''],
    ['hot channel: p50 / p99 / p99.9 ms at 100,000 deliveries/s', lat(helix.hotLatency), lat(sio.hotLatency), 'p99 < 50 ms and <= half of Socket.IO'],
    ['  delivered of offered at 100,000/s', loss(helix.hotLatency), loss(sio.hotLatency), ''],
    ['1,000 channels x 10: deliveries/s at saturation', n(helix.spreadSaturation.perSecond), n(sio.spreadSaturation.perSecond), ''],
    ['  delivered of offered in that run', loss(helix.spreadSaturation), loss(sio.spreadSaturation), ''],
    ['1,000 channels x 10: p50 / p99 / p99.9 ms at 100,000 deliveries/s', lat(helix.spreadLatency), lat(sio.spreadLatency), ''],
    ['10,000 idle connections: KB per connection (server RSS delta)', f(helix.idle.bytesPerConnection / 1024), f(sio.idle.bytesPerConnection / 1024), '< 40 KB'],
    ['10,000 idle connections: authenticated connects/s', n(helix.idle.perSecond), n(sio.idle.perSecond), '>= 2,000'],
    ['  failed connects', n(helix.idle.failed), n(sio.idle.failed), '']
  ]
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i].length), ['metric', 'Helix', 'Socket.IO', 'target'][i].length))
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`
  return [line(['metric', 'Helix', 'Socket.IO', 'target']), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}

/** BENCH_QUICK=1 (bench:observability runs it many times): Helix alone, one saturation run per layout. */
const QUICK = process.env.BENCH_QUICK === '1'

async function measureQuick(server: Server): Promise<{ hot: Run; spread: Run }> {
  const clients = new Clients()
  try {
    await clients.connect(server, 5_000, 'hot')
    const hot = await run(server, clients, 120, 3_000, ['ucf'], 5_000)
    await clients.disconnect()
    await sleep(1000)
    await clients.connect(server, 2_000, 'spread')
    const spread = await run(server, clients, 10_000, 3_000, Array.from({ length: SPREAD_CHANNELS }, (_, i) => `agents:c${i}`), 10)
    await clients.disconnect()
    return { hot, spread }
  } finally {
    clients.close()
  }
}

async function mainQuick(): Promise<void> {
  const server = await startHelix()
  try {
    const { hot, spread } = await measureQuick(server)
    printTable('stream benchmark (BENCH_QUICK: Helix alone, saturation runs only)', ['metric', 'Helix'], [
      ['hot channel, 5,000 clients: deliveries/s at saturation', Math.round(hot.perSecond)],
      ['1,000 channels x 10: deliveries/s at 10,000 events/s', Math.round(spread.perSecond)]
    ])
  } finally {
    await server.stop()
    const redis = new Redis(REDIS_URL)
    const keys = await redis.keys(`${PREFIX}*`)
    if (keys.length > 0) await redis.del(...keys)
    redis.disconnect()
  }
}

async function main(): Promise<void> {
  if (QUICK) return mainQuick()
  const started = Date.now()
  const results: Partial<Record<ServerKind, Result>> = {}
  for (const start of [startHelix, startSocketIo]) {
    const server = await start()
    try {
      console.error(`measuring ${server.kind}...`)
      results[server.kind] = await measure(server)
    } finally {
      await server.stop()
    }
  }
  const redis = new Redis(REDIS_URL)
  const keys = await redis.keys(`${PREFIX}*`)
  if (keys.length > 0) await redis.del(...keys)
  redis.disconnect()
  console.log(`\nstream benchmark: ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}, Node ${process.version}, Redis ${REDIS_URL}, ${WORKERS} client worker processes + 1 publisher process, ${Math.round((Date.now() - started) / 1000)} s\n`)
  console.log(table(results.helix!, results.socketio!))
}

await main()
