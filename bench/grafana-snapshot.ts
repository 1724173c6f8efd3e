// `npm run docs:grafana [-- --seconds 80] [-- --window 15s] [-- --out docs/grafana.png]`: the picture of
// docs/grafana/helix.json without Grafana. A monolith and a dedicated voice service (compiled dist/,
// on Redis and a PostgreSQL database of their own, the bot on a fake Discord) run under load while
// /usr/bin/prometheus scrapes them every second; then every panel's queries go to Prometheus's
// query_range API (the dashboard's `[5m]` rate windows shortened to --window, as a run of a minute
// or two has no five minutes to average over) and the answers are drawn as SVG charts laid out by
// the dashboard's grid, and headless Chromium screenshots the page.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { chromium } from 'playwright-core'
import { projectRoot } from '../core/paths.js'
import { signTestToken } from '../test/helpers/build.js'
import { createTestDatabase } from '../test/helpers/db.js'
import { startFakeDiscord, type FakeDiscord } from '../test/helpers/fake-discord/index.js'
import { freePort } from '../test/helpers/net.js'
import { startHelix, type HelixProcess } from '../test/helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../test/helpers/redis.js'
import { waitFor } from '../test/helpers/wait.js'
import { legend, readDashboard, substitute, type Panel } from './grafana/dashboard.js'
import { prepareLoad, ZAPIER_SOURCES } from './grafana/load.js'
import { JOB, startPrometheus, type Prometheus } from './grafana/prometheus.js'
import { renderPage, type DrawnSeries, type TimeRange } from './grafana/render.js'
import { printTable } from './table.js'

const { values: cli } = parseArgs({ options: { seconds: { type: 'string', default: '80' }, window: { type: 'string', default: '15s' }, out: { type: 'string', default: 'docs/grafana.png' } } })
const SECONDS = Math.max(10, Number(cli.seconds))
const WINDOW = cli.window
if (!/^\d+[smh]$/.test(WINDOW)) throw new Error(`--window ${WINDOW}: expected a PromQL duration such as 15s`)
const OUT = path.resolve(projectRoot, cli.out)
const BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']
/** Idle time before and after the load, so the charts show it start and drain. */
const QUIET_SECONDS = 6

const cleanups: (() => unknown)[] = []
const scope = { teardown: (fn: () => unknown) => void cleanups.push(fn) }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const nowSeconds = () => Math.floor(Date.now() / 1000)

/** A Helix process stopped with SIGTERM (a clean shutdown: it withdraws its ownership announcement). */
async function helix(env: Record<string, string>): Promise<HelixProcess> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'helix-snapshot-'))
  scope.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
  const proc = await startHelix(scope, { env: { LOG_LEVEL: 'warn', HELIX_DATA_DIR: dataDir, ...env }, timeoutMs: 60_000 })
  scope.teardown(() => proc.kill('SIGTERM'))
  return proc
}

async function startDeployment(fake: FakeDiscord): Promise<{ monolith: HelixProcess; voice: HelixProcess }> {
  const [monolithPort, voicePort] = [await freePort(), await freePort()]
  const shared = {
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: redisPrefix(scope, 'grafana'),
    DATABASE_URL: await createTestDatabase(scope, 'grafana_snapshot'),
    VOICE_PROVIDER: 'local',
    HELIX_RATE_WRITE: '100000',
    HELIX_RATE_PUBLISH: '100000',
    HELIX_RATE_WEBHOOK: '100000'
  }
  const monolith = await helix({
    ...shared,
    PORT: String(monolithPort),
    HELIX_ROLE: 'all',
    HELIX_SERVICE_URLS: `voice=http://127.0.0.1:${voicePort}`,
    ZAPIER_SOURCES,
    HELIX_OUTBOUND_ALLOW: '127.0.0.1',
    DISCORD_TOKEN: fake.token,
    DISCORD_API_URL: fake.restUrl,
    DISCORD_ALERT_CHANNEL_ID: fake.guild.channels.alerts.id,
    DISCORD_OPERATOR_ROLE_ID: fake.guild.roles.operator.id,
    DISCORD_ADMIN_ROLE_ID: fake.guild.roles.admin.id,
    DISCORD_GUILD_ID: fake.guild.id,
    DISCORD_TELEMETRY_MINUTES: '0'
  })
  const voice = await helix({ ...shared, PORT: String(voicePort), HELIX_ROLE: 'voice', HELIX_SERVICE_URLS: `all=${monolith.url}` })
  return { monolith, voice }
}

/** Every query of a panel over the range, as drawn series (legend from the target's template). */
async function panelSeries(prometheus: Prometheus, panel: Panel, range: TimeRange): Promise<DrawnSeries[]> {
  const drawn: DrawnSeries[] = []
  for (const target of panel.targets ?? []) {
    const expr = substitute(target.expr, { job: JOB }).replaceAll('[5m]', `[${WINDOW}]`)
    const result = await prometheus.queryRange(expr, range.start, range.end, range.step)
    const series = result.map((s) => ({ name: legend(target.legendFormat, s.metric), points: s.values.map(([t, v]): [number, number] => [t, Number(v)]) }))
    drawn.push(...series.sort((a, b) => a.name.localeCompare(b.name)))
  }
  return drawn
}

async function screenshot(html: string, width: number, height: number): Promise<void> {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: BROWSER_ARGS })
  try {
    const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 })
    await page.setContent(html, { waitUntil: 'load' })
    await page.screenshot({ path: OUT, fullPage: true })
  } finally {
    await browser.close()
  }
}

async function main(): Promise<void> {
  const fake = await startFakeDiscord({ ackDeadlineMs: 15_000 })
  scope.teardown(() => fake.close())
  const { monolith, voice } = await startDeployment(fake)
  const prometheus = await startPrometheus(scope, [monolith.url, voice.url].map((u) => new URL(u).host))
  await waitFor(async () => (await prometheus.queryValue(`sum(up{job="${JOB}"})`)) === 2, 'Prometheus to scrape both processes', 30_000, 250)
  const token = signTestToken(['admin', 'agents:read', 'agents:write', 'stream:read', 'stream:publish', 'voice', 'zapier'], 3600, 'snapshot')
  const workload = await prepareLoad(scope, { monolithUrl: monolith.url, token, fake })

  const start = nowSeconds()
  await sleep(QUIET_SECONDS * 1000)
  console.error(`load for ${SECONDS} s...`)
  const counts = await workload.run(SECONDS)
  await sleep(QUIET_SECONDS * 1000)
  const end = nowSeconds()
  // The last scrape is in the TSDB once its timestamp passes the range's end.
  await waitFor(async () => ((await prometheus.queryValue(`min(timestamp(up{job="${JOB}"}))`)) ?? 0) >= end, 'the final scrape', 10_000, 250)

  const range: TimeRange = { start, end, step: 1 }
  const dashboard = readDashboard()
  const data = new Map<Panel, DrawnSeries[]>()
  for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) data.set(panel, await panelSeries(prometheus, panel, range))
  const note = `Rendered by bench/grafana-snapshot.ts from Prometheus query_range answers to this dashboard's queries (job="${JOB}": a monolith and a dedicated voice service under ${SECONDS} s of load; voice handed to its service a third of the way and back at two thirds; rate windows [5m] shown as [${WINDOW}]).`
  const page = renderPage(dashboard, data, range, note)
  await screenshot(page.html, page.width, page.height)

  printTable(`docs/grafana/helix.json drawn from Prometheus (${end - start} s, step ${range.step} s) into ${path.relative(projectRoot, OUT)}`, ['panel', 'queries', 'series', 'points with a value'], [...data].map(([panel, series]) => [
    panel.title,
    panel.targets?.length ?? 0,
    series.length,
    series.reduce((n, s) => n + s.points.filter(([, v]) => Number.isFinite(v)).length, 0)
  ]))
  printTable('Load sent to the monolith (answers by status)', ['what', 'count'], [...counts].sort(([a], [b]) => a.localeCompare(b)))
}

try {
  await main()
} finally {
  for (const fn of cleanups.reverse()) {
    try {
      await fn()
    } catch (err) {
      console.error(`cleanup: ${(err as Error).message}`)
    }
  }
}
