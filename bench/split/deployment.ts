// Helix deployments for the split benchmarks: one `all` process, or the monolith with dedicated
// `stream` (one or more replicas), `zapier` and `voice` processes, all on one Redis and one PostgreSQL
// database, each started from dist/ under `taskset` so that both shapes get the same CPUs. The `all`
// process runs the Discord bot, logged in to a fake Discord on loopback in this process.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { request } from 'undici'
import { projectRoot } from '../../core/paths.js'
import { CONTEXT_FRAME_FLAG } from '../../core/telemetry/index.js'
import { TEST_SECRET } from '../../test/helpers/build.js'
import { createTestDatabase } from '../../test/helpers/db.js'
import { freePort } from '../../test/helpers/net.js'
import { redisPrefix, sharedRedisUrl } from '../../test/helpers/redis.js'
import type { RealUnleash } from '../../test/helpers/unleash-server.js'
import { startFakeDiscord, type FakeDiscord } from '../../test/helpers/fake-discord/index.js'
import { scrape, total } from './prometheus.js'
import { adminToken } from './tokens.js'
import { stopChild } from '../../test/helpers/process.js'

type Scope = { teardown(fn: () => unknown): void }

/** The plugins that get a process of their own in the split shape. */
export const DEDICATED = ['stream', 'zapier', 'voice'] as const
export type Dedicated = (typeof DEDICATED)[number]
export type Shape = 'all' | 'split'

export const WEBHOOK_KEY = Buffer.alloc(24, 42)
const ZAPIER_SOURCES = JSON.stringify({ bench: { scheme: 'standard', secrets: [`whsec_${WEBHOOK_KEY.toString('base64')}`] } })
const READY_TIMEOUT_MS = 60_000

export interface HelixNode {
  /** `all`, `stream`, `stream-2`, `zapier`, `voice`. */
  name: string
  role: string
  url: string
  pid: number
  output(): string
}

export interface Deployment {
  shape: Shape
  monolith: HelixNode
  nodes: HelixNode[]
  /** The stream replicas (the monolith itself in the `all` shape). */
  streams: HelixNode[]
  databaseUrl: string
  redisPrefix: string
  /** The fake Discord the monolith's bot is logged in to, and the channel the bench's posts name. */
  discord: { fake: FakeDiscord; channelId: string }
  /** The monolith's own view: who owns each plugin now (discovery). */
  owners(): Promise<Record<string, 'all' | 'dedicated'>>
}

export interface DeploymentOptions {
  shape: Shape
  /** `taskset -c` list for every Helix process; unpinned when empty. */
  cpus: string
  streamReplicas?: number
  /** Per stream replica, a CPU list of its own (the scaling run); `cpus` otherwise. */
  streamCpus?: string[]
  /** Flags from this Unleash server (the drill); otherwise the dedicated flags are overridden on. */
  unleash?: RealUnleash
  env?: Record<string, string>
}

/** Load and settle knobs every process gets: the load comes from one address, far above the per-IP limits. */
function commonEnv(databaseUrl: string, prefix: string): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    HELIX_JWT_SECRET: TEST_SECRET,
    HOST: '127.0.0.1',
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    HELIX_WS_CONNECT_RATE: '1000000',
    HELIX_RATE_PUBLISH: '10000000',
    HELIX_RATE_WRITE: '10000000',
    HELIX_RATE_WEBHOOK: '10000000',
    VOICE_PROVIDER: 'local',
    HELIX_VOICE_QUEUE: '100000',
    ZAPIER_SOURCES
  }
}

/**
 * The bot's env, for the `all` process alone (the only role that runs the bot): no alert channel, so
 * alerts, failed commands and telemetry stay out of the channel the bench's posts name.
 */
function discordEnv(fake: FakeDiscord): Record<string, string> {
  return { DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.restUrl, DISCORD_TELEMETRY_MINUTES: '0' }
}

/** Until the monolith's bot holds its gateway session: a post asked for before it would wait in Redis. */
async function waitBotConnected(node: HelixNode): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (total(await scrape(node.url).catch(() => []), 'helix_bot_gateway_connected') !== 1) {
    if (Date.now() > deadline) throw new Error(`the bot of ${node.url} did not log in to the fake Discord:\n${node.output().slice(-4000)}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

async function waitReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
    const ok = await fetch(`${url}/health/ready`).then((r) => r.ok, () => false)
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`helix on ${url} did not become ready:\n${output().slice(-4000)}`)
}

/**
 * BENCH_SERVICE_NICE: the dedicated services' `nice` (default 0, the monolith's). Positive values give the
 * monolith the larger share of a shared core, as separate containers with their own CPU shares would.
 */
const SERVICE_NICE = Number(process.env.BENCH_SERVICE_NICE ?? 0)

/** `nice` and `taskset` exec node, so the child's pid is the Helix process's own. */
async function startNode(scope: Scope, name: string, role: string, port: number, cpus: string, env: Record<string, string>): Promise<HelixNode> {
  const script = path.join(projectRoot, 'dist/core/main.js')
  // Started as the image starts it (Dockerfile CMD).
  const node = [process.execPath, CONTEXT_FRAME_FLAG, script]
  const pinned = cpus ? ['taskset', '-c', cpus, ...node] : node
  const [command, ...args] = role !== 'all' && SERVICE_NICE !== 0 ? ['nice', '-n', String(SERVICE_NICE), ...pinned] : pinned
  const url = `http://127.0.0.1:${port}`
  const child = spawn(command, args, {
    cwd: projectRoot,
    env: { PATH: process.env.PATH, ...env, HELIX_ROLE: role, PORT: String(port), HELIX_PUBLIC_URL: url },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-64 * 1024))
  child.stdout!.on('data', keep)
  child.stderr!.on('data', keep)
  scope.teardown(() => stopChild(child))
  await waitReady(url, child, () => out)
  return { name, role, url, pid: child.pid!, output: () => out }
}

/** PUT /admin/flags/helix.<p>.dedicated on, again while it answers 409 no_ready_owner (the service not yet announced). */
export async function overrideDedicated(monolith: string, plugin: string, enabled: boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  for (;;) {
    const res = await request(`${monolith}/admin/flags/helix.${plugin}.dedicated`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ enabled })
    })
    const text = await res.body.text()
    if (res.statusCode === 200) return
    if (res.statusCode !== 409 || Date.now() > deadline) throw new Error(`PUT helix.${plugin}.dedicated answered ${res.statusCode}: ${text}`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

export async function discoveryOwners(url: string): Promise<Record<string, 'all' | 'dedicated'>> {
  const res = await fetch(`${url}/.well-known/helix.json`)
  const body = (await res.json()) as { plugins: Record<string, { owner: 'all' | 'dedicated' }> }
  return Object.fromEntries(Object.entries(body.plugins).map(([p, info]) => [p, info.owner]))
}

export async function waitOwners(url: string, want: Partial<Record<string, 'all' | 'dedicated'>>, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const owners = await discoveryOwners(url)
    if (Object.entries(want).every(([p, o]) => owners[p] === o)) return
    if (Date.now() > deadline) throw new Error(`owners stayed ${JSON.stringify(owners)}, wanted ${JSON.stringify(want)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

export async function deploy(scope: Scope, options: DeploymentOptions): Promise<Deployment> {
  const databaseUrl = await createTestDatabase(scope, `bench_${options.shape}`)
  const prefix = redisPrefix(scope, `bench-${options.shape}-${randomBytes(2).toString('hex')}`)
  const env: Record<string, string> = { ...commonEnv(databaseUrl, prefix), ...options.env }
  if (options.unleash) Object.assign(env, { UNLEASH_URL: options.unleash.url, UNLEASH_API_TOKEN: options.unleash.clientToken })
  // Closed after the Helix processes (teardowns run in reverse), so the bot does not reconnect meanwhile.
  const fake = await startFakeDiscord()
  scope.teardown(() => fake.close())
  const discord = { fake, channelId: fake.guild.channels.text.id }
  if (options.shape === 'all') {
    const monolith = await startNode(scope, 'all', 'all', await freePort(), options.cpus, { ...env, ...discordEnv(fake) })
    await waitBotConnected(monolith)
    return { shape: 'all', monolith, nodes: [monolith], streams: [monolith], databaseUrl, redisPrefix: prefix, discord, owners: () => discoveryOwners(monolith.url) }
  }
  const replicas = options.streamReplicas ?? 1
  const ports = { all: await freePort(), zapier: await freePort(), voice: await freePort(), stream: [] as number[] }
  for (let i = 0; i < replicas; i++) ports.stream.push(await freePort())
  const at = (port: number) => `http://127.0.0.1:${port}`
  // Every stream replica is reached through the first one's URL, as behind a load balancer with one name.
  const services = `stream=${at(ports.stream[0])},zapier=${at(ports.zapier)},voice=${at(ports.voice)}`
  Object.assign(env, { HELIX_SERVICE_URLS: services, HELIX_PUBLIC_URLS: `all=${at(ports.all)},${services}` })
  // The monolith first: it migrates the database the services then find ready.
  const monolith = await startNode(scope, 'all', 'all', ports.all, options.cpus, { ...env, ...discordEnv(fake) })
  const services$ = [
    ...ports.stream.map((port, i) => startNode(scope, i === 0 ? 'stream' : `stream-${i + 1}`, 'stream', port, options.streamCpus?.[i] ?? options.cpus, env)),
    startNode(scope, 'zapier', 'zapier', ports.zapier, options.cpus, env),
    startNode(scope, 'voice', 'voice', ports.voice, options.cpus, env)
  ]
  const started = await Promise.all(services$)
  if (!options.unleash) for (const plugin of DEDICATED) await overrideDedicated(monolith.url, plugin, true)
  await waitOwners(monolith.url, Object.fromEntries(DEDICATED.map((p) => [p, 'dedicated'])))
  await waitBotConnected(monolith)
  return {
    shape: 'split',
    monolith,
    nodes: [monolith, ...started],
    streams: started.filter((n) => n.role === 'stream'),
    databaseUrl,
    redisPrefix: prefix,
    discord,
    owners: () => discoveryOwners(monolith.url)
  }
}
