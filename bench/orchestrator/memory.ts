// `npm run build:bench && node dist/bench/orchestrator/memory.js [--steps 20000,...] [--idle 5000,30000]
// [--snapshots 20000,100000] [--sample 20000 --sample-kind promoted|all]`: where the orchestrator's memory
// goes over many commands (issue 16). Starts one Helix orchestrator the way bench:orchestrator does, sends
// STATUS commands in batches and, after each batch has executed, prints its RSS once idle and its V8 heap
// before and after a full GC (read through the inspector, which SIGUSR1 opens on 127.0.0.1:9229), so heap
// growth can be told from memory V8 or malloc merely keep. --snapshots takes heap snapshots and prints
// which constructors grew between consecutive ones (writing a snapshot costs the server memory of its
// own, so RSS read after one, marked *, is not comparable); --sample prints the allocation sites of a batch.
import { once } from 'node:events'
import { createWriteStream, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import pg from 'pg'
import { createTestDatabase } from '../../test/helpers/db.js'
import { redisPrefix } from '../../test/helpers/redis.js'
import { printTable } from '../table.js'
import { Inspector } from './inspector.js'
import { requests, SECRET } from './load.js'
import { rssMiB } from './probes.js'
import { helixTarget } from './targets.js'

const { values: cli } = parseArgs({
  options: {
    steps: { type: 'string', default: '20000,40000,60000,80000,100000,200000' },
    snapshots: { type: 'string', default: '' },
    // When to read RSS after the queue has drained; bench:orchestrator reads it at 5 s.
    idle: { type: 'string', default: '5000' },
    // A batch (by its total) during which to sample allocations: those that outlive the young
    // generation (promoted), or all of them.
    sample: { type: 'string', default: '' },
    'sample-kind': { type: 'string', default: 'promoted' },
    'snapshot-dir': { type: 'string', default: '/tmp' }
  }
})
const totals = (list: string) => list.split(',').filter(Boolean).map(Number)
const STEPS = totals(cli.steps)
const SNAPSHOTS = new Set(totals(cli.snapshots))
const IDLE_MS = totals(cli.idle)
const SAMPLE = Number(cli.sample || NaN)
const SAMPLE_ALL = cli['sample-kind'] === 'all'

type Scope = { teardown(fn: () => unknown): void }
const fns: (() => unknown)[] = []
const scope: Scope = { teardown: (fn) => void fns.push(fn) }
const cleanUp = async () => {
  for (const fn of fns.splice(0).reverse()) await fn()
}
// An interrupted run still stops its server and drops its database and Redis keys.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanUp().finally(() => process.exit(130)))

interface Reading {
  commands: number
  /** RSS from /proc after each of IDLE_MS of idling, the first as bench:orchestrator reads it. */
  rss: number[]
  heapUsed: number
  heapTotal: number
  newSpace: number
  external: number
  heapUsedAfterGc: number
  heapTotalAfterGc: number
  rssAfterGc: number
  afterSnapshot: boolean
}

const MiB = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10
const MEMORY = `(() => {
  const m = process.memoryUsage()
  const spaces = process.getBuiltinModule('v8').getHeapSpaceStatistics()
  const newSpace = spaces.find((s) => s.space_name === 'new_space')?.space_size ?? 0
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, newSpace }
})()`

/** RSS once idle for each of IDLE_MS, then the heap before and after a full GC. */
async function read(inspector: Inspector, pid: number, commands: number, afterSnapshot: boolean): Promise<Reading> {
  const idleSince = Date.now()
  const rss: number[] = []
  for (const ms of IDLE_MS) {
    await new Promise((r) => setTimeout(r, idleSince + ms - Date.now()))
    rss.push(rssMiB(pid))
  }
  const before = await inspector.evaluate<Record<string, number>>(MEMORY)
  await inspector.send('HeapProfiler.collectGarbage')
  const after = await inspector.evaluate<Record<string, number>>(MEMORY)
  return {
    commands,
    rss,
    heapUsed: MiB(before.heapUsed!),
    heapTotal: MiB(before.heapTotal!),
    newSpace: MiB(before.newSpace!),
    external: MiB(before.external!),
    heapUsedAfterGc: MiB(after.heapUsed!),
    heapTotalAfterGc: MiB(after.heapTotal!),
    rssAfterGc: MiB(after.rss!),
    afterSnapshot
  }
}

/** Writes a heap snapshot of the server to `file`. */
async function snapshot(inspector: Inspector, file: string): Promise<void> {
  const out = createWriteStream(file)
  inspector.on('HeapProfiler.addHeapSnapshotChunk', (params) => out.write(params.chunk as string))
  await inspector.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false })
  out.end()
  await once(out, 'finish')
}

/** Object count and self size per constructor (node type and name) in a .heapsnapshot file. */
function byConstructor(file: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }
    nodes: number[]
    strings: string[]
  }
  const fields = snap.snapshot.meta.node_fields
  const [typeAt, nameAt, sizeAt] = [fields.indexOf('type'), fields.indexOf('name'), fields.indexOf('self_size')]
  const types = snap.snapshot.meta.node_types[0]
  const groups = new Map<string, { count: number; size: number }>()
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + typeAt]!]!
    // Strings and code are grouped by type: their "name" is their content.
    const key = ['object', 'closure', 'native'].includes(type) ? `${type} ${snap.strings[snap.nodes[i + nameAt]!]}` : `(${type})`
    const group = groups.get(key) ?? { count: 0, size: 0 }
    group.count++
    group.size += snap.nodes[i + sizeAt]!
    groups.set(key, group)
  }
  return groups
}

function printGrowth(first: string, last: string, label: string): void {
  const [a, b] = [byConstructor(first), byConstructor(last)]
  const rows = [...b.entries()]
    .map(([key, g]) => ({ key, count: g.count - (a.get(key)?.count ?? 0), size: g.size - (a.get(key)?.size ?? 0), total: g }))
    .sort((x, y) => y.size - x.size)
    .slice(0, 25)
  printTable(`Heap growth by constructor, ${label} (self size; top 25)`, ['constructor', 'objects +', 'self size + (KiB)', 'objects at end', 'self size at end (KiB)'],
    rows.map((r) => [r.key.slice(0, 70), r.count, Math.round(r.size / 1024), r.total.count, Math.round(r.total.size / 1024)]))
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: ProfileNode[]
}

/**
 * Starts sampling allocations. Without SAMPLE_ALL it keeps only the objects that survive the young
 * generation (those a scavenge frees are left out): what fills the old generation between full GCs,
 * and whose rate sets how far V8 lets the old generation grow past its live size.
 */
async function startSampling(inspector: Inspector): Promise<void> {
  await inspector.send('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: SAMPLE_ALL })
}

/** Stops sampling and prints the allocation sites (with two callers) by sampled bytes, per command. */
async function printSampled(inspector: Inspector, commands: number): Promise<void> {
  const { profile } = await inspector.send<{ profile: { head: ProfileNode } }>('HeapProfiler.stopSampling')
  const sites = new Map<string, number>()
  const frame = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${n.callFrame.lineNumber + 1}`
  let total = 0
  const walk = (node: ProfileNode, callers: string[]) => {
    if (node.selfSize > 0) {
      const key = [frame(node), ...callers.slice(-2).reverse()].join(' < ')
      sites.set(key, (sites.get(key) ?? 0) + node.selfSize)
      total += node.selfSize
    }
    for (const child of node.children) walk(child, [...callers, frame(node)])
  }
  walk(profile.head, [])
  const rows = [...sites.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30)
  printTable(`${SAMPLE_ALL ? 'Allocations' : 'Allocations outliving the young generation'} over ${commands.toLocaleString('en')} commands: ${Math.round(total / commands)} bytes per command (sampled)`,
    ['site < caller < caller', 'bytes per command'], rows.map(([site, bytes]) => [site.slice(0, 200), Math.round(bytes / commands)]))
}

async function drained(db: pg.Client, target: ReturnType<typeof helixTarget>): Promise<void> {
  while ((await target.unfinished(db)) > 0) await new Promise((r) => setTimeout(r, 250))
}

try {
  const target = helixTarget(SECRET, process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', redisPrefix(scope, 'bench-mem'))
  const databaseUrl = await createTestDatabase(scope, 'bench_mem')
  const server = await target.start(databaseUrl)
  scope.teardown(() => server.stop())
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  scope.teardown(() => db.end())
  const pid = server.child.pid!
  const inspector = await Inspector.open(pid)
  scope.teardown(() => inspector.close())

  const readings = [await read(inspector, pid, 0, false)]
  const snapshots: string[] = []
  let sent = 0
  for (const total of STEPS) {
    if (total === SAMPLE) await startSampling(inspector)
    const result = await autocannon({ url: server.url, connections: 32, amount: total - sent, requests: requests() })
    if (result.non2xx + result.errors > 0) console.error(`${result.non2xx} non-2xx responses, ${result.errors} errors`)
    await drained(db, target)
    if (total === SAMPLE) await printSampled(inspector, total - sent)
    sent = total
    readings.push(await read(inspector, pid, total, snapshots.length > 0))
    console.error(JSON.stringify(readings.at(-1)))
    if (SNAPSHOTS.has(total)) {
      const file = path.join(cli['snapshot-dir'], `helix-orchestrator-${pid}-${total}.heapsnapshot`)
      await snapshot(inspector, file)
      snapshots.push(file)
      console.error(`heap snapshot: ${file}`)
      // Writing it stalled the event loop, which under-pressure answers with 503s for a while.
      while ((await fetch(`${server.url}/health/ready`)).status !== 200) await new Promise((r) => setTimeout(r, 250))
    }
  }

  printTable('Helix orchestrator memory over commands (MiB; * read after a heap snapshot)',
    ['commands', ...IDLE_MS.map((ms) => `RSS ${ms / 1000} s idle`), 'heap used / total', 'new space', 'external', 'heap used / total after full GC', 'RSS after full GC'],
    readings.map((r) => [`${r.commands.toLocaleString('en')}${r.afterSnapshot ? ' *' : ''}`, ...r.rss, `${r.heapUsed} / ${r.heapTotal}`, r.newSpace, r.external,
      `${r.heapUsedAfterGc} / ${r.heapTotalAfterGc}`, r.rssAfterGc]))
  const taken = STEPS.filter((total) => SNAPSHOTS.has(total))
  for (let i = 1; i < snapshots.length; i++) printGrowth(snapshots[i - 1]!, snapshots[i]!, `${taken[i - 1]} to ${taken[i]} commands`)
} finally {
  await cleanUp()
}
