// `npm run drill:rollback`: the rollback drill of issue 17. The split deployment (monolith + stream,
// zapier, voice services) under the mixed load, its ownership flags in the real Unleash server
// (test/helpers/unleash-server.ts); each plugin is flipped back to the monolith and forward again, by
// Unleash and by admin override. Per flip: the time until every request (stream: every connection)
// is served by the new owner, and the requests that failed meanwhile; over the drill: events,
// webhooks, commands and Discord posts lost (a post crosses services: the webhook's pipeline in the
// Zapier service, the bot in the monolith, the bus between). Writes docs/perf/drill-p99.png (p99 per
// second with the flips marked). Progress lines go to stderr.
import path from 'node:path'
import { projectRoot } from '../core/paths.js'
import { unleashServer, UNLEASH_VERSION } from '../test/helpers/unleash-server.js'
import { printTable } from './table.js'
import { writeChart, type Series } from './split/chart.js'
import { DEDICATED, deploy, overrideDedicated, type Dedicated } from './split/deployment.js'
import type { LoadReport } from './split/messages.js'
import { OwnerObserver, type Served } from './split/observer.js'
import { machine } from './split/procfs.js'
import { progress } from './split/progress.js'
import { adminToken } from './split/tokens.js'
import { knobs, lostPosts, lostWork, startWorkload } from './split/workload.js'

const REFRESH_MS = Number(process.env.UNLEASH_REFRESH_MS ?? 1000)
/** A flip is over once the old owner served nothing for this long (and the new one served). */
const QUIET_MS = Number(process.env.DRILL_QUIET_MS ?? 2000)
const FLIP_TIMEOUT_MS = 60_000
const CHART = path.join(projectRoot, 'docs/perf/drill-p99.png')
const CHART_LABELS = ['GET /api/agents', 'POST /api/agents/:id/commands', 'POST /api/zapier/hooks/:source', 'POST /api/stream/publish', 'delivery (publish to receive)']

type Kind = 'unleash' | 'override'
type Owner = 'monolith' | 'dedicated'

interface Flip { plugin: Dedicated; kind: Kind; to: Owner; at: number; settledMs: number | null; failed: number }

const teardowns: (() => unknown)[] = []
const harness = { teardown: (fn: () => unknown) => void teardowns.push(fn) }
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const say = progress('drill')

/**
 * Resolves with the ms from the flip until all traffic was on the new owner: the end of the last poll
 * in which the old owner served (stream: held a connection) and the new one had begun, once the old
 * owner has stayed idle QUIET_MS.
 */
function settled(observer: OwnerObserver, plugin: Dedicated, to: Owner, at: number, clients: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let newServed = false
    let lastOld = at
    let last: Served | null = null
    const timer = setTimeout(() => {
      off()
      reject(new Error(`the ${plugin} flip to the ${to} did not settle in ${FLIP_TIMEOUT_MS} ms; last seen ${JSON.stringify(last)}`))
    }, FLIP_TIMEOUT_MS)
    const off = observer.on((p, s: Served) => {
      if (p !== plugin || s.at < at) return
      last = s
      const [oldServes, newServes] = to === 'monolith' ? [s.dedicated, s.monolith] : [s.monolith, s.dedicated]
      const complete = plugin === 'stream' ? oldServes === 0 && newServes >= clients : oldServes === 0
      if (newServes > 0) newServed = true
      if (!complete || !newServed) lastOld = s.at
      else if (s.at - lastOld >= QUIET_MS) {
        clearTimeout(timer)
        off()
        resolve(lastOld - at)
      }
    })
  })
}

async function flipBy(kind: Kind, plugin: Dedicated, to: Owner, monolith: string, setUnleash: (name: string, on: boolean) => Promise<void>): Promise<void> {
  if (kind === 'unleash') return setUnleash(`helix.${plugin}.dedicated`, to === 'dedicated')
  await overrideDedicated(monolith, plugin, to === 'dedicated')
}

async function clearOverride(monolith: string, plugin: Dedicated): Promise<void> {
  const res = await fetch(`${monolith}/admin/flags/helix.${plugin}.dedicated`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken()}` } })
  await res.body?.cancel()
}

/** Failed requests of every load in [from, to] (Unix ms), from the per-second series. */
function failedBetween(reports: readonly LoadReport[], from: number, to: number): number {
  const [a, b] = [Math.floor(from / 1000), Math.floor(to / 1000)]
  return reports.flatMap((r) => r.series).filter((s) => s.second >= a && s.second <= b).reduce((n, s) => n + s.errors, 0)
}

async function drill(): Promise<void> {
  const initial = Object.fromEntries(DEDICATED.map((p) => [`helix.${p}.dedicated`, true]))
  say('starting unleash-server (the first run installs it, which takes a while)')
  const unleash = await unleashServer(harness, { initial })
  say('deploying the split (monolith + stream, zapier, voice)')
  const deployment = await deploy(harness, { shape: 'split', cpus: knobs.helixCpus, unleash, env: { UNLEASH_REFRESH_MS: String(REFRESH_MS) } })
  say(`starting the load (${knobs.wsClients} WebSocket clients connect first)`)
  const workload = await startWorkload(harness, deployment, { connect: 'discover' })
  const observer = new OwnerObserver(deployment)
  observer.start()
  teardowns.push(() => observer.stop())
  say(`warm-up ${knobs.warmupSeconds} s`)
  await sleep(knobs.warmupSeconds * 1000)
  workload.mark()
  const started = Date.now()
  const flips: Flip[] = []
  const total = DEDICATED.length * 4
  for (const plugin of DEDICATED) {
    for (const kind of ['unleash', 'override'] as const) {
      for (const to of ['monolith', 'dedicated'] as const) {
        const flip: Flip = { plugin, kind, to, at: Date.now(), settledMs: null, failed: 0 }
        flips.push(flip)
        say(`flip ${flips.length}/${total}: ${plugin} to the ${to} by ${kind}`)
        await flipBy(kind, plugin, to, deployment.monolith.url, unleash.set)
        // A flip that does not settle is reported as such, and the drill goes on.
        flip.settledMs = await settled(observer, plugin, to, flip.at, knobs.wsClients).catch(async (err: Error) => {
          const ws = (await workload.report()).find((r) => r.kind === 'ws')
          console.error(`${err.message}; subscribers: ${JSON.stringify(ws?.ws)}`)
          return null
        })
        say(`flip ${flips.length}/${total}: ${flip.settledMs === null ? 'did not settle' : `all on the new owner after ${flip.settledMs} ms`}`)
      }
      // Back to what Unleash says (dedicated), as an operator ends an override.
      if (kind === 'override') await clearOverride(deployment.monolith.url, plugin)
    }
  }
  const ended = Date.now()
  const reports = await workload.report()
  say('stopping the load (answers in flight, subscribers catching up)')
  const final = await workload.stop()
  observer.stop()
  say('waiting for the lost-work check (commands, webhooks, Discord posts)')
  const [lost, posts] = await Promise.all([lostWork(deployment.databaseUrl, final), lostPosts(deployment, final, workload.runId)])
  flips.forEach((f, i) => (f.failed = failedBetween(reports, f.at, (flips[i + 1]?.at ?? ended) - 1)))

  const m = machine()
  console.log(`\ndrill:rollback on ${m.cpus} CPUs (${m.model}), ${m.ramGiB} GiB RAM; Helix pinned to CPU ${knobs.helixCpus}, load to CPU ${knobs.loadCpus}. unleash-server ${UNLEASH_VERSION}, client refresh ${REFRESH_MS} ms; a flip is over when the old owner served nothing for ${QUIET_MS} ms.`)
  console.log(`Load: ${knobs.wsClients} WebSocket clients (following discovery), ${knobs.eventRate} events/s, ${knobs.webhookRate} webhooks/s and ${knobs.discordRate} discord_notification webhooks/s, ${knobs.ttsRate} TTS/s, ${knobs.apiRate} API requests/s, ${knobs.dashboardRate} dashboard reads/s.`)
  printTable('drill:rollback — per flip: time until all traffic is on the new owner (stream: every connection), failed requests until the next flip',
    ['plugin', 'flip by', 'to', 'all on new owner (ms)', 'failed requests', 'target'],
    flips.map((f) => [f.plugin, f.kind, f.to, f.settledMs ?? `not within ${FLIP_TIMEOUT_MS / 1000} s`, f.failed, f.kind === 'override' ? '< 1000 ms, 0 failed' : `< ${2 * REFRESH_MS + 1000} ms, 0 failed`]))
  const ws = final.find((r) => r.kind === 'ws')?.ws
  const sum = (f: (l: LoadReport['labels'][number]) => number) => reports.flatMap((r) => r.labels).filter((l) => !l.label.startsWith('delivery')).reduce((n, l) => n + f(l), 0)
  printTable(`drill:rollback — lost or failed over the drill (${((ended - started) / 1000).toFixed(0)} s, ${flips.length} flips)`, ['what', 'count', 'lost or failed', 'target'], [
    ['HTTP requests (all loads)', sum((l) => l.ok + l.errors), sum((l) => l.errors), '0'],
    ['of them sent again: a former owner answered 503 not_owner, naming the new one (not failed)', reports.reduce((n, r) => n + r.redirected, 0), '-', '-'],
    ['events published, every subscriber (numbered; resume with since after 1012)', ws ? `${ws.published} x ${ws.connected}` : '-', ws?.missed ?? '-', '0'],
    ['1012 reconnects / upgrades refused / since not recovered / other closes', ws ? `${ws.reconnects} / ${ws.refused}` : '-', ws ? `${ws.notRecovered} / ${ws.otherCloses}` : '-', '0 / 0'],
    ['webhooks accepted (202), not processed', lost.webhooks.accepted, lost.webhooks.unprocessed, '0'],
    ['commands accepted (202), no final state', lost.commands.accepted, lost.commands.unfinished, '0'],
    ['Discord posts accepted (202) / posted; lost (accepted, never posted), duplicated', `${posts.accepted} / ${posts.posted}`, `${posts.lost}, ${posts.duplicated} duplicated`, '0, 0']
  ])
  const reasons = Object.entries(reports.reduce<Record<string, number>>((acc, r) => { for (const [k, v] of Object.entries(r.reasons)) acc[k] = (acc[k] ?? 0) + v; return acc }, {}))
  if (reasons.length > 0) printTable('drill:rollback — why requests failed', ['answer', 'count'], reasons)

  const series: Series[] = CHART_LABELS.map((label) => ({
    name: `${label} p99`,
    points: reports.flatMap((r) => r.series).filter((s) => s.label === label && s.count > 0 && s.second * 1000 >= started - 1000)
      .sort((a, b) => a.second - b.second).map((s) => [s.second - Math.floor(started / 1000), Math.max(1, s.p99)] as [number, number])
  })).filter((s) => s.points.length > 0)
  say('writing the chart')
  await writeChart(CHART, {
    title: `drill:rollback — p99 latency per second through the monolith, ${flips.length} flips`,
    xLabel: 'seconds since the drill started', yLabel: 'p99 (ms, log scale)', logY: true, series,
    marks: flips.map((f) => ({ x: (f.at - started) / 1000, label: `${f.plugin} ${f.kind === 'unleash' ? 'U' : 'O'} → ${f.to === 'monolith' ? 'mono' : 'ded'}` }))
  })
  console.log(`\nchart: ${path.relative(projectRoot, CHART)}`)
}

try {
  await drill()
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
process.exit(0)
