// The mixed workload of issue 17 against a deployment: WebSocket fan-out, inbound webhooks, TTS,
// commands and dashboard reads, each from a load process of its own, every one through the
// monolith's URL (WebSocket clients may follow discovery instead), and the accounting around it:
// CPU seconds per Helix process over the measured window, and the lost-work checks.
import pg from 'pg'
import { cpuSeconds } from './procfs.js'
import { WEBHOOK_KEY, type Deployment } from './deployment.js'
import { startLoad, type LoadProcess } from './load-process.js'
import type { LoadReport, LoadSpec, WsLoadSpec } from './messages.js'
import { adminToken } from './tokens.js'

type Scope = { teardown(fn: () => unknown): void }

const num = (name: string, fallback: number) => (process.env[name] === undefined ? fallback : Number(process.env[name]))

/** The defaults; every one an environment knob for short validation runs. */
export const knobs = {
  wsClients: num('BENCH_WS_CLIENTS', 2000),
  eventRate: num('BENCH_EVENT_RATE', 10),
  webhookRate: num('BENCH_WEBHOOK_RATE', 100),
  ttsRate: num('BENCH_TTS_RATE', 2),
  apiRate: num('BENCH_API_RATE', 100),
  dashboardRate: num('BENCH_DASHBOARD_RATE', 20),
  seconds: num('BENCH_SECONDS', 60),
  warmupSeconds: num('BENCH_WARMUP_SECONDS', 10),
  helixCpus: process.env.BENCH_HELIX_CPUS ?? '1',
  loadCpus: process.env.BENCH_LOAD_CPUS ?? '0'
}

export const BENCH_CHANNEL = 'ucf:splitbench'

export interface Workload {
  loads: LoadProcess[]
  mark(): void
  /** The measured window so far, from every load. */
  report(): Promise<LoadReport[]>
  /** Stops every load (the WebSocket one last, so its subscribers catch up); the final reports. */
  stop(): Promise<LoadReport[]>
}

async function firstAgent(url: string, token: string): Promise<string> {
  const res = await fetch(`${url}/api/agents?limit=1`, { headers: { authorization: `Bearer ${token}` } })
  const page = (await res.json()) as { items: { id: string }[] }
  if (!page.items[0]) throw new Error(`GET /api/agents answered ${res.status} with no agent`)
  return page.items[0].id
}

/**
 * Where Zapier's webhooks and TTS requests go: `discovery` (default) sends them to the URL discovery names
 * for the plugin's owner, as a Zap configured with the Zapier service's URL or a client that reads
 * discovery would; `monolith` sends everything to the monolith, which proxies.
 */
const route = process.env.BENCH_ROUTE === 'monolith' ? 'monolith' : 'discovery'

async function ownerUrl(url: string, plugin: string): Promise<string> {
  if (route === 'monolith') return url
  const res = await fetch(`${url}/.well-known/helix.json`)
  const body = (await res.json()) as { plugins: Record<string, { url?: string } | undefined> }
  return body.plugins[plugin]?.url ?? url
}

export async function startWorkload(scope: Scope, deployment: Deployment, options: { connect: WsLoadSpec['connect']; only?: LoadSpec['kind'][]; eventRate?: number }): Promise<Workload> {
  const token = adminToken()
  const url = deployment.monolith.url
  const agentId = await firstAgent(url, token)
  const specs: LoadSpec[] = [
    { kind: 'ws', url, token, clients: knobs.wsClients, rate: options.eventRate ?? knobs.eventRate, channel: BENCH_CHANNEL, connect: options.connect },
    { kind: 'api', url, token, rate: knobs.apiRate, agentId },
    { kind: 'dashboard', url, token, rate: knobs.dashboardRate },
    { kind: 'zapier', url: await ownerUrl(url, 'zapier'), token, rate: knobs.webhookRate, webhookKey: WEBHOOK_KEY.toString('base64') },
    { kind: 'voice', url: await ownerUrl(url, 'voice'), token, rate: knobs.ttsRate }
  ]
  const wanted = specs.filter((s) => (!options.only || options.only.includes(s.kind)) && s.rate > 0)
  // The subscribers connect first, so the HTTP load starts on a settled stream.
  const loads: LoadProcess[] = []
  for (const spec of wanted) loads.push(await startLoad(scope, spec, knobs.loadCpus))
  return {
    loads,
    mark: () => loads.forEach((l) => l.mark()),
    report: () => Promise.all(loads.map((l) => l.report())),
    async stop() {
      const http = await Promise.all(loads.filter((l) => l.spec.kind !== 'ws').map((l) => l.stop()))
      const ws = await Promise.all(loads.filter((l) => l.spec.kind === 'ws').map((l) => l.stop()))
      return [...ws, ...http]
    }
  }
}

/** CPU seconds of each Helix process between two calls. */
export function cpuMeter(deployment: Deployment): () => Record<string, number> {
  const at = Object.fromEntries(deployment.nodes.map((n) => [n.name, cpuSeconds(n.pid)]))
  return () => Object.fromEntries(deployment.nodes.map((n) => [n.name, cpuSeconds(n.pid) - at[n.name]]))
}

export interface LostWork { commands: { accepted: number; unfinished: number }; webhooks: { accepted: number; unprocessed: number } }

/**
 * Every 202-accepted command reaches a final state and every accepted webhook is processed, waited
 * for up to `timeoutMs` (the queues drain after the load stops).
 */
export async function lostWork(databaseUrl: string, reports: readonly LoadReport[], timeoutMs = 60_000): Promise<LostWork> {
  const commands = reports.filter((r) => r.kind === 'api').flatMap((r) => r.accepted)
  const webhooks = reports.filter((r) => r.kind === 'zapier').flatMap((r) => r.accepted)
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  try {
    const count = async (sql: string, ids: string[]) => (ids.length === 0 ? 0 : Number((await db.query<{ n: string }>(sql, [ids])).rows[0].n))
    const finished = () => count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE id = ANY($1::uuid[]) AND status IN ('succeeded', 'failed', 'timed_out', 'cancelled')`, commands)
    const processed = () => count(`SELECT COUNT(*) AS n FROM zapier_events WHERE id = ANY($1::uuid[]) AND status = 'processed'`, webhooks)
    const deadline = Date.now() + timeoutMs
    let done = { commands: await finished(), webhooks: await processed() }
    while ((done.commands < commands.length || done.webhooks < webhooks.length) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
      done = { commands: await finished(), webhooks: await processed() }
    }
    return {
      commands: { accepted: commands.length, unfinished: commands.length - done.commands },
      webhooks: { accepted: webhooks.length, unprocessed: webhooks.length - done.webhooks }
    }
  } finally {
    await db.end()
  }
}
