// `npm run bench:flip`: flips of ownership under load, through the real Unleash server (unleash-server,
// installed into the test cache on first use) and through the override channel. Two real processes
// on one Redis: the monolith and a dedicated `voice,stream` service, each running the echo test plugin
// (as `voice`) and the real stream plugin; both ownership flags flip together. 200 HTTP clients
// (GETs, and POSTs with bodies) go through the monolith and WebSocket subscribers follow numbered
// events on /ws, reconnecting with `since` when closed with 1012 (docs/protocol.md). Reported per flip
// kind and direction: failed requests, when the new owner served, events missed. Also the gate's own
// cost per request. This file is also the two processes' entry point (HELIX_FLIP_BENCH_SERVER=1).
import { createHmac, randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import hdr from 'hdr-histogram-js'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import { Agent, request } from 'undici'
import WebSocket from 'ws'
import { loadConfig } from '../config/index.js'
import { MemoryBus } from '../core/bus/memory-bus.js'
import { RedisBus } from '../core/bus/redis-bus.js'
import { createProxyAgent, OwnershipGate, ownershipHook } from '../core/ownership/index.js'
import { ownershipMetrics } from '../core/ownership/metrics.js'
import { createRedisFactory } from '../core/redis.js'
import { start } from '../core/server.js'
import { BootstrapFlagSource } from '../flags/bootstrap-source.js'
import { LayeredFlagSource } from '../flags/layered-source.js'
import { OverrideStore } from '../flags/override-store.js'
import { streamPlugin } from '../plugins/stream/index.js'
import { echoPlugin } from '../test/fixtures/echo-plugin.js'
import { TEST_SECRET } from '../test/helpers/build.js'
import { freePort } from '../test/helpers/net.js'
import { startHelix } from '../test/helpers/process.js'
import { unleashServer, UNLEASH_VERSION, type RealUnleash } from '../test/helpers/unleash-server.js'
import { printTable } from './table.js'

const SERVER_ENV = 'HELIX_FLIP_BENCH_SERVER'
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const CLIENTS = 200
/** Every fourth client POSTs a body: a request the monolith cannot simply serve itself. */
const POST_EVERY = 4
const SUBSCRIBERS = 50
/** Flips per kind, alternating: to the dedicated service, back to the monolith. */
const FLIPS = 10
const REFRESH_MS = 1000
const PUBLISH_EVERY_MS = 20
/** After the new owner served, the flip's window stays open this long with no answer from the old owner. */
const QUIET_MS = 1000
const FLIP_TIMEOUT_MS = 30_000
const CHANNEL = 'ucf:flipbench'
const MAX_EVENTS = 1_000_000
const GATE_LOOPS = 5_000_000
const FLAGS = ['helix.voice.dedicated', 'helix.stream.dedicated'] as const

type Kind = 'override' | 'unleash'
type Direction = 'to dedicated' | 'to monolith'

const teardowns: (() => unknown)[] = []
const harness = { teardown: (fn: () => unknown) => void teardowns.push(fn) }

function adminToken(): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'bench', scope: 'admin', iat: now, exp: now + 3600 })}`
  return `${body}.${createHmac('sha256', TEST_SECRET).update(body).digest('base64url')}`
}

interface FlipWindow {
  kind: Kind
  direction: Direction
  at: number
  /** When the first request made after the flip was answered by the new owner (ms after the flip). */
  firstNew: number | null
  /** When the old owner last answered a request (absolute), and when that request started (ms after the flip). */
  lastOldAt: number
  lastOldStart: number
  failed: number
  served: number
  ws: WsCounters
  published: number
  missed: number
  /** WebSockets the old owner still held once the flip had landed (it should have closed them all). */
  leftOnOldOwner: number
}

interface Sample { startedAt: number; endedAt: number; dedicated: boolean | null; ok: boolean; reason: string }

/** Each client requests back to back through the monolith until stop(). */
function runClients(url: string, dispatcher: Agent, record: (s: Sample) => void) {
  let running = true
  const once = async (client: number, n: number): Promise<Sample> => {
    const startedAt = performance.now()
    const post = client % POST_EVERY === 0
    try {
      const text = `client ${client} request ${n}`
      const res = post
        ? await request(`${url}/api/voice/echo`, { method: 'POST', dispatcher, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text }) })
        : await request(`${url}/api/voice/whoami`, { dispatcher })
      const body = (await res.body.json()) as { role?: string; text?: string; error?: string; message?: string }
      const ok = res.statusCode === 200 && (!post || body.text === text)
      const reason = `${post ? 'POST' : 'GET'} ${res.statusCode} ${body.error ?? ''}${body.message ? `: ${body.message}` : ''}`
      return { startedAt, endedAt: performance.now(), dedicated: body.role ? body.role !== 'all' : null, ok, reason }
    } catch (err) {
      return { startedAt, endedAt: performance.now(), dedicated: null, ok: false, reason: `${post ? 'POST' : 'GET'} ${(err as Error).message}` }
    }
  }
  const loops = Array.from({ length: CLIENTS }, async (_, client) => {
    for (let n = 0; running; n++) record(await once(client, n))
  })
  return async () => {
    running = false
    await Promise.all(loops)
  }
}

interface WsCounters { reconnects: number; refused: number; otherCloses: number; notRecovered: number }
const wsCounters = (): WsCounters => ({ reconnects: 0, refused: 0, otherCloses: 0, notRecovered: 0 })

/**
 * A /ws client as docs/protocol.md describes one: keeps the position of the last event, and after a
 * close reconnects and subscribes with `since`, so a recovered subscription misses nothing.
 */
class Subscriber {
  readonly received = new Uint8Array(MAX_EVENTS)
  private position: { id: string; epoch: string } | null = null
  private ws: WebSocket | null = null
  private stopping = false
  subscribed = false
  last = -1

  constructor(private readonly url: string, private readonly token: string, private readonly counters: () => WsCounters) {}

  connect(): void {
    if (this.stopping) return
    const ws = new WebSocket(`${this.url}/ws`, { headers: { authorization: `Bearer ${this.token}` } })
    this.ws = ws
    let sentSince = false
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { op: string; id?: string; epoch?: string; offset?: string; recovered?: boolean; data?: { n: number } }
      if (frame.op === 'welcome') {
        sentSince = this.position !== null
        ws.send(JSON.stringify({ op: 'subscribe', channels: [CHANNEL], ...(this.position ? { since: { [CHANNEL]: this.position } } : {}) }))
      } else if (frame.op === 'subscribed') {
        this.subscribed = true
        if (sentSince && !frame.recovered) this.counters().notRecovered++
        // With recovered: true the missed events follow; the position moves with them.
        if (!frame.recovered) this.position = { id: frame.offset!, epoch: frame.epoch! }
      } else if (frame.op === 'event') {
        const n = frame.data!.n
        this.received[n] = 1
        if (n > this.last) this.last = n
        this.position = { id: frame.id!, epoch: frame.epoch! }
      }
    })
    ws.on('unexpected-response', (_req, res) => {
      this.counters().refused++
      res.resume()
      ws.removeAllListeners()
      ws.on('error', () => {})
      ws.terminate()
      setTimeout(() => this.connect(), 100)
    })
    ws.on('error', () => {})
    ws.on('close', (code) => {
      if (this.stopping) return
      if (code === 1012) this.counters().reconnects++
      else this.counters().otherCloses++
      setImmediate(() => this.connect())
    })
  }

  stop(): void {
    this.stopping = true
    this.ws?.terminate()
  }
}

async function gateCost(): Promise<{ owns: number; hook: number }> {
  const config = loadConfig({ NODE_ENV: 'test', HELIX_JWT_SECRET: TEST_SECRET })
  const log = pino({ level: 'silent' })
  const bus = new MemoryBus({ historyLen: 10, source: 'bench', log })
  const flags = new LayeredFlagSource(new BootstrapFlagSource({ features: [] }, {}), null, new OverrideStore(bus, null, 'bench:', log))
  const gate = new OwnershipGate(config, flags)
  const agent = createProxyAgent()
  const app = Fastify()
  const hook = ownershipHook(echoPlugin, { gate, config, agent, app, metrics: ownershipMetrics(new Registry()) }) as unknown as (req: unknown, reply: unknown, done: () => void) => void
  const req = { headers: {} }
  let owned = 0
  const done = () => void owned++
  let t0 = performance.now()
  for (let i = 0; i < GATE_LOOPS; i++) if (gate.owns(echoPlugin)) owned++
  const owns = ((performance.now() - t0) * 1e6) / GATE_LOOPS
  t0 = performance.now()
  for (let i = 0; i < GATE_LOOPS; i++) hook(req, null, done)
  const hookNs = ((performance.now() - t0) * 1e6) / GATE_LOOPS
  if (owned !== GATE_LOOPS * 2) throw new Error('the gate refused its own plugin')
  await Promise.all([flags.close(), bus.close(), agent.close(), app.close()])
  return { owns, hook: hookNs }
}

async function waitUntil(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + FLIP_TIMEOUT_MS
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`bench:flip: timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** Open WebSockets of one process, from its /metrics (ungated, unlike the stream's own stats). */
async function openSockets(url: string): Promise<number> {
  const res = await request(`${url}/metrics`)
  const text = await res.body.text()
  const gauge = /^helix_stream_connections(?:\{[^}]*\})? (\d+)$/m.exec(text)
  if (!gauge) throw new Error(`bench:flip: no helix_stream_connections in ${url}/metrics`)
  return Number(gauge[1])
}

async function flipBy(kind: Kind, dedicated: boolean, monoUrl: string, unleash: RealUnleash, admin: Record<string, string>): Promise<void> {
  await Promise.all(FLAGS.map(async (name) => {
    if (kind === 'unleash') return unleash.set(name, dedicated)
    const res = await request(`${monoUrl}/admin/flags/${name}`, { method: 'PUT', headers: admin, body: JSON.stringify({ enabled: dedicated }) })
    const text = await res.body.text()
    if (res.statusCode !== 200) throw new Error(`override flip of ${name} answered ${res.statusCode}: ${text}`)
  }))
}

async function runBench(): Promise<void> {
  const unleash = await unleashServer(harness, { initial: { 'helix.voice.dedicated': false, 'helix.stream.dedicated': false } })
  const [monoPort, dedicatedPort] = [await freePort(), await freePort()]
  const monoUrl = `http://127.0.0.1:${monoPort}`
  const dedicatedUrl = `http://127.0.0.1:${dedicatedPort}`
  const prefix = `bench:flip:${randomBytes(4).toString('hex')}:`
  const env = {
    [SERVER_ENV]: '1',
    REDIS_URL,
    HELIX_REDIS_PREFIX: prefix,
    UNLEASH_URL: unleash.url,
    UNLEASH_API_TOKEN: unleash.clientToken,
    UNLEASH_REFRESH_MS: String(REFRESH_MS),
    LOG_LEVEL: 'warn',
    // Every subscriber reconnects at once after a flip, all from 127.0.0.1.
    HELIX_WS_CONNECT_RATE: '100000',
    HELIX_PUBLIC_URLS: `all=${monoUrl},voice=${dedicatedUrl},stream=${dedicatedUrl}`
  }
  const entry = 'bench/flip.ts'
  await Promise.all([
    startHelix(harness, { entry, env: { ...env, PORT: String(monoPort), HELIX_ROLE: 'all', HELIX_SERVICE_URLS: `voice=${dedicatedUrl},stream=${dedicatedUrl}` } }),
    startHelix(harness, { entry, env: { ...env, PORT: String(dedicatedPort), HELIX_ROLE: 'voice,stream' } })
  ])
  const token = adminToken()
  const admin = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }

  const log = pino({ level: 'silent' })
  const bus = new RedisBus({ redis: createRedisFactory(REDIS_URL, log), prefix, historyLen: 1000, source: 'bench', log })
  teardowns.push(() => bus.close())
  await bus.connected()

  const windows: FlipWindow[] = []
  let window: FlipWindow | null = null
  const warmUp = { ws: wsCounters(), published: 0, missed: 0, leftOnOldOwner: 0 }
  const subscribers = Array.from({ length: SUBSCRIBERS }, () => new Subscriber(monoUrl.replace(/^http/, 'ws'), token, () => (window ?? warmUp).ws))
  for (const s of subscribers) s.connect()
  teardowns.push(() => subscribers.forEach((s) => s.stop()))

  // Numbered events, published beside Helix (not through the flipping plugin), and the flip each fell
  // in; from the moment every subscriber is subscribed, so each one should get every event.
  await waitUntil(() => subscribers.every((s) => s.subscribed), 'every subscriber to subscribe')
  const publishedIn: (FlipWindow | typeof warmUp)[] = []
  let published = 0
  let publishing = true
  const publisher = (async () => {
    while (publishing && published < MAX_EVENTS) {
      const during = window ?? warmUp
      publishedIn.push(during)
      during.published++
      await bus.publish(CHANNEL, 'bench.tick', { n: published })
      published++
      await new Promise((resolve) => setTimeout(resolve, PUBLISH_EVERY_MS))
    }
  })()

  const dispatcher = new Agent({ connections: CLIENTS })
  teardowns.push(() => dispatcher.close())
  const reasons = new Map<string, number>()
  const stopClients = runClients(monoUrl, dispatcher, (s) => {
    if (!s.ok) {
      const key = `${window ? `${window.kind} ${window.direction}` : 'no flip'}: ${s.reason}`
      reasons.set(key, (reasons.get(key) ?? 0) + 1)
    }
    if (!window) return
    if (!s.ok) window.failed++
    else window.served++
    const toDedicated = window.direction === 'to dedicated'
    if (s.ok && s.dedicated === toDedicated && s.startedAt >= window.at && window.firstNew === null) window.firstNew = s.endedAt - window.at
    if (s.ok && s.dedicated === !toDedicated && s.endedAt > window.lastOldAt) {
      window.lastOldAt = s.endedAt
      window.lastOldStart = Math.max(0, s.startedAt - window.at)
    }
  })
  await waitUntil(() => subscribers.every((s) => s.last >= 0), 'every subscriber to get events')
  await new Promise((resolve) => setTimeout(resolve, 1000))

  for (const k of ['override', 'unleash'] as const) {
    for (let i = 0; i < FLIPS; i++) {
      const dedicated = i % 2 === 0
      const flip: FlipWindow = { kind: k, direction: dedicated ? 'to dedicated' : 'to monolith', at: performance.now(), firstNew: null, lastOldAt: 0, lastOldStart: 0, failed: 0, served: 0, ws: wsCounters(), published: 0, missed: 0, leftOnOldOwner: 0 }
      window = flip
      windows.push(flip)
      await flipBy(k, dedicated, monoUrl, unleash, admin)
      await waitUntil(() => flip.firstNew !== null && performance.now() - Math.max(flip.lastOldAt, flip.at) >= QUIET_MS, `the ${k} flip ${flip.direction} to land`)
      flip.leftOnOldOwner = await openSockets(dedicated ? monoUrl : dedicatedUrl)
    }
    if (k === 'override') {
      // Back to what Unleash says (the monolith), as an operator would end an override.
      for (const name of FLAGS) await (await request(`${monoUrl}/admin/flags/${name}`, { method: 'DELETE', headers: { authorization: admin.authorization } })).body.dump()
    }
  }
  window = null
  await stopClients()
  publishing = false
  await publisher
  await waitUntil(() => subscribers.every((s) => s.last >= published - 1), 'every subscriber to catch up with the last event')
  for (const s of subscribers) s.stop()

  for (const s of subscribers) {
    for (let n = 0; n < published; n++) if (!s.received[n]) publishedIn[n].missed++
  }
  const cost = await gateCost()

  const rows: (string | number)[][] = []
  for (const k of ['override', 'unleash'] as const) {
    for (const direction of ['to dedicated', 'to monolith'] as const) {
      const these = windows.filter((w) => w.kind === k && w.direction === direction)
      const firstNew = hdr.build()
      const lastOld = hdr.build()
      for (const w of these) {
        firstNew.recordValue(Math.max(1, Math.round(w.firstNew ?? 0)))
        lastOld.recordValue(Math.max(1, Math.round(w.lastOldAt > 0 ? w.lastOldStart : 0)))
      }
      rows.push([k, direction, these.length, these.reduce((a, w) => a + w.served + w.failed, 0), these.reduce((a, w) => a + w.failed, 0),
        firstNew.getValueAtPercentile(50), firstNew.maxValue, lastOld.getValueAtPercentile(50), lastOld.maxValue,
        k === 'override' ? '< 1000 ms, 0 failed' : `< ${2 * REFRESH_MS + 1000} ms, 0 failed`])
    }
  }
  printTable(`bench:flip — ${CLIENTS} HTTP clients (1 in ${POST_EVERY} POSTs a body) through the monolith; unleash-server ${UNLEASH_VERSION}, client refresh ${REFRESH_MS} ms`,
    ['flip by', 'direction', 'flips', 'requests', 'failed', 'new owner serves p50 (ms)', 'max (ms)', 'old owner last request p50 (ms)', 'max (ms)', 'target'], rows)
  const sum = (these: (FlipWindow | typeof warmUp)[], pick: (w: FlipWindow | typeof warmUp) => number) => these.reduce((a, w) => a + pick(w), 0)
  const wsRow = (label: string, these: (FlipWindow | typeof warmUp)[]) => [label, sum(these, (w) => w.published), sum(these, (w) => w.missed),
    sum(these, (w) => w.ws.reconnects), sum(these, (w) => ('leftOnOldOwner' in w ? w.leftOnOldOwner : 0)), sum(these, (w) => w.ws.notRecovered), sum(these, (w) => w.ws.refused), sum(these, (w) => w.ws.otherCloses), '0 missed']
  printTable(`bench:flip — ${SUBSCRIBERS} WebSocket subscribers on /ws through the monolith, one event every ${PUBLISH_EVERY_MS} ms (a flip that moves streaming closes each socket once: ${SUBSCRIBERS} 1012 per flip)`,
    ['flip by', 'events published', 'events missed (all subscribers)', '1012 reconnects', 'left on old owner', 'since not recovered', 'upgrades refused', 'other closes', 'target'],
    [wsRow('no flip (before, after)', [warmUp]), ...(['override', 'unleash'] as const).flatMap((k) => (['to dedicated', 'to monolith'] as const).map((direction) =>
      wsRow(`${k} ${direction}`, windows.filter((w) => w.kind === k && w.direction === direction))))])
  if (reasons.size > 0) printTable('bench:flip — why requests failed', ['answer', 'count'], [...reasons])
  printTable('bench:flip — cost of the gate per request (owned plugin, the hot path)',
    ['measure', 'ns per call', 'target'],
    [['gate.owns(descriptor)', cost.owns.toFixed(1), '< 2000 ns'], ['onRequest hook (owns + done)', cost.hook.toFixed(1), '< 2000 ns']])
}

if (process.env[SERVER_ENV]) {
  await start([streamPlugin, echoPlugin])
} else {
  try {
    await runBench()
  } finally {
    for (const fn of teardowns.reverse()) await fn()
  }
  process.exit(0)
}
