// `npm run bench:dashboard`: the dashboard in headless Chromium against a real Helix (stream,
// orchestrator, dashboard on PostgreSQL and Redis, loopback): cold-load paint and first values,
// compressed page weight, publish-to-gauge latency, and frames while 100 events/s stream in.
/// <reference lib="dom" />
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium, type Page } from 'playwright-core'
import { pino } from 'pino'
import { loadConfig } from '../config/index.js'
import { buildApp } from '../core/app.js'
import dashboardPlugin from '../plugins/dashboard/index.js'
import { orchestratorPlugin } from '../plugins/orchestrator/index.js'
import { streamPlugin } from '../plugins/stream/index.js'
import { createTestDatabase } from '../test/helpers/db.js'
import { freePort } from '../test/helpers/net.js'
import { printTable } from './table.js'

const LOADS = 5
const LATENCY_SAMPLES = 30
const RATE = 100
const STREAM_SECONDS = 10
const BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync']

const cleanups: (() => unknown)[] = []
const scope = { teardown: (fn: () => unknown) => cleanups.push(fn) }

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}
const ms = (v: number) => v.toFixed(0)

async function main(): Promise<void> {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'helix-bench-'))
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }))
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    HELIX_JWT_SECRET: 'bench-secret-0123456789abcdef0123456789abcdef',
    HELIX_DATA_DIR: dataDir,
    PORT: String(port),
    HELIX_PUBLIC_URL: url,
    DATABASE_URL: await createTestDatabase(scope, 'bench_dashboard'),
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    HELIX_REDIS_PREFIX: `bench:dash:${randomUUID().slice(0, 8)}:`,
    HELIX_RATE_WRITE: '10000000',
    HELIX_RATE_PUBLISH: '10000000'
  }, [streamPlugin, orchestratorPlugin, dashboardPlugin])
  const app = await buildApp(config, { plugins: [streamPlugin, orchestratorPlugin, dashboardPlugin], logger: pino({ level: 'warn' }) })
  await app.listen({ port, host: '127.0.0.1' })
  cleanups.unshift(() => app.close())
  const bus = app.helix.kernel.bus
  const token = app.auth.sign({ sub: 'bench', scopes: ['admin'], ttlSeconds: 600 })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: BROWSER_ARGS })
  cleanups.unshift(() => browser.close())

  // Cold loads: a fresh context each time, so nothing comes from the cache.
  const loads: { fcp: number; value: number; live: number; staticBytes: number; rawBytes: number; apiBytes: number }[] = []
  for (let i = 0; i < LOADS; i++) {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } })
    const page = await context.newPage()
    const sizes: Promise<{ api: boolean; body: number; raw: number }>[] = []
    page.on('response', (res) => {
      const api = new URL(res.url()).pathname.startsWith('/api/') || res.url().includes('/.well-known/') || res.url().includes('/admin/')
      sizes.push(Promise.all([res.request().sizes(), res.body().catch(() => Buffer.alloc(0))]).then(([s, body]) =>
        ({ api, body: s.responseBodySize + s.responseHeadersSize, raw: body.length })))
    })
    await page.goto(`${url}/?token=${token}`)
    await page.waitForFunction(() => performance.getEntriesByName('helix:live').length > 0 && document.querySelectorAll('[data-agent]').length === 14)
    const marks = await page.evaluate(() => ({
      fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
      value: performance.getEntriesByName('helix:first-value')[0]?.startTime ?? NaN,
      live: performance.getEntriesByName('helix:live')[0]?.startTime ?? NaN
    }))
    const all = await Promise.all(sizes)
    loads.push({
      ...marks,
      staticBytes: all.filter((s) => !s.api).reduce((n, s) => n + s.body, 0),
      rawBytes: all.filter((s) => !s.api).reduce((n, s) => n + s.raw, 0),
      apiBytes: all.filter((s) => s.api).reduce((n, s) => n + s.body, 0)
    })
    await context.close()
  }

  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } })
  await page.goto(`${url}/?token=${token}`)
  await page.waitForFunction(() => document.querySelector('#connection')?.getAttribute('data-state') === 'open' && document.querySelectorAll('[data-agent]').length === 14)
  const state = (await app.inject({ url: '/api/ucf', headers: { authorization: `Bearer ${token}` } })).json()
  const latencies = await gaugeLatency(page, async (harmony) => {
    await bus.publish('ucf', 'ucf.updated', { ...state, metrics: { ...state.metrics, harmony }, updatedAt: new Date().toISOString() })
  })
  const frames = await streamLoad(page, state, (await app.inject({ url: '/api/agents?limit=100', headers: { authorization: `Bearer ${token}` } })).json().items, bus)

  const fcp = loads.map((l) => l.fcp)
  const value = loads.map((l) => l.value)
  const live = loads.map((l) => l.live)
  printTable(`Dashboard, ${LOADS} cold loads on loopback (Chromium headless)`, ['measure', 'p50', 'max', 'target'], [
    ['first contentful paint (ms)', ms(percentile(fcp, 50)), ms(Math.max(...fcp)), '< 1000'],
    ['first UCF value shown (ms)', ms(percentile(value, 50)), ms(Math.max(...value)), '< 1000'],
    ['stream open, welcomed (ms)', ms(percentile(live, 50)), ms(Math.max(...live)), '< 1000'],
    [`publish -> gauge updated (ms, ${LATENCY_SAMPLES} events)`, ms(percentile(latencies, 50)), ms(Math.max(...latencies)), '']
  ])
  const l0 = loads[0]
  printTable('Page weight (first load)', ['what', 'bytes', 'KB', 'target'], [
    ['static files as sent (brotli, incl. headers)', l0.staticBytes, (l0.staticBytes / 1024).toFixed(1), '< 200 KB'],
    ['static files uncompressed', l0.rawBytes, (l0.rawBytes / 1024).toFixed(1), ''],
    ['API and discovery responses', l0.apiBytes, (l0.apiBytes / 1024).toFixed(1), '']
  ])
  printTable(`Frames while ${RATE} events/s stream in for ${STREAM_SECONDS} s (${frames.events} events)`, ['measure', 'value', 'target'], [
    ['frames rendered', frames.count, ''],
    ['frame interval p50 (ms)', frames.p50.toFixed(1), ''],
    ['frame interval p99 (ms)', frames.p99.toFixed(1), ''],
    ['frame interval max (ms)', frames.max.toFixed(1), ''],
    ['long tasks (> 50 ms)', frames.longTasks, '0'],
    ['longest task (ms)', frames.longest.toFixed(0), '< 50'],
    ['events shown in feed (capped at 200 rows)', frames.rows, '']
  ])
}

/** Publish-to-DOM time: the page stamps when the harmony gauge changes; both clocks are this host's. */
async function gaugeLatency(page: Page, publish: (harmony: number) => Promise<void>): Promise<number[]> {
  await page.evaluate(() => {
    const gauge = document.querySelector<HTMLElement>('[data-metric="harmony"]')!
    const seen: Record<string, number> = ((window as any).__seen = {})
    new MutationObserver(() => (seen[gauge.dataset.value!] = performance.timeOrigin + performance.now()))
      .observe(gauge, { attributes: true, attributeFilter: ['data-value'] })
  })
  const latencies: number[] = []
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const harmony = 0.5 + i / 1000
    const sent = performance.timeOrigin + performance.now()
    await publish(harmony)
    const shown = await page.waitForFunction((h) => (window as any).__seen[String(h)], harmony).then((h) => h.jsonValue() as Promise<number>)
    latencies.push(shown - sent)
  }
  return latencies
}

async function streamLoad(page: Page, state: any, agents: any[], bus: { publish: (c: string, t: string, d: unknown) => Promise<unknown> }) {
  await page.evaluate(() => {
    const w = window as any
    w.__frames = []
    w.__long = []
    new PerformanceObserver((list) => w.__long.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' })
    let last = performance.now()
    const tick = (now: number) => {
      w.__frames.push(now - last)
      last = now
      if (!w.__stop) requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  })
  const total = RATE * STREAM_SECONDS
  const started = performance.now()
  for (let i = 0; i < total; i++) {
    const agent = agents[i % agents.length]
    const kind = i % 5
    if (kind === 0) await bus.publish('ucf', 'ucf.updated', { ...state, metrics: { ...state.metrics, harmony: 0.3 + ((i * 7) % 60) / 100 }, updatedAt: new Date().toISOString() })
    else if (kind === 1) await bus.publish('commands', 'command.updated', { id: randomUUID(), agentId: agent.id, command: 'REFLECT', status: 'succeeded', result: { note: 'bench' } })
    else if (kind === 2) await bus.publish('agents', 'agent.updated', { ...agent, status: i % 2 ? 'busy' : 'idle', version: agent.version + i })
    else if (kind === 3) await bus.publish('zapier', 'zapier.received', { type: 'ucf_update', eventId: randomUUID() })
    else await bus.publish('voice', 'voice.transcribed', { transcript: 'helix kael status' })
    // Hold the rate: wait until this event's slot in the schedule.
    const due = started + ((i + 1) * 1000) / RATE
    const wait = due - performance.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  }
  await page.waitForTimeout(500)
  const result = await page.evaluate(() => {
    const w = window as any
    w.__stop = true
    return { frames: w.__frames.slice(1) as number[], long: w.__long as number[], rows: document.querySelectorAll('#feed .feed-row').length }
  })
  return {
    events: total,
    count: result.frames.length,
    p50: percentile(result.frames, 50),
    p99: percentile(result.frames, 99),
    max: Math.max(...result.frames),
    longTasks: result.long.length,
    longest: Math.max(0, ...result.long),
    rows: result.rows
  }
}

try {
  await main()
} finally {
  for (const fn of cleanups) await fn()
}
