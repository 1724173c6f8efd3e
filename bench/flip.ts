// `npm run bench:flip`: two real processes (monolith and dedicated `voice`, the echo test plugin) on
// one Redis and a fake Unleash; 200 clients request through the monolith while ownership flips 10
// times by override and 10 times through Unleash. Also the gate's own cost per request.
import { createHmac, randomBytes } from 'node:crypto'
import hdr from 'hdr-histogram-js'
import { Agent, request } from 'undici'
import { pino } from 'pino'
import { loadConfig } from '../config/index.js'
import { MemoryBus } from '../core/bus/memory-bus.js'
import { createProxyAgent, OwnershipGate, ownershipHook } from '../core/ownership/index.js'
import { BootstrapFlagSource } from '../flags/bootstrap-source.js'
import { LayeredFlagSource } from '../flags/layered-source.js'
import { OverrideStore } from '../flags/override-store.js'
import { echoPlugin } from '../test/fixtures/echo-plugin.js'
import { TEST_SECRET } from '../test/helpers/build.js'
import { fakeUnleash } from '../test/helpers/fake-unleash.js'
import { freePort } from '../test/helpers/net.js'
import { startHelix } from '../test/helpers/process.js'
import { printTable } from './table.js'

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const CLIENTS = 200
const FLIPS = 10
const REFRESH_MS = 1000
/** How long each flip is given before the next: override flips must settle in 1 s, Unleash flips in 2 refreshes. */
const SETTLE_MS = { override: 1500, unleash: 2 * REFRESH_MS + 1000 }
const GATE_LOOPS = 5_000_000

const teardowns: (() => unknown)[] = []
const harness = { teardown: (fn: () => unknown) => void teardowns.push(fn) }

function adminToken(): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  const now = Math.floor(Date.now() / 1000)
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'bench', scope: 'admin', iat: now, exp: now + 3600 })}`
  return `${body}.${createHmac('sha256', TEST_SECRET).update(body).digest('base64url')}`
}

interface Sample { startedAt: number; role: string | null; ok: boolean; reason?: string }

/** Each client requests back to back; samples are kept only inside the flip windows (bounded). */
function runClients(url: string, dispatcher: Agent, record: (s: Sample) => void) {
  let running = true
  let total = 0
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (running) {
      const startedAt = performance.now()
      try {
        const res = await request(`${url}/api/voice/whoami`, { dispatcher })
        const body = (await res.body.json()) as { role?: string; error?: string; message?: string }
        record({ startedAt, role: body.role ?? null, ok: res.statusCode === 200, reason: `${res.statusCode} ${body.error ?? ''}: ${body.message ?? ''}` })
      } catch (err) {
        record({ startedAt, role: null, ok: false, reason: (err as Error).message })
      }
      total++
    }
  })
  return { total: () => total, stop: async () => { running = false; await Promise.all(loops) } }
}

async function gateCost(): Promise<{ owns: number; hook: number }> {
  const config = loadConfig({ NODE_ENV: 'test', HELIX_JWT_SECRET: TEST_SECRET })
  const log = pino({ level: 'silent' })
  const bus = new MemoryBus({ historyLen: 10, source: 'bench', log })
  const flags = new LayeredFlagSource(new BootstrapFlagSource({ features: [] }, {}), null, new OverrideStore(bus, null, 'bench:', log))
  const gate = new OwnershipGate(config, flags)
  const agent = createProxyAgent()
  const hook = ownershipHook(echoPlugin, { gate, config, agent }) as unknown as (req: unknown, reply: unknown, done: () => void) => void
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
  await Promise.all([flags.close(), bus.close(), agent.close()])
  return { owns, hook: hookNs }
}

async function main(): Promise<void> {
  const unleash = await fakeUnleash(harness, { 'helix.voice.dedicated': false })
  const [monoPort, voicePort] = [await freePort(), await freePort()]
  const monoUrl = `http://127.0.0.1:${monoPort}`
  const voiceUrl = `http://127.0.0.1:${voicePort}`
  const env = {
    REDIS_URL,
    HELIX_REDIS_PREFIX: `bench:flip:${randomBytes(4).toString('hex')}:`,
    UNLEASH_URL: unleash.url,
    UNLEASH_REFRESH_MS: String(REFRESH_MS),
    LOG_LEVEL: 'warn',
    HELIX_PUBLIC_URLS: `all=${monoUrl},voice=${voiceUrl}`
  }
  const entry = 'test/fixtures/server.ts'
  await Promise.all([
    startHelix(harness, { entry, env: { ...env, PORT: String(monoPort), HELIX_ROLE: 'all', HELIX_SERVICE_URLS: `voice=${voiceUrl}` } }),
    startHelix(harness, { entry, env: { ...env, PORT: String(voicePort), HELIX_ROLE: 'voice' } })
  ])

  const dispatcher = new Agent({ connections: CLIENTS })
  teardowns.push(() => dispatcher.close())
  const reasons = new Map<string, number>()
  let window: { from: string; to: string; at: number; lastOld: number; failed: number } | null = null
  const clients = runClients(monoUrl, dispatcher, (s) => {
    if (!window) return
    if (!s.ok) {
      window.failed++
      reasons.set(s.reason!, (reasons.get(s.reason!) ?? 0) + 1)
    }
    else if (s.role === window.from && s.startedAt > window.lastOld) window.lastOld = s.startedAt
  })
  const admin = { authorization: `Bearer ${adminToken()}`, 'content-type': 'application/json' }

  const results: Record<'override' | 'unleash', { lag: hdr.Histogram; failed: number; served: number }> = {
    override: { lag: hdr.build(), failed: 0, served: 0 },
    unleash: { lag: hdr.build(), failed: 0, served: 0 }
  }
  await new Promise((resolve) => setTimeout(resolve, 1000))

  for (const kind of ['override', 'unleash'] as const) {
    for (let i = 0; i < FLIPS; i++) {
      const dedicated = i % 2 === 0
      const servedBefore = clients.total()
      window = { from: dedicated ? 'all' : 'voice', to: dedicated ? 'voice' : 'all', at: performance.now(), lastOld: 0, failed: 0 }
      if (kind === 'override') {
        const res = await request(`${monoUrl}/admin/flags/helix.voice.dedicated`, { method: 'PUT', headers: admin, body: JSON.stringify({ enabled: dedicated }) })
        await res.body.dump()
        if (res.statusCode !== 200) throw new Error(`override flip answered ${res.statusCode}`)
      } else {
        unleash.set('helix.voice.dedicated', dedicated)
      }
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS[kind]))
      const lag = Math.max(0, window.lastOld - window.at)
      results[kind].lag.recordValue(Math.max(1, Math.round(lag)))
      results[kind].failed += window.failed
      results[kind].served += clients.total() - servedBefore
      window = null
    }
    if (kind === 'override') {
      const res = await request(`${monoUrl}/admin/flags/helix.voice.dedicated`, { method: 'DELETE', headers: { authorization: admin.authorization } })
      await res.body.dump()
    }
  }
  await clients.stop()
  const cost = await gateCost()

  printTable(`bench:flip — ${CLIENTS} clients through the monolith, ${FLIPS} flips each way (Unleash refresh ${REFRESH_MS} ms)`,
    ['flip by', 'flips', 'requests', 'failed', 'last old-owner request after flip p50 (ms)', 'max (ms)', 'target'],
    (['override', 'unleash'] as const).map((kind) => [
      kind,
      FLIPS,
      results[kind].served,
      results[kind].failed,
      results[kind].lag.getValueAtPercentile(50),
      results[kind].lag.maxValue,
      kind === 'override' ? '< 1000 ms, 0 failed' : `< ${2 * REFRESH_MS} ms, 0 failed`
    ]))
  if (reasons.size > 0) printTable('bench:flip — why requests failed', ['answer', 'count'], [...reasons])
  printTable('bench:flip — cost of the gate per request (owned plugin, the hot path)',
    ['measure', 'ns per call', 'target'],
    [['gate.owns(descriptor)', cost.owns.toFixed(1), '< 2000 ns'], ['onRequest hook (owns + done)', cost.hook.toFixed(1), '< 2000 ns']])
}

try {
  await main()
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
process.exit(0)
