// A load process of the split benchmarks (forked by bench/split/load-process.ts, pinned apart from
// Helix): one kind of traffic at a steady rate, with its latencies, errors and accepted ids, reported
// over IPC. The WebSocket kind follows numbered events the way docs/protocol.md describes a client:
// after a close it re-reads discovery, reconnects and resumes with `since`, so it can tell what it missed.
// An HTTP kind may follow a plugin's owner through discovery the same way (HttpLoadSpec.follow).
import { createHmac, randomUUID } from 'node:crypto'
import hdr from 'hdr-histogram-js'
import { Agent, request } from 'undici'
import WebSocket from 'ws'
import { DISCORD_LABEL, postText, type FromLoad, type HttpLoadSpec, type LabelReport, type LoadReport, type LoadSpec, type SecondReport, type ToLoad, type WsLoadSpec, type WsReport } from './messages.js'

/** Requests outstanding at once; past it a scheduled request is skipped and counted (the server fell behind). */
const MAX_IN_FLIGHT = 512
const TICK_MS = 5
/** Numbered events a run may publish. */
const MAX_EVENTS = 1 << 18
/** One delivery in this many goes into the per-second series (every one goes into the histogram). */
const DELIVERY_SAMPLE = 50
const CATCH_UP_MS = 20_000
/**
 * A request's whole life: the wait for one of the pool's connections, the headers and the body. Past it
 * the request is aborted and counted as failed, so a stop waits at most this long for the answers in
 * flight. (undici's headersTimeout and bodyTimeout start only once a request has a connection: a saturated
 * server left 512 requests queued behind 128 connections, up to 4 x (30 + 30) s, and the stop took minutes.)
 */
const REQUEST_TIMEOUT_MS = 30_000

const send = (message: FromLoad) => process.send!(message)
/** Reads of `/.well-known/helix.json` (WebSocket clients, loads that follow an owner). */
const discovery = new Agent({ connections: 64 })
const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000, numberOfSignificantValueDigits: 3 })

/** Latencies per label: a histogram of the measured window, and per second of the run for the charts. */
class Recorder {
  private window = new Map<string, { histogram: ReturnType<typeof newHistogram>; ok: number; errors: number }>()
  private readonly seconds = new Map<string, { values: number[]; errors: number }>()
  private windowStart = performance.now()
  readonly reasons: Record<string, number> = {}
  readonly accepted: string[] = []
  skipped = 0
  redirected = 0

  record(label: string, ms: number, ok: boolean, sampled = true): void {
    let w = this.window.get(label)
    if (!w) this.window.set(label, (w = { histogram: newHistogram(), ok: 0, errors: 0 }))
    if (ok) {
      w.ok++
      w.histogram.recordValue(Math.max(1, Math.round(ms)))
    } else {
      w.errors++
    }
    if (!sampled) return
    const key = `${Math.floor(Date.now() / 1000)}\u0000${label}`
    let s = this.seconds.get(key)
    if (!s) this.seconds.set(key, (s = { values: [], errors: 0 }))
    if (ok) s.values.push(ms)
    else s.errors++
  }

  error(label: string, reason: string): void {
    const key = `${label} ${reason}`
    this.reasons[key] = (this.reasons[key] ?? 0) + 1
  }

  mark(): void {
    this.window = new Map()
    this.windowStart = performance.now()
    this.skipped = 0
    this.redirected = 0
    this.accepted.length = 0
    for (const key of Object.keys(this.reasons)) delete this.reasons[key]
  }

  report(kind: LoadSpec['kind'], ws?: WsReport): LoadReport {
    const labels: LabelReport[] = [...this.window].map(([label, w]) => ({
      label, ok: w.ok, errors: w.errors,
      p50: w.histogram.getValueAtPercentile(50), p99: w.histogram.getValueAtPercentile(99), max: w.histogram.maxValue
    }))
    const series: SecondReport[] = [...this.seconds].map(([key, s]) => {
      const [second, label] = key.split('\u0000')
      const sorted = s.values.sort((a, b) => a - b)
      const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)] : 0
      return { second: Number(second), label, p99, count: sorted.length, errors: s.errors }
    })
    return { kind, seconds: (performance.now() - this.windowStart) / 1000, labels, series, reasons: { ...this.reasons }, accepted: [...this.accepted], skipped: this.skipped, redirected: this.redirected, ...(ws ? { ws } : {}) }
  }
}

interface Call { label: string; method: 'GET' | 'POST'; path: string; headers?: Record<string, string>; body?: string; accept?: (status: number, body: Buffer) => string | null }

/** The request number `n` of a kind: what a dashboard, a Zap, a TTS caller or an API client sends. */
function callsOf(spec: HttpLoadSpec): (n: number) => Call {
  const json = { 'content-type': 'application/json' }
  switch (spec.kind) {
    case 'api':
      return (n) => n % 2 === 0
        ? { label: 'GET /api/agents', method: 'GET', path: '/api/agents' }
        : {
            label: 'POST /api/agents/:id/commands', method: 'POST', path: `/api/agents/${spec.agentId}/commands`, headers: json,
            body: JSON.stringify({ command: 'STATUS' }),
            accept: (status, body) => (status === 202 ? (JSON.parse(body.toString()) as { id: string }).id : null)
          }
    case 'dashboard': {
      const reads = ['/api/agents/status', '/api/ucf', '/admin/flags']
      return (n) => ({ label: `GET ${reads[n % reads.length]}`, method: 'GET', path: reads[n % reads.length] })
    }
    case 'zapier': {
      const webhook = signedWebhook(spec)
      return (n) => ({
        ...webhook({ type: 'bench', data: { n, text: 'x'.repeat(900) } }),
        label: 'POST /api/zapier/hooks/:source',
        accept: (status, res) => (status === 202 ? (JSON.parse(res.toString()) as { eventId: string }).eventId : null)
      })
    }
    case 'discord': {
      const webhook = signedWebhook(spec)
      // Accepted: the post's number, looked for in the Discord channel afterwards.
      return (n) => ({
        ...webhook({ type: 'discord_notification', data: { message: postText(n, spec.runId!), channelId: spec.channelId } }),
        label: DISCORD_LABEL,
        accept: (status) => (status === 202 ? String(n) : null)
      })
    }
    case 'voice':
      // A new sentence each time: a synthesis, not a cache hit.
      return (n) => ({ label: 'POST /api/voice/synthesize', method: 'POST', path: '/api/voice/synthesize', headers: json, body: JSON.stringify({ text: `Split bench sentence number ${n} ${randomUUID().slice(0, 8)}` }) })
  }
}

/** A webhook as a Zap sends it: Standard Webhooks headers signed with the source's key over id, timestamp and body. */
function signedWebhook(spec: HttpLoadSpec): (payload: unknown) => Omit<Call, 'label'> {
  const key = Buffer.from(spec.webhookKey!, 'base64')
  return (payload) => {
    const id = `msg_${randomUUID()}`
    const ts = Math.floor(Date.now() / 1000)
    const body = JSON.stringify(payload)
    const signature = createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')
    return {
      method: 'POST', path: '/api/zapier/hooks/bench', body,
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${signature}` }
    }
  }
}

/** The reason a request failed without an answer: its deadline, or what undici said. */
const failure = (err: unknown) => ((err as Error).name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : (err as Error).message)

/** Sends `rate` requests per second on a fixed schedule, not waiting for answers (an open loop). */
function steady(rate: number, fire: (n: number) => Promise<void>): { stop(): Promise<void> } {
  const started = performance.now()
  const inFlight = new Set<Promise<void>>()
  let sent = 0
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - started) / 1000) * rate)
    while (sent < due) {
      const n = sent++
      if (inFlight.size >= MAX_IN_FLIGHT) {
        recorder.skipped++
        continue
      }
      const p = fire(n).finally(() => inFlight.delete(p))
      inFlight.add(p)
    }
  }, TICK_MS)
  return {
    async stop() {
      clearInterval(timer)
      await Promise.all([...inFlight])
    }
  }
}

/** How often a load that follows discovery re-reads it: a client's cache of the owner's URL. */
const DISCOVERY_REFRESH_MS = 5000

interface Target {
  url(): string
  /** A former owner named the new one. */
  moved(owner: string): void
  stop(): void
}

/** Where a load's requests go: `spec.url`, or (spec.follow) the owner discovery names now. */
function target(spec: HttpLoadSpec): Target {
  let url = spec.url
  const follow = spec.follow
  if (!follow) return { url: () => url, moved: () => undefined, stop: () => undefined }
  const read = async () => {
    try {
      const res = await request(`${follow.discoveryUrl}/.well-known/helix.json`, { dispatcher: discovery, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      const body = (await res.body.json()) as { plugins: Record<string, { url?: string | null } | undefined> }
      url = body.plugins[follow.plugin]?.url ?? follow.discoveryUrl
    } catch {
      // The last known owner stays the target until the next read.
    }
  }
  const timer = setInterval(() => void read(), DISCOVERY_REFRESH_MS)
  return { url: () => url, moved: (owner) => (url = owner), stop: () => clearInterval(timer) }
}

/** The owner a `503 not_owner` answer names, or null for any other answer. */
function namedOwner(status: number, body: Buffer): string | null {
  if (status !== 503) return null
  try {
    const answer = JSON.parse(body.toString()) as { error?: string; owner?: string | null }
    return answer.error === 'not_owner' && typeof answer.owner === 'string' ? answer.owner : null
  } catch {
    return null
  }
}

function httpLoad(spec: HttpLoadSpec): { stop(): Promise<void> } {
  const dispatcher = new Agent({ connections: 128, keepAliveTimeout: 30_000 })
  const auth = { authorization: `Bearer ${spec.token}` }
  const call = callsOf(spec)
  const to = target(spec)
  const load = steady(spec.rate, async (n) => {
    const c = call(n)
    const t0 = performance.now()
    // One deadline for the request and its resend.
    const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)
    const send = async (base: string) => {
      const res = await request(`${base}${c.path}`, { method: c.method, dispatcher, headers: { ...auth, ...c.headers }, body: c.body, signal })
      return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) }
    }
    try {
      let res = await send(to.url())
      // A former owner mid-flip refused before doing anything: a client following discovery goes to the owner it names.
      const owner = spec.follow ? namedOwner(res.status, res.body) : null
      if (owner) {
        recorder.redirected++
        to.moved(owner)
        res = await send(owner)
      }
      const ok = res.status >= 200 && res.status < 300
      recorder.record(c.label, performance.now() - t0, ok)
      if (!ok) recorder.error(c.label, `${res.status} ${res.body.toString().slice(0, 80)}`)
      const id = ok && c.accept ? c.accept(res.status, res.body) : null
      if (id) recorder.accepted.push(id)
    } catch (err) {
      recorder.record(c.label, performance.now() - t0, false)
      recorder.error(c.label, failure(err))
    }
  })
  return { stop: async () => { to.stop(); await load.stop(); await dispatcher.close() } }
}

const bit = (set: Uint32Array, n: number) => (set[n >>> 5] & (1 << (n & 31))) !== 0
const setBit = (set: Uint32Array, n: number) => void (set[n >>> 5] |= 1 << (n & 31))

/** One subscriber: its received events as a bitset, its last position to resume from. */
class Subscriber {
  readonly received = new Uint32Array(MAX_EVENTS / 32)
  last = -1
  connected = false
  private position: { id: string; epoch: string } | null = null
  private ws: WebSocket | null = null
  private stopping = false

  constructor(private readonly index: number, private readonly spec: WsLoadSpec, private readonly counters: WsReport) {}

  private async target(): Promise<string> {
    if (this.spec.connect !== 'discover') return this.spec.connect[this.index % this.spec.connect.length]
    const res = await request(`${this.spec.url}/.well-known/helix.json`, { dispatcher: discovery })
    const body = (await res.body.json()) as { plugins: { stream: { ws: string | null } } }
    return body.plugins.stream.ws ?? `${this.spec.url.replace(/^http/, 'ws')}/ws`
  }

  async connect(): Promise<void> {
    if (this.stopping) return
    let url: string
    try {
      url = await this.target()
    } catch {
      setTimeout(() => void this.connect(), 200)
      return
    }
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${this.spec.token}` }, perMessageDeflate: false })
    this.ws = ws
    let sentSince = false
    ws.on('message', (raw: Buffer) => {
      const frame = JSON.parse(raw.toString()) as { op: string; id?: string; epoch?: string; offset?: string; recovered?: boolean; data?: { n: number; t: number } }
      if (frame.op === 'event') {
        const n = frame.data!.n
        setBit(this.received, n)
        if (n > this.last) this.last = n
        this.position = { id: frame.id!, epoch: frame.epoch! }
        this.counters.deliveries++
        recorder.record('delivery (publish to receive)', Date.now() - frame.data!.t, true, this.counters.deliveries % DELIVERY_SAMPLE === 0)
      } else if (frame.op === 'welcome') {
        sentSince = this.position !== null
        ws.send(JSON.stringify({ op: 'subscribe', channels: [this.spec.channel], ...(this.position ? { since: { [this.spec.channel]: this.position } } : {}) }))
      } else if (frame.op === 'subscribed') {
        if (sentSince && !frame.recovered) this.counters.notRecovered++
        // With recovered: true the missed events follow, and the position moves with them.
        if (!frame.recovered) this.position = { id: frame.offset!, epoch: frame.epoch! }
        this.connected = true
      }
    })
    ws.on('unexpected-response', (_req, res) => {
      this.counters.refused++
      res.resume()
      ws.removeAllListeners()
      ws.on('error', () => {})
      ws.terminate()
      setTimeout(() => void this.connect(), 100)
    })
    ws.on('error', () => {})
    ws.on('close', (code) => {
      if (this.stopping) return
      if (code === 1012) this.counters.reconnects++
      else this.counters.otherCloses++
      setImmediate(() => void this.connect())
    })
  }

  stop(): void {
    this.stopping = true
    this.ws?.terminate()
  }
}

function wsLoad(spec: WsLoadSpec): { ready: Promise<void>; stop(): Promise<void>; counters: WsReport } {
  const counters: WsReport = { connected: 0, published: 0, deliveries: 0, missed: 0, reconnects: 0, refused: 0, otherCloses: 0, notRecovered: 0 }
  const subscribers = Array.from({ length: spec.clients }, (_, i) => new Subscriber(i, spec, counters))
  const published = new Uint32Array(MAX_EVENTS / 32)
  let publishedMax = -1
  let load: { stop(): Promise<void> } | null = null
  const dispatcher = new Agent({ connections: 32 })
  const ready = (async () => {
    // Connect in batches: the connect rate of a real crowd, not one burst of thousands of handshakes.
    for (let i = 0; i < subscribers.length; i += 100) {
      subscribers.slice(i, i + 100).forEach((s) => void s.connect())
      while (subscribers.slice(0, i + 100).some((s) => !s.connected)) await new Promise((resolve) => setTimeout(resolve, 20))
    }
    counters.connected = subscribers.length
    load = steady(spec.rate, async (n) => {
      if (n >= MAX_EVENTS) return
      const t0 = performance.now()
      try {
        const res = await request(`${spec.url}/api/stream/publish`, {
          method: 'POST', dispatcher,
          headers: { authorization: `Bearer ${spec.token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ channel: spec.channel, type: 'bench.tick', data: { n, t: Date.now() } }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS)
        })
        const text = await res.body.text()
        const ok = res.statusCode === 200
        recorder.record('POST /api/stream/publish', performance.now() - t0, ok)
        if (!ok) return recorder.error('POST /api/stream/publish', `${res.statusCode} ${text.slice(0, 80)}`)
        setBit(published, n)
        counters.published++
        if (n > publishedMax) publishedMax = n
      } catch (err) {
        recorder.record('POST /api/stream/publish', performance.now() - t0, false)
        recorder.error('POST /api/stream/publish', failure(err))
      }
    })
  })()
  return {
    ready,
    counters,
    async stop() {
      await ready
      await load?.stop()
      const deadline = Date.now() + CATCH_UP_MS
      while (Date.now() < deadline && subscribers.some((s) => s.last < publishedMax)) await new Promise((resolve) => setTimeout(resolve, 50))
      for (const s of subscribers) {
        for (let n = 0; n <= publishedMax; n++) if (bit(published, n) && !bit(s.received, n)) counters.missed++
        s.stop()
      }
      await dispatcher.close()
    }
  }
}

const recorder = new Recorder()
let running: { stop(): Promise<void>; counters?: WsReport } | null = null
let kind: LoadSpec['kind'] = 'api'
/** The ws counters that belong to the measured window: those at the mark are subtracted. */
let wsAtMark: WsReport | null = null

function wsWindow(): WsReport | undefined {
  const now = running?.counters
  if (!now) return undefined
  const base = wsAtMark
  if (!base) return { ...now }
  return { ...now, published: now.published - base.published, deliveries: now.deliveries - base.deliveries, reconnects: now.reconnects - base.reconnects, refused: now.refused - base.refused, otherCloses: now.otherCloses - base.otherCloses, notRecovered: now.notRecovered - base.notRecovered }
}

process.on('message', async (message: ToLoad) => {
  if (message.op === 'start') {
    kind = message.spec.kind
    if (message.spec.kind === 'ws') {
      const ws = wsLoad(message.spec)
      running = ws
      await ws.ready
    } else {
      running = httpLoad(message.spec)
    }
    send({ op: 'started' })
  } else if (message.op === 'mark') {
    recorder.mark()
    wsAtMark = running?.counters ? { ...running.counters } : null
  } else if (message.op === 'report') {
    send({ op: 'report', report: recorder.report(kind, wsWindow()) })
  } else if (message.op === 'stop') {
    await running?.stop()
    // Disconnect once the report is written: the final report (every accepted id, 240 KB at 100 webhooks/s
    // for 60 s) outgrows the pipe's buffer, and a disconnect on the next tick cancelled the rest of its write,
    // so the orchestrating process never got it whenever it was slow to read.
    process.send!({ op: 'report', report: recorder.report(kind, wsWindow()) } satisfies FromLoad, () => process.disconnect())
  }
})
