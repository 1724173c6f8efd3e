// `npm run soak -- --minutes 10`: the mixed load of bench:split on the split deployment (SOAK_SHAPE=all
// for one process) for a while; every minute (SOAK_INTERVAL_SECONDS) per Helix process: RSS, V8 heap
// used, open file descriptors, event-loop delay p99 (prom-client's nodejs_eventloop_lag_p99_seconds,
// since the previous scrape), Redis and PostgreSQL connections; then whether each stayed flat after
// warm-up (minute 2 against the last sample, within the tolerances below), and whether every Discord post
// asked for was posted. Progress lines go to stderr.
import path from 'node:path'
import { parseArgs } from 'node:util'
import { Redis } from 'ioredis'
import pg from 'pg'
import { projectRoot } from '../core/paths.js'
import { baseDatabaseUrl } from '../test/helpers/db.js'
import { sharedRedisUrl } from '../test/helpers/redis.js'
import { printTable } from './table.js'
import { writeChart } from './split/chart.js'
import { redisConnections, postgresConnections } from './split/connections.js'
import { deploy, type HelixNode, type Shape } from './split/deployment.js'
import { openFds, machine, rssBytes } from './split/procfs.js'
import { progress } from './split/progress.js'
import { scrape, total } from './split/prometheus.js'
import { knobs, lostPosts, startWorkload } from './split/workload.js'

const { values: args } = parseArgs({ options: { minutes: { type: 'string', default: '10' } } })
const MINUTES = Number(args.minutes)
const INTERVAL_S = Number(process.env.SOAK_INTERVAL_SECONDS ?? 60)
const SHAPE = (process.env.SOAK_SHAPE ?? 'split') as Shape
/** The sample compared with the last: the end of minute 2, after warm-up (JIT, pools, caches filled). */
const BASELINE_S = Number(process.env.SOAK_BASELINE_SECONDS ?? 120)
const CHART = path.join(projectRoot, 'docs/perf/soak-memory.png')
const TOLERANCE = { rssPct: 15, heapPct: 25, fds: 10, redis: 0, postgres: 2, loopMs: 20 }

interface Reading { at: number; node: string; rssMB: number; heapMB: number; fds: number; loopP99ms: number; redis: number; redisNames: string[]; postgres: number }

const teardowns: (() => unknown)[] = []
const harness = { teardown: (fn: () => unknown) => void teardowns.push(fn) }
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10
const say = progress('soak')

async function read(at: number, nodes: readonly HelixNode[], redis: Redis, db: pg.Client, database: string): Promise<Reading[]> {
  const pids = nodes.map((n) => n.pid)
  const [redisBy, pgBy] = await Promise.all([
    redisConnections(redis, Number(new URL(sharedRedisUrl).port || 6379), pids),
    postgresConnections(db, Number(new URL(baseDatabaseUrl).port || 5432), database, pids)
  ])
  return Promise.all(nodes.map(async (n) => {
    const samples = await scrape(n.url)
    return {
      at, node: n.name, rssMB: mb(rssBytes(n.pid)), heapMB: mb(total(samples, 'nodejs_heap_size_used_bytes')), fds: openFds(n.pid),
      loopP99ms: Math.round(total(samples, 'nodejs_eventloop_lag_p99_seconds') * 10000) / 10,
      redis: redisBy.get(n.pid)?.count ?? 0, redisNames: redisBy.get(n.pid)?.names ?? [], postgres: pgBy.get(n.pid) ?? 0
    }
  }))
}

/** Whether a process stayed flat from the baseline to the last reading, and what grew if not. */
function verdict(base: Reading, last: Reading): string {
  const grew: string[] = []
  if (last.rssMB > base.rssMB * (1 + TOLERANCE.rssPct / 100)) grew.push(`RSS ${base.rssMB} -> ${last.rssMB} MB`)
  if (last.heapMB > base.heapMB * (1 + TOLERANCE.heapPct / 100)) grew.push(`heap ${base.heapMB} -> ${last.heapMB} MB`)
  if (last.fds > base.fds + TOLERANCE.fds) grew.push(`fds ${base.fds} -> ${last.fds}`)
  if (last.redis > base.redis + TOLERANCE.redis) grew.push(`Redis ${base.redis} -> ${last.redis}`)
  if (last.postgres > base.postgres + TOLERANCE.postgres) grew.push(`PostgreSQL ${base.postgres} -> ${last.postgres}`)
  if (last.loopP99ms > base.loopP99ms * 2 + TOLERANCE.loopMs) grew.push(`event-loop p99 ${base.loopP99ms} -> ${last.loopP99ms} ms`)
  return grew.length === 0 ? 'flat' : `GREW: ${grew.join('; ')}`
}

async function soak(): Promise<void> {
  say(`deploying (${SHAPE})`)
  const deployment = await deploy(harness, { shape: SHAPE, cpus: knobs.helixCpus })
  say(`starting the load (${knobs.wsClients} WebSocket clients connect first)`)
  const workload = await startWorkload(harness, deployment, { connect: 'discover' })
  workload.mark()
  say(`soaking ${MINUTES} min, a sample every ${INTERVAL_S} s`)
  const redis = new Redis(sharedRedisUrl)
  teardowns.push(() => redis.disconnect())
  const db = new pg.Client({ connectionString: baseDatabaseUrl })
  await db.connect()
  teardowns.push(() => db.end())
  const database = new URL(deployment.databaseUrl).pathname.slice(1)
  const m = machine()
  console.log(`soak: ${MINUTES} min of the mixed load on the ${SHAPE} deployment; ${m.cpus} CPUs (${m.model}), ${m.ramGiB} GiB RAM; Helix on CPU ${knobs.helixCpus}, load on CPU ${knobs.loadCpus}`)
  console.log(`Load: ${knobs.wsClients} WebSocket clients, ${knobs.eventRate} events/s, ${knobs.webhookRate} webhooks/s, ${knobs.discordRate} discord_notification webhooks/s, ${knobs.ttsRate} TTS/s, ${knobs.apiRate} API requests/s, ${knobs.dashboardRate} dashboard reads/s`)
  const started = Date.now()
  const readings: Reading[] = []
  const end = started + MINUTES * 60_000
  for (let next = started + INTERVAL_S * 1000; next <= end + 500; next += INTERVAL_S * 1000) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())))
    const at = Math.round((Date.now() - started) / 1000)
    const now = await read(at, deployment.nodes, redis, db, database)
    if (readings.length === 0) for (const r of now) console.log(`Redis connections of ${r.node}: ${r.redisNames.join(', ')}`)
    readings.push(...now)
    const reports = await workload.report()
    const labels = reports.flatMap((r) => r.labels).filter((l) => !l.label.startsWith('delivery'))
    const ws = reports.find((r) => r.kind === 'ws')?.ws
    printTable(`soak — ${at} s: ${labels.reduce((n, l) => n + l.ok, 0)} requests answered, ${labels.reduce((n, l) => n + l.errors, 0)} failed, ${ws?.deliveries ?? 0} deliveries so far`,
      ['process', 'RSS (MB)', 'heap used (MB)', 'fds', 'event-loop p99 (ms)', 'Redis conns', 'PostgreSQL conns'],
      now.map((r) => [r.node, r.rssMB, r.heapMB, r.fds, r.loopP99ms, r.redis, r.postgres]))
  }
  say('stopping the load (answers in flight, subscribers catching up)')
  const final = await workload.stop()
  say('waiting for the Discord posts check')
  const posts = await lostPosts(deployment, final, workload.runId)
  const baseAt = readings.map((r) => r.at).find((at) => at >= BASELINE_S) ?? readings[0].at
  const lastAt = readings[readings.length - 1].at
  const rows = deployment.nodes.map((n) => {
    const base = readings.find((r) => r.node === n.name && r.at === baseAt)!
    const last = readings.find((r) => r.node === n.name && r.at === lastAt)!
    return [n.name, `${base.rssMB} -> ${last.rssMB}`, `${base.heapMB} -> ${last.heapMB}`, `${base.fds} -> ${last.fds}`, `${base.loopP99ms} -> ${last.loopP99ms}`, `${base.redis} -> ${last.redis}`, `${base.postgres} -> ${last.postgres}`, verdict(base, last)]
  })
  printTable(`soak — summary, ${baseAt} s (after warm-up) against ${lastAt} s; tolerances: RSS +${TOLERANCE.rssPct} %, heap +${TOLERANCE.heapPct} %, fds +${TOLERANCE.fds}, Redis +${TOLERANCE.redis}, PostgreSQL +${TOLERANCE.postgres}, event-loop p99 2x + ${TOLERANCE.loopMs} ms`,
    ['process', 'RSS (MB)', 'heap used (MB)', 'fds', 'event-loop p99 (ms)', 'Redis conns', 'PostgreSQL conns', 'verdict'], rows)
  const labels = final.flatMap((r) => r.labels).filter((l) => !l.label.startsWith('delivery'))
  const allFlat = rows.every((r) => r[7] === 'flat')
  say('writing the chart')
  await writeChart(CHART, {
    title: `soak — RSS and V8 heap used per process, ${MINUTES} min of the mixed load (${SHAPE})`,
    xLabel: 'seconds since the load started', yLabel: 'MB',
    series: deployment.nodes.flatMap((n) => [
      { name: `${n.name} RSS`, points: readings.filter((r) => r.node === n.name).map((r) => [r.at, r.rssMB] as [number, number]) },
      { name: `${n.name} heap used`, points: readings.filter((r) => r.node === n.name).map((r) => [r.at, r.heapMB] as [number, number]) }
    ])
  })
  console.log(`\nchart: ${path.relative(projectRoot, CHART)}`)
  console.log(`\nsoak summary: ${allFlat ? 'FLAT' : 'NOT FLAT'} after warm-up over ${MINUTES} min; ${labels.reduce((n, l) => n + l.ok, 0)} requests, ${labels.reduce((n, l) => n + l.errors, 0)} failed; events missed by subscribers: ${final.find((r) => r.kind === 'ws')?.ws?.missed ?? '-'}; Discord posts accepted / posted / lost / duplicated: ${posts.accepted} / ${posts.posted} / ${posts.lost} / ${posts.duplicated}`)
}

try {
  await soak()
} finally {
  for (const fn of teardowns.reverse()) await fn()
}
process.exit(0)
