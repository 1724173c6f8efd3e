// `npm run bench:split`: the mixed workload of issue 17 against (a) one `all` process and (b) the
// monolith plus dedicated stream, zapier and voice processes (ownership flags on through
// PUT /admin/flags once each is a ready live owner), same Redis and PostgreSQL, same CPUs (every
// Helix process pinned with taskset to BENCH_HELIX_CPUS, the load processes to BENCH_LOAD_CPUS).
// Lost work: commands, webhooks, and Discord posts (discord_notification webhooks through the Zapier
// pipeline to the monolith's bot, counted in the fake Discord's channel). Then the stream service
// scaled: two replicas against one. Knobs: bench/split/workload.ts. Progress lines go to stderr.
import { printTable } from './table.js'
import { deploy, type Deployment, type Shape } from './split/deployment.js'
import { DISCORD_LABEL, type LoadReport } from './split/messages.js'
import { machine } from './split/procfs.js'
import { progress } from './split/progress.js'
import { cpuMeter, knobs, lostPosts, lostWork, startWorkload, type LostPosts, type LostWork } from './split/workload.js'

const SCALE_EVENT_RATE = Number(process.env.BENCH_SCALE_EVENT_RATE ?? 50)
/** CPU list per stream replica in the scaling run, `;`-separated: the second replica gets a core of its own. */
const SCALE_CPUS = (process.env.BENCH_SCALE_STREAM_CPUS ?? '1;0').split(';')
const MONOLITH_ROUTES = ['GET /api/agents', 'POST /api/agents/:id/commands']

/** `reports`: the measured window; `final`: after the load stopped and the answers in flight came in. */
interface Run { shape: Shape; deployment: Deployment; reports: LoadReport[]; final: LoadReport[]; cpu: Record<string, number>; seconds: number; lost: LostWork; posts: LostPosts }

const say = progress('split')

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A scope whose teardowns run when the run ends, so each shape starts on a quiet machine. */
function scope() {
  const fns: (() => unknown)[] = []
  return { teardown: (fn: () => unknown) => void fns.push(fn), async close() { for (const fn of fns.reverse()) await fn() } }
}

async function measure(shape: Shape): Promise<Run> {
  const s = scope()
  const step = (message: string) => say(`${shape === 'all' ? '(a) all' : '(b) split'}: ${message}`)
  try {
    step('deploying')
    const deployment = await deploy(s, { shape, cpus: knobs.helixCpus })
    step(`starting the load (${knobs.wsClients} WebSocket clients connect first)`)
    // (b): WebSocket clients follow discovery to the stream service, as real clients do.
    const workload = await startWorkload(s, deployment, { connect: 'discover' })
    step(`warm-up ${knobs.warmupSeconds} s`)
    await sleep(knobs.warmupSeconds * 1000)
    workload.mark()
    const cpu = cpuMeter(deployment)
    const t0 = performance.now()
    step(`measuring ${knobs.seconds} s`)
    await sleep(knobs.seconds * 1000)
    const used = cpu()
    const seconds = (performance.now() - t0) / 1000
    const reports = await workload.report()
    step('stopping the load (answers in flight, subscribers catching up)')
    const final = await workload.stop()
    step('waiting for the lost-work check (commands, webhooks, Discord posts)')
    const [lost, posts] = await Promise.all([lostWork(deployment.databaseUrl, final), lostPosts(deployment, final, workload.runId)])
    step('done; stopping the deployment')
    return { shape, deployment, reports, final, cpu: used, seconds, lost, posts }
  } finally {
    await s.close()
  }
}

async function scale(replicas: number): Promise<{ replicas: number; deliveries: number; p99: number; p50: number; missed: number }> {
  const s = scope()
  const step = (message: string) => say(`stream scaling, ${replicas} replica${replicas === 1 ? '' : 's'}: ${message}`)
  try {
    step('deploying')
    const deployment = await deploy(s, { shape: 'split', cpus: knobs.helixCpus, streamReplicas: replicas, streamCpus: SCALE_CPUS.slice(0, replicas) })
    // Behind a load balancer: the clients spread over the replicas.
    const connect = deployment.streams.map((n) => `${n.url.replace(/^http/, 'ws')}/ws`)
    step(`connecting ${knobs.wsClients} WebSocket clients`)
    const workload = await startWorkload(s, deployment, { connect, only: ['ws'], eventRate: SCALE_EVENT_RATE })
    step(`warm-up ${knobs.warmupSeconds} s`)
    await sleep(knobs.warmupSeconds * 1000)
    workload.mark()
    step(`measuring ${knobs.seconds} s`)
    await sleep(knobs.seconds * 1000)
    const [report] = await workload.report()
    step('stopping the load (subscribers catching up)')
    const [final] = await workload.stop()
    step('done; stopping the deployment')
    const delivery = report.labels.find((l) => l.label.startsWith('delivery'))
    return { replicas, deliveries: Math.round(report.ws!.deliveries / report.seconds), p50: delivery?.p50 ?? NaN, p99: delivery?.p99 ?? NaN, missed: final.ws!.missed }
  } finally {
    await s.close()
  }
}

const label = (r: Run) => (r.shape === 'all' ? '(a) one all process' : '(b) monolith + stream, zapier, voice')
const find = (r: Run, name: string) => r.reports.flatMap((x) => x.labels).find((l) => l.label === name)
const rate = (r: Run, name: string) => Math.round(((find(r, name)?.ok ?? 0) / r.seconds) * 10) / 10
const httpRequests = (r: Run) => r.reports.flatMap((x) => x.labels).filter((l) => !l.label.startsWith('delivery')).reduce((a, l) => a + l.ok + l.errors, 0)
const errorsOf = (r: Run) => r.reports.flatMap((x) => x.labels).reduce((a, l) => a + l.errors, 0)
const ws = (r: Run) => r.reports.find((x) => x.kind === 'ws')?.ws
const missed = (r: Run) => r.final.find((x) => x.kind === 'ws')?.ws?.missed ?? '-'

function printRuns(runs: Run[]): void {
  const m = machine()
  console.log(`\nbench:split on ${m.cpus} CPUs (${m.model}), ${m.ramGiB} GiB RAM; Helix pinned to CPU ${knobs.helixCpus}, load processes to CPU ${knobs.loadCpus}; Redis and PostgreSQL unpinned${process.env.BENCH_SERVICE_NICE ? `; dedicated services at nice ${process.env.BENCH_SERVICE_NICE}` : ''}.`)
  console.log(`Load: ${knobs.wsClients} WebSocket clients (following discovery) with ${knobs.eventRate} events/s published through the monolith, ${knobs.webhookRate} webhooks/s and ${knobs.discordRate} discord_notification webhooks/s (to the Zapier owner's discovery URL), ${knobs.ttsRate} TTS/s, ${knobs.apiRate} API requests/s (half GET /api/agents, half STATUS commands), ${knobs.dashboardRate} dashboard reads/s; ${knobs.warmupSeconds} s warm-up, ${knobs.seconds} s measured.`)
  const [a, b] = runs
  const rows: (string | number)[][] = []
  for (const route of MONOLITH_ROUTES) {
    for (const r of runs) {
      const l = find(r, route)
      rows.push([route, label(r), l?.p50 ?? '-', l?.p99 ?? '-', l?.max ?? '-', l?.errors ?? '-'])
    }
    const pa = find(a, route)?.p99
    const pb = find(b, route)?.p99
    if (pa && pb) rows.push([route, 'p99 change (b) vs (a)', '', `${(((pb - pa) / pa) * 100).toFixed(0)} %`, '', 'target: -30 % or better'])
  }
  printTable('bench:split — the monolith\'s own API latency (ms), measured by the load processes', ['route', 'deployment', 'p50', 'p99', 'max', 'errors'], rows)

  printTable('bench:split — throughput per capability (per second of the measured window)', ['capability', ...runs.map(label)], [
    ['WebSocket deliveries/s', ...runs.map((r) => Math.round((ws(r)?.deliveries ?? 0) / r.seconds))],
    ['delivery p50 / p99 (ms, publish to receive)', ...runs.map((r) => { const d = find(r, 'delivery (publish to receive)'); return d ? `${d.p50} / ${d.p99}` : '-' })],
    ['events published/s', ...runs.map((r) => rate(r, 'POST /api/stream/publish'))],
    ['webhooks accepted (202)/s', ...runs.map((r) => rate(r, 'POST /api/zapier/hooks/:source'))],
    ['Discord-post webhooks accepted (202)/s', ...runs.map((r) => rate(r, DISCORD_LABEL))],
    ['TTS syntheses/s', ...runs.map((r) => rate(r, 'POST /api/voice/synthesize'))],
    ['TTS p50 / p99 (ms)', ...runs.map((r) => { const d = find(r, 'POST /api/voice/synthesize'); return d ? `${d.p50} / ${d.p99}` : '-' })],
    ['commands accepted (202)/s', ...runs.map((r) => rate(r, 'POST /api/agents/:id/commands'))],
    ['dashboard reads/s', ...runs.map((r) => Math.round(r.reports.filter((x) => x.kind === 'dashboard').flatMap((x) => x.labels).reduce((s, l) => s + l.ok, 0) / r.seconds))],
    ['errors (HTTP non-2xx or failed)', ...runs.map(errorsOf)],
    ['requests skipped (512 in flight)', ...runs.map((r) => r.reports.reduce((s, x) => s + x.skipped, 0))],
    ['events missed by a subscriber (whole run)', ...runs.map(missed)],
    ['commands accepted / not finished', ...runs.map((r) => `${r.lost.commands.accepted} / ${r.lost.commands.unfinished}`)],
    ['webhooks accepted / not processed', ...runs.map((r) => `${r.lost.webhooks.accepted} / ${r.lost.webhooks.unprocessed}`)],
    ['Discord posts accepted (202) / posted / lost / duplicated', ...runs.map((r) => `${r.posts.accepted} / ${r.posts.posted} / ${r.posts.lost} / ${r.posts.duplicated}`)]
  ])

  const cpuRows: (string | number)[][] = []
  for (const r of runs) {
    const total = Object.values(r.cpu).reduce((x, y) => x + y, 0)
    for (const [name, s] of Object.entries(r.cpu)) cpuRows.push([label(r), name, s.toFixed(1), `${((s / r.seconds) * 100).toFixed(0)} %`])
    const requests = httpRequests(r)
    cpuRows.push([label(r), 'all Helix processes', total.toFixed(1), `${((total / r.seconds) * 100).toFixed(0)} %`])
    cpuRows.push([label(r), `CPU ms per HTTP request (${requests} requests; deliveries not counted)`, ((total * 1000) / requests).toFixed(2), ''])
  }
  printTable('bench:split — CPU seconds per process over the measured window (utime+stime+children, /proc/<pid>/stat)', ['deployment', 'process', 'CPU s', 'of one core'], cpuRows)

  const reasons = runs.flatMap((r) => r.reports.flatMap((x) => Object.entries(x.reasons).map(([k, v]) => [label(r), k, v] as (string | number)[])))
  if (reasons.length > 0) printTable('bench:split — why requests failed', ['deployment', 'answer', 'count'], reasons)
}

const runs = [await measure('all'), await measure('split')]
printRuns(runs)
// BENCH_SPLIT_SCALING=0 skips the scaling runs (e.g. to repeat the comparison with another BENCH_SERVICE_NICE).
if (process.env.BENCH_SPLIT_SCALING !== '0') {
  const scaled = [await scale(1), await scale(2)]
  printTable(`bench:split — stream scaling: ${knobs.wsClients} clients spread over the replicas, ${SCALE_EVENT_RATE} events/s; replica i pinned to CPU ${SCALE_CPUS.join(', then ')}`,
    ['stream replicas', 'deliveries/s', 'delivery p50 (ms)', 'delivery p99 (ms)', 'events missed'],
    scaled.map((s) => [s.replicas, s.deliveries, s.p50, s.p99, s.missed]))
}
process.exit(0)
