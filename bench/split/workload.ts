// The mixed workload of issue 17 against a deployment: WebSocket fan-out, inbound webhooks (some of
// them Discord posts), TTS, commands and dashboard reads, each from a load process of its own (webhooks
// and TTS to their owner's discovery URL, the rest to the monolith's), and the accounting around it:
// CPU seconds per Helix process over the measured window, and the lost-work checks.
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { cpuSeconds } from './procfs.js'
import { WEBHOOK_KEY, type Deployment } from './deployment.js'
import { startLoad, type LoadProcess } from './load-process.js'
import { postNumber, type HttpLoadSpec, type LoadReport, type LoadSpec, type WsLoadSpec } from './messages.js'
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
  /** Discord posts asked for by webhook per second; the bot posts at most 10 per 1.1 s to one channel. */
  discordRate: num('BENCH_DISCORD_RATE', 5),
  seconds: num('BENCH_SECONDS', 60),
  warmupSeconds: num('BENCH_WARMUP_SECONDS', 10),
  helixCpus: process.env.BENCH_HELIX_CPUS ?? '1',
  loadCpus: process.env.BENCH_LOAD_CPUS ?? '0'
}

export const BENCH_CHANNEL = 'ucf:splitbench'

export interface Workload {
  loads: LoadProcess[]
  /** Tells this run's Discord posts apart (the fake Discord of a deployment serves one run, but to be sure). */
  runId: string
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
 * for the plugin's owner, as a client that reads discovery would: re-read every few seconds, and at once
 * when a former owner answers `503 not_owner` naming the new one (bench/split/load.ts), so a flip back
 * to the monolith reaches it; `monolith` sends everything to the monolith, which proxies.
 */
const route = process.env.BENCH_ROUTE === 'monolith' ? 'monolith' : 'discovery'

/** The target of a load for `plugin`: its owner's URL now, followed through flips; or the monolith's. */
async function ownerTarget(url: string, plugin: string): Promise<Pick<HttpLoadSpec, 'url' | 'follow'>> {
  if (route === 'monolith') return { url }
  const res = await fetch(`${url}/.well-known/helix.json`)
  const body = (await res.json()) as { plugins: Record<string, { url?: string } | undefined> }
  return { url: body.plugins[plugin]?.url ?? url, follow: { plugin, discoveryUrl: url } }
}

export async function startWorkload(scope: Scope, deployment: Deployment, options: { connect: WsLoadSpec['connect']; only?: LoadSpec['kind'][]; eventRate?: number }): Promise<Workload> {
  const token = adminToken()
  const url = deployment.monolith.url
  const agentId = await firstAgent(url, token)
  const zapier = await ownerTarget(url, 'zapier')
  const runId = `${deployment.shape}-${randomBytes(3).toString('hex')}`
  const webhookKey = WEBHOOK_KEY.toString('base64')
  const specs: LoadSpec[] = [
    { kind: 'ws', url, token, clients: knobs.wsClients, rate: options.eventRate ?? knobs.eventRate, channel: BENCH_CHANNEL, connect: options.connect },
    { kind: 'api', url, token, rate: knobs.apiRate, agentId },
    { kind: 'dashboard', url, token, rate: knobs.dashboardRate },
    { kind: 'zapier', ...zapier, token, rate: knobs.webhookRate, webhookKey },
    { kind: 'discord', ...zapier, token, rate: knobs.discordRate, webhookKey, channelId: deployment.discord.channelId, runId },
    { kind: 'voice', ...(await ownerTarget(url, 'voice')), token, rate: knobs.ttsRate }
  ]
  const wanted = specs.filter((s) => (!options.only || options.only.includes(s.kind)) && s.rate > 0)
  // The subscribers connect first, so the HTTP load starts on a settled stream.
  const loads: LoadProcess[] = []
  for (const spec of wanted) loads.push(await startLoad(scope, spec, knobs.loadCpus))
  return {
    loads,
    runId,
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

export interface LostPosts { accepted: number; posted: number; lost: number; duplicated: number; waitedMs: number }

/**
 * Discord posts: of the posts whose webhook was answered 202 (in the measured window), how many reached
 * the fake Discord's channel, waited for up to `timeoutMs` after the load stopped (the pipeline and the
 * bot's pacing drain); lost = accepted, never posted. Duplicated: extra copies of an accepted post (the
 * pipeline is at-least-once), counted apart.
 */
export async function lostPosts(deployment: Deployment, reports: readonly LoadReport[], runId: string, timeoutMs = 60_000): Promise<LostPosts> {
  const accepted = new Set(reports.filter((r) => r.kind === 'discord').flatMap((r) => r.accepted.map(Number)))
  const { fake, channelId } = deployment.discord
  const copies = () => {
    const seen = new Map<number, number>()
    for (const message of fake.messages(channelId)) {
      for (const embed of message.embeds) {
        const n = postNumber(embed.description, runId)
        if (n !== null && accepted.has(n)) seen.set(n, (seen.get(n) ?? 0) + 1)
      }
    }
    return seen
  }
  const started = Date.now()
  let seen = copies()
  while (seen.size < accepted.size && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    seen = copies()
  }
  const duplicated = [...seen.values()].reduce((n, c) => n + c - 1, 0)
  return { accepted: accepted.size, posted: seen.size, lost: accepted.size - seen.size, duplicated, waitedMs: Date.now() - started }
}
