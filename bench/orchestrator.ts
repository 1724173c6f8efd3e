// `npm run bench:orchestrator [-- --runs N]`: Helix's orchestrator (compiled server processes on
// PostgreSQL and Redis) side by side with what a team would build instead (Fastify + pg-boss 12,
// bench/orchestrator/pgboss-server.ts), under the same autocannon load over the 14 agents, in the same
// run: commands accepted per second and their latency, STATUS commands executed end to end with one
// and two processes, CPU per 1,000 commands, RSS and the live heap over 100,000 commands; and Helix's UCF updates per
// second. Each system gets a fresh database per run; the table shows the median of the runs (default 3).
// `--quick`: Helix alone, accepted and executed (1 process) only, for bench:observability's many runs.
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'
import { pino } from 'pino'
import { projectRoot } from '../core/paths.js'
import { createDatabase } from '../core/db/index.js'
import { MemoryBus } from '../core/bus/memory-bus.js'
import { AlertService } from '../plugins/orchestrator/alert-service.js'
import { Sql } from '../plugins/orchestrator/sql.js'
import { UcfService } from '../plugins/orchestrator/ucf-service.js'
import { baseDatabaseUrl, createTestDatabase } from '../test/helpers/db.js'
import { redisPrefix } from '../test/helpers/redis.js'
import { Inspector, liveHeapMiB } from './orchestrator/inspector.js'
import { requests, SECRET } from './orchestrator/load.js'
import { BackendCpu, commits, cpuSeconds, rssMiB } from './orchestrator/probes.js'
import { helixTarget, pgBossTarget, type Server, type Target } from './orchestrator/targets.js'
import { printTable } from './table.js'

const ACCEPT_SECONDS = 10
const STEADY_RATE = Number(process.env.BENCH_STEADY_RATE ?? 500)
const EXECUTE_COMMANDS = 10_000
const MEMORY_COMMANDS = 100_000
const UCF_UPDATES = 2000
const RSS_SETTLE_MS = 5000
const { values: cli } = parseArgs({ options: { runs: { type: 'string', default: '3' }, quick: { type: 'boolean', default: false } } })
const RUNS = Math.max(1, Number(cli.runs))
const QUICK = cli.quick
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'

/** One system's figures in one run. */
interface Figures {
  accepted: number
  p50: number
  p99: number
  steadyP50: number
  steadyP99: number
  failures: number
  executedOne: number
  executedTwo: number
  serverCpu: number
  databaseCpu: number
  commitsPerCommand: number
  rssStart: number
  rssWarm: number
  rss100k: number
  /** V8's heap after a full GC (MiB): what stays flat when nothing grows. */
  heapStart: number
  heapWarm: number
  heap100k: number
}

type Scope = { teardown(fn: () => unknown): void }

/** Teardowns of one run, run in reverse at its end (and on failure). */
function runScope(): Scope & { close(): Promise<void> } {
  const fns: (() => unknown)[] = []
  return {
    teardown: (fn) => void fns.push(fn),
    close: async () => {
      for (const fn of fns.reverse()) await fn()
    }
  }
}

/**
 * RSS once the process has been idle for a while: V8 lets garbage pile up under load and gives the
 * memory back only after the load stops, so a reading taken at once would measure the load, not growth.
 */
async function settledRss(pid: number): Promise<number> {
  await new Promise((r) => setTimeout(r, RSS_SETTLE_MS))
  return rssMiB(pid)
}

/**
 * The live heap after a full GC, through an inspector session opened for the reading and closed after
 * it: a session left attached slows the server down while it is measured.
 */
async function liveHeap(pid: number): Promise<number> {
  const inspector = await Inspector.open(pid)
  try {
    return await liveHeapMiB(inspector)
  } finally {
    await inspector.close()
  }
}

async function drained(target: Target, db: pg.Client): Promise<void> {
  while ((await target.unfinished(db)) > 0) await new Promise((r) => setTimeout(r, 250))
}

/** Sends `amount` commands as fast as the servers take them (32 connections each). */
async function send(servers: Server[], amount: number): Promise<number> {
  const results = await Promise.all(servers.map((s) => autocannon({ url: s.url, connections: 32, amount: Math.floor(amount / servers.length), requests: requests() })))
  return results.reduce((sum, r) => sum + r['2xx'], 0)
}

/** Accepts `amount` commands quickly, then measures their execution once all have finished. */
async function execute(target: Target, servers: Server[], db: pg.Client, amount: number): Promise<{ rate: number; sent: number }> {
  await drained(target, db)
  const mark = await target.mark(db)
  const sent = await send(servers, amount)
  await drained(target, db)
  const { rate } = await target.executed(db, mark)
  return { rate, sent }
}

/** What `--quick` measures: accepted at saturation and executed with one process. */
type QuickFigures = Pick<Figures, 'accepted' | 'p50' | 'p99' | 'failures' | 'executedOne' | 'serverCpu'>

async function measure(target: Target, monitor: pg.Client): Promise<Figures>
async function measure(target: Target, monitor: pg.Client, quick: true): Promise<QuickFigures>
async function measure(target: Target, monitor: pg.Client, quick = false): Promise<Figures | QuickFigures> {
  const scope = runScope()
  try {
    const databaseUrl = await createTestDatabase(scope, 'bench_orch')
    const database = new URL(databaseUrl).pathname.slice(1)
    const db = new pg.Client({ connectionString: databaseUrl })
    const one = await target.start(databaseUrl)
    scope.teardown(() => one.stop())
    await db.connect()
    scope.teardown(() => db.end())
    const pid = one.child.pid!
    const rssStart = quick ? 0 : await settledRss(pid)
    const heapStart = quick ? 0 : await liveHeap(pid)
    let handled = 0
    const quickCpu = cpuSeconds(pid)

    const saturated = await autocannon({ url: one.url, connections: 32, duration: ACCEPT_SECONDS, requests: requests() })
    handled += saturated['2xx']
    if (quick) {
      const { rate, sent } = await execute(target, [one], db, EXECUTE_COMMANDS)
      // CPU per command over both phases: a figure a busy machine distorts less than a rate.
      const serverCpu = ((cpuSeconds(pid) - quickCpu) / (handled + sent)) * 1000
      return { accepted: saturated['2xx'] / ACCEPT_SECONDS, p50: saturated.latency.p50, p99: saturated.latency.p99, failures: saturated.non2xx + saturated.errors, executedOne: rate, serverCpu }
    }
    // Latency at a steady load the process sustains, rather than queueing at saturation.
    await drained(target, db)
    const steady = await autocannon({ url: one.url, connections: 16, duration: ACCEPT_SECONDS, overallRate: STEADY_RATE, requests: requests() })
    handled += steady['2xx']
    await drained(target, db)
    const rssWarm = await settledRss(pid)
    const heapWarm = await liveHeap(pid)

    // CPU and commits per command over accepting and executing EXECUTE_COMMANDS commands.
    const backends = new BackendCpu(monitor, database)
    await backends.start()
    const [cpuBefore, commitsBefore] = [cpuSeconds(pid), await commits(monitor, database)]
    const single = await execute(target, [one], db, EXECUTE_COMMANDS)
    const serverCpu = cpuSeconds(pid) - cpuBefore
    const databaseCpu = await backends.stop()
    // Stats reach pg_stat_database when a backend goes idle (at most every PGSTAT_MIN_INTERVAL, 1 s).
    await new Promise((r) => setTimeout(r, 1500))
    const commitsPerCommand = ((await commits(monitor, database)) - commitsBefore) / single.sent

    await send([one], Math.max(0, MEMORY_COMMANDS - handled - single.sent))
    await drained(target, db)
    const rss100k = await settledRss(pid)
    const heap100k = await liveHeap(pid)

    // A second replica of the same deployment: both execute.
    const two = await target.start(databaseUrl)
    scope.teardown(() => two.stop())
    const double = await execute(target, [one, two], db, EXECUTE_COMMANDS)

    return {
      accepted: saturated['2xx'] / ACCEPT_SECONDS,
      p50: saturated.latency.p50,
      p99: saturated.latency.p99,
      steadyP50: steady.latency.p50,
      steadyP99: steady.latency.p99,
      failures: saturated.non2xx + saturated.errors + steady.non2xx + steady.errors,
      executedOne: single.rate,
      executedTwo: double.rate,
      serverCpu: (serverCpu / single.sent) * 1000,
      databaseCpu: (databaseCpu / single.sent) * 1000,
      commitsPerCommand,
      rssStart,
      rssWarm,
      rss100k,
      heapStart,
      heapWarm,
      heap100k
    }
  } finally {
    await scope.close()
  }
}

/** Helix's UCF updates per second with 16 concurrent writers, on a fresh orchestrator schema. */
async function ucfRate(): Promise<number> {
  const scope = runScope()
  try {
    const databaseUrl = await createTestDatabase(scope, 'bench_ucf')
    const log = pino({ level: 'silent' })
    const database = createDatabase({ databaseUrl, dataDir: projectRoot, log })
    scope.teardown(() => database.close())
    const { migrations } = await import('../plugins/orchestrator/migrations.js')
    await database.migrate(migrations)
    const sql = new Sql(database.sequelize, databaseUrl)
    scope.teardown(() => sql.close())
    const bus = new MemoryBus({ historyLen: 10, source: 'bench', log })
    const ucf = new UcfService(sql, bus, new AlertService(sql, bus))
    const started = performance.now()
    let next = 0
    await Promise.all(Array.from({ length: 16 }, async () => {
      while (next++ < UCF_UPDATES) await ucf.apply({ resilience: 0.001 }, 'bench')
    }))
    return UCF_UPDATES / ((performance.now() - started) / 1000)
  } finally {
    await scope.close()
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** `--quick`: Helix alone, in the table form bench:observability reads (Helix in the second column). */
async function quickRuns(target: Target, monitor: pg.Client): Promise<void> {
  const runs: QuickFigures[] = []
  for (let run = 1; run <= RUNS; run++) {
    runs.push(await measure(target, monitor, true))
    console.error(`run ${run}/${RUNS} ${target.name} (quick): ${JSON.stringify(runs.at(-1), (_, v: unknown) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`)
  }
  const med = (key: keyof QuickFigures) => median(runs.map((f) => f[key]))
  printTable(`Orchestrator, quick (Helix only; median of ${RUNS} run${RUNS > 1 ? 's' : ''})`, ['measure', 'Helix'], [
    ['POST /api/agents/:slug/commands accepted (1 process, executing too)', `${Math.round(med('accepted'))}/s`],
    ['POST .../commands latency p50 / p99 at saturation', `${med('p50')} / ${med('p99')} ms`],
    ['POST .../commands non-2xx responses (all runs)', runs.reduce((s, f) => s + f.failures, 0)],
    [`STATUS executed end to end, 1 process (${EXECUTE_COMMANDS})`, `${Math.round(med('executedOne'))}/s`],
    ['CPU s per 1,000 commands accepted and executed: server process', `${med('serverCpu').toFixed(3)} s`]
  ])
}

async function fullRuns(targets: Target[], monitor: pg.Client): Promise<void> {
  const figures = new Map<Target, Figures[]>(targets.map((t) => [t, []]))
  const ucf: number[] = []
  for (let run = 1; run <= RUNS; run++) {
    // Alternate which system goes first, so neither always meets a warmer or a busier machine.
    for (const target of run % 2 ? targets : [...targets].reverse()) {
      const f = await measure(target, monitor)
      figures.get(target)!.push(f)
      console.error(`run ${run}/${RUNS} ${target.name}: ${JSON.stringify(f, (_, v: unknown) => (typeof v === 'number' ? Math.round(v * 100) / 100 : v))}`)
    }
    ucf.push(await ucfRate())
  }

  const med = (target: Target, key: keyof Figures) => median(figures.get(target)!.map((f) => f[key]))
  const [helix, boss] = targets as [Target, Target]
  const ratio = (key: keyof Figures, digits = 1) => `${(med(helix, key) / med(boss, key)).toFixed(digits)}x`
  const perSecond = (key: keyof Figures) => [`${Math.round(med(helix, key))}/s`, `${Math.round(med(boss, key))}/s`, ratio(key)]
  const latency = (a: keyof Figures, b: keyof Figures) => [`${med(helix, a)} / ${med(helix, b)} ms`, `${med(boss, a)} / ${med(boss, b)} ms`, '']
  const cpu = (key: keyof Figures) => [`${med(helix, key).toFixed(2)} s`, `${med(boss, key).toFixed(2)} s`, ratio(key, 2)]
  const rss = (t: Target) => `${med(t, 'rssStart')} / ${med(t, 'rssWarm')} / ${med(t, 'rss100k')} MiB`
  const heap = (t: Target) => `${med(t, 'heapStart')} / ${med(t, 'heapWarm')} / ${med(t, 'heap100k')} MiB`

  printTable(`Orchestrator vs pg-boss 12 (PostgreSQL + Redis, compiled server processes; median of ${RUNS} run${RUNS > 1 ? 's' : ''})`, ['measure', 'Helix', 'pg-boss reference', 'Helix / reference', 'target'], [
    ['POST /api/agents/:slug/commands accepted (1 process, executing too)', ...perSecond('accepted'), '>= 2x'],
    ['POST .../commands latency p50 / p99 at saturation', ...latency('p50', 'p99'), ''],
    [`POST .../commands latency p50 / p99 at a steady ${STEADY_RATE}/s`, ...latency('steadyP50', 'steadyP99'), '< 20 ms'],
    ['POST .../commands non-2xx responses (all runs)', ...targets.map((t) => figures.get(t)!.reduce((s, f) => s + f.failures, 0)), '', '0'],
    [`STATUS executed end to end, 1 process (${EXECUTE_COMMANDS})`, ...perSecond('executedOne'), '>= 2x'],
    [`STATUS executed end to end, 2 processes (${EXECUTE_COMMANDS})`, ...perSecond('executedTwo'), ''],
    ['CPU s per 1,000 commands accepted and executed: server process', ...cpu('serverCpu'), ''],
    ['CPU s per 1,000 commands: PostgreSQL backends of its database', ...cpu('databaseCpu'), ''],
    ['PostgreSQL commits per command', med(helix, 'commitsPerCommand').toFixed(2), med(boss, 'commitsPerCommand').toFixed(2), '', ''],
    [`RSS at start / after warm-up / after ${MEMORY_COMMANDS.toLocaleString('en')} commands (${RSS_SETTLE_MS / 1000} s idle)`, rss(helix), rss(boss), '', ''],
    [`V8 heap after a full GC at start / after warm-up / after ${MEMORY_COMMANDS.toLocaleString('en')} commands`, heap(helix), heap(boss), '', 'flat'],
    ['UCF updates (atomic, with history; 16 concurrent writers)', `${Math.round(median(ucf))}/s`, '-', '', '>= 2676/s (3x 892)']
  ])
}

const outer = runScope()
try {
  const prefix = redisPrefix(outer, 'bench-orch')
  const targets = [helixTarget(SECRET, redisUrl, prefix), pgBossTarget(SECRET)]
  const monitor = new pg.Client({ connectionString: baseDatabaseUrl })
  await monitor.connect()
  outer.teardown(() => monitor.end())
  if (QUICK) await quickRuns(targets[0]!, monitor)
  else await fullRuns(targets, monitor)
} finally {
  await outer.close()
}
