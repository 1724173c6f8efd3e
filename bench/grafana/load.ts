// The snapshot's workload over HTTP, WebSocket and the fake Discord: commands at a varying rate with
// a burst, stream clients and published events, signed Zapier webhooks (one refused) and a REST-hook
// target, syntheses and a spoken command, slash commands, a UCF dip and ritual, and the voice plugin
// handed to its dedicated service and back (a flag flip) a third and two thirds of the way through.
import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import WebSocket from 'ws'
import { speak } from '../../test/helpers/audio.js'
import type { FakeDiscord } from '../../test/helpers/fake-discord/index.js'

type Scope = { teardown(fn: () => unknown): void }

export const ZAPIER_SECRET = 'snapshot-zapier-secret-0123456789'
export const ZAPIER_SOURCES = JSON.stringify({ snapshot: { scheme: 'zapier', secrets: [ZAPIER_SECRET] } })

export interface LoadTarget {
  monolithUrl: string
  /** A bearer token holding every scope. */
  token: string
  fake: FakeDiscord
}

/** What the load did, by kind and HTTP status, for the printed table. */
export type LoadCounts = Map<string, number>

const COMMANDS: { agent: string; command: string; args?: Record<string, unknown> }[] = [
  { agent: 'kael', command: 'STATUS' },
  { agent: 'lumina', command: 'REFLECT' },
  { agent: 'vega', command: 'SYNC' },
  { agent: 'gemini', command: 'MEMORY_APPEND', args: { content: 'the snapshot was here' } },
  { agent: 'shadow', command: 'GENERATE', args: { prompt: 'a line about metrics' } },
  { agent: 'claude', command: 'INSIGHT', args: { topic: 'observability' } },
  { agent: 'oracle', command: 'STATUS' },
  { agent: 'manus', command: 'EXECUTE_TASK', args: { plan: [{ command: 'STATUS' }, { agent: 'echo', command: 'SYNC' }] } }
]
const PHRASES = ['the harmony holds', 'all agents report', 'metrics are measured', 'the queue is empty']

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A REST-hook target: answers 503 to its first delivery (so one is retried), then 200. */
async function startReceiver(scope: Scope): Promise<{ url: string; received: () => number }> {
  let received = 0
  const server: Server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      received++
      res.writeHead(received === 1 ? 503 : 200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  scope.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/snapshot`, received: () => received }
}

/** Stream clients subscribed to the busy channels, reading every frame. */
async function openSockets(scope: Scope, target: LoadTarget, count: number): Promise<void> {
  const base = target.monolithUrl.replace(/^http/, 'ws')
  for (let i = 0; i < count; i++) {
    const ws = new WebSocket(`${base}/ws?token=${encodeURIComponent(target.token)}`)
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    ws.send(JSON.stringify({ op: 'subscribe', channels: ['agents', 'ucf', 'commands', 'alerts', 'rituals'] }))
    scope.teardown(() => ws.close())
  }
}

export interface Workload {
  /** Runs the load for `seconds`; resolves with what was sent and how it was answered. */
  run(seconds: number): Promise<LoadCounts>
}

export async function prepareLoad(scope: Scope, target: LoadTarget): Promise<Workload> {
  const counts: LoadCounts = new Map()
  const auth = { authorization: `Bearer ${target.token}` }
  const json = { ...auth, 'content-type': 'application/json' }
  const pending = new Set<Promise<unknown>>()

  /** Sends without waiting (the tick goes on), and counts the answer by kind and status. */
  function send(kind: string, path: string, init: { method?: string; body?: string | Uint8Array<ArrayBuffer>; headers?: Record<string, string> } = {}): void {
    const base = init.body === undefined ? auth : json
    const request = fetch(`${target.monolithUrl}${path}`, { ...init, headers: { ...base, ...init.headers }, signal: AbortSignal.timeout(30_000) })
      .then(async (res) => {
        await res.arrayBuffer()
        return String(res.status)
      }, (err: Error) => err.name)
      .then((status) => counts.set(`${kind} ${status}`, (counts.get(`${kind} ${status}`) ?? 0) + 1))
    pending.add(request)
    void request.finally(() => pending.delete(request))
  }
  const post = (kind: string, path: string, body: string | Uint8Array<ArrayBuffer> | Record<string, unknown>, extra: Record<string, string> = {}) =>
    send(kind, path, { method: 'POST', body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body), headers: extra })

  function command(i: number): void {
    const { agent, command, args } = COMMANDS[i % COMMANDS.length]
    post('command', `/api/agents/${agent}/commands`, { command, ...(args ? { args } : {}) })
  }

  function webhook(i: number, signed = true): void {
    const body = JSON.stringify({ type: 'note', data: { text: `snapshot note ${i}` } })
    const signature = createHmac('sha256', signed ? ZAPIER_SECRET : 'not-the-secret').update(body).digest('hex')
    post(signed ? 'zapier webhook' : 'zapier webhook (bad signature)', '/api/zapier/hooks/snapshot', body, { 'x-zapier-signature': signature })
  }

  // Set up before the clock starts: a REST-hook subscription, stream clients and the spoken command.
  const receiver = await startReceiver(scope)
  const key = await (await fetch(`${target.monolithUrl}/admin/apikeys`, { method: 'POST', headers: json, body: JSON.stringify({ name: 'snapshot' }) })).json() as { key: string }
  for (const event of ['ritual.completed', 'alert.raised', 'ucf.phase_changed']) {
    const res = await fetch(`${target.monolithUrl}/api/zapier/subscriptions`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-api-key': key.key }, body: JSON.stringify({ target_url: receiver.url, event }) })
    if (res.status !== 201) throw new Error(`subscribing to ${event} answered ${res.status}: ${await res.text()}`)
  }
  await openSockets(scope, target, 3)
  const spoken = new Uint8Array(await speak('helix kael status'))

  return {
    async run(seconds) {
      const ticks = seconds * 2
      for (let tick = 0; tick < ticks; tick++) {
        const started = Date.now()
        const second = tick / 2
        // Commands: 2 to 8 a second along a slow wave, and a burst of 40 at a quarter of the run.
        const rate = Math.round(5 + 3 * Math.sin((second / seconds) * 2 * Math.PI * 2))
        for (let i = 0; i < rate / 2; i++) command(tick * 7 + i)
        if (tick === Math.floor(ticks / 4)) for (let i = 0; i < 40; i++) command(i)
        for (let i = 0; i < 5; i++) post('stream publish', '/api/stream/publish', { channel: 'agents', type: 'note.added', data: { tick, i } })
        if (tick % 10 === 0) webhook(tick)
        if (tick % 30 === 15) webhook(tick, false)
        if (tick % 4 === 1) post('voice synthesize', '/api/voice/synthesize', { text: PHRASES[(tick >> 2) % PHRASES.length] })
        if (tick % 24 === 3) post('voice command', '/api/voice/commands', spoken, { 'content-type': 'audio/wav' })
        if (tick % 16 === 5) void target.fake.sendInteraction({ command: 'status' }).response().catch(() => undefined)
        if (tick === Math.floor(ticks * 0.2)) post('ucf adjust', '/api/ucf/adjust', { deltas: { harmony: -0.25 } })
        if (tick === Math.floor(ticks * 0.45)) post('ucf ritual', '/api/ucf/rituals', { name: 'hymn' })
        if (tick === Math.floor(ticks / 3)) send('flag voice dedicated on', '/admin/flags/helix.voice.dedicated', { method: 'PUT', body: JSON.stringify({ enabled: true }) })
        if (tick === Math.floor((ticks * 2) / 3)) send('flag voice dedicated off', '/admin/flags/helix.voice.dedicated', { method: 'DELETE' })
        await sleep(Math.max(0, 500 - (Date.now() - started)))
      }
      await Promise.all(pending)
      counts.set('REST-hook deliveries received', receiver.received())
      return counts
    }
  }
}
