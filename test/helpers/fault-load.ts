// Load for the fault tests: command senders and webhook senders that remember every request Helix
// accepted (and how the others were refused), and stream subscribers that reconnect and resume with
// `since` as docs/protocol.md tells a client to, remembering every event they got.
import pg from 'pg'
import WebSocket from 'ws'
import { signTestToken } from './build.js'
import { startHelix, type HelixProcess, type StartOptions } from './process.js'
import { standardHeaders } from '../zapier/helpers.js'

export const AGENTS = ['kael', 'lumina', 'vega', 'gemini', 'agni', 'kavach', 'sanghacore', 'shadow', 'echo', 'phoenix', 'oracle', 'claude', 'manus', 'discordbridge']

/** Rate limits out of the way: the load comes from one subject and one address. */
export const LOAD_LIMITS = { HELIX_RATE_WRITE: '10000000', HELIX_RATE_WEBHOOK: '10000000', HELIX_RATE_PUBLISH: '10000000', HELIX_WS_CONNECT_RATE: '100000' }

/**
 * An inbound event whose run a fault interrupted (its claim, handler or finish failed, or its replica
 * died) is run again once its lease and queue entry have been idle ZAPIER_LEASE_MS (60 s by default):
 * 5 s keeps "every accepted webhook is processed" within the tests' bounds.
 */
export const ZAPIER_TAKEOVER = { ZAPIER_LEASE_MS: '5000' }

export const loadToken = signTestToken(['admin', 'agents:read', 'agents:write', 'stream:read', 'stream:publish', 'zapier', 'voice'])
export const authHeaders = { authorization: `Bearer ${loadToken}`, 'content-type': 'application/json' }

export interface Refusal {
  status: number
  error?: string
  ms: number
}

/** Requests sent in a loop by a few lanes until stopped; `accepted` holds the ids Helix answered 202 for. */
export class RequestLoad {
  readonly accepted: string[] = []
  readonly refused: Refusal[] = []
  private running = false
  private lanes: Promise<void>[] = []
  private n = 0

  constructor(
    private readonly target: () => string,
    private readonly send: (base: string, n: number) => Promise<Response>,
    private readonly options: { lanes?: number; pauseMs?: number; requestTimeoutMs?: number; okStatus?: number } = {}
  ) {}

  start(): this {
    this.running = true
    this.lanes = Array.from({ length: this.options.lanes ?? 4 }, () => this.lane())
    return this
  }

  async stop(): Promise<void> {
    this.running = false
    await Promise.all(this.lanes)
  }

  /** Sends `count` more requests and resolves when they are answered. */
  async burst(count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, () => this.once()))
  }

  private async lane(): Promise<void> {
    while (this.running) {
      await this.once()
      await new Promise((resolve) => setTimeout(resolve, this.options.pauseMs ?? 20))
    }
  }

  private async once(): Promise<void> {
    const startedAt = Date.now()
    try {
      const res = await Promise.race([
        this.send(this.target(), this.n++),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('hung')), this.options.requestTimeoutMs ?? 15_000))
      ])
      const body = (await res.json().catch(() => ({}))) as { id?: string; eventId?: string; error?: string }
      if (res.status === (this.options.okStatus ?? 202)) this.accepted.push(body.id ?? body.eventId ?? '')
      else this.refused.push({ status: res.status, error: body.error, ms: Date.now() - startedAt })
    } catch (err) {
      // A connection refused or reset (the process is gone): status 0; a hang: status -1.
      this.refused.push({ status: (err as Error).message === 'hung' ? -1 : 0, ms: Date.now() - startedAt })
    }
  }
}

/** Commands to the seed agents (MEMORY_APPEND, which has an effect to check); 202 means accepted. */
export function commandLoad(target: () => string, options?: ConstructorParameters<typeof RequestLoad>[2]): RequestLoad {
  return new RequestLoad(target, (base, n) => fetch(`${base}/api/agents/${AGENTS[n % AGENTS.length]}/commands`, {
    method: 'POST',
    headers: authHeaders,
    body: JSON.stringify({ command: 'MEMORY_APPEND', args: { content: `fault-${n}` } })
  }), options)
}

/** Signed Standard Webhooks to source `zap` of test/zapier/helpers.ts' SOURCES; 202 means stored. */
export function webhookLoad(target: () => string, options?: ConstructorParameters<typeof RequestLoad>[2]): RequestLoad {
  return new RequestLoad(target, (base, n) => {
    const body = JSON.stringify({ type: 'fault_note', data: { n } })
    return fetch(`${base}/api/zapier/hooks/zap`, { method: 'POST', body, headers: standardHeaders(body) })
  }, options)
}

/** Counts refusals by status (and error code), for an assertion message. */
export function summarise(refused: readonly Refusal[]): string {
  const counts = new Map<string, number>()
  for (const r of refused) counts.set(`${r.status}${r.error ? ` ${r.error}` : ''}`, (counts.get(`${r.status}${r.error ? ` ${r.error}` : ''}`) ?? 0) + 1)
  return [...counts].map(([k, v]) => `${v}x ${k}`).join(', ') || 'none'
}

interface Position {
  id: string
  epoch: string
}

interface EventFrame {
  op: 'event'
  channel: string
  id: string
  epoch: string
  type: string
  data: unknown
}

/**
 * A stream client following docs/protocol.md: it subscribes, keeps the position of the last event per
 * channel, and after any close reconnects (to the URL `url()` gives then) and resumes with `since`.
 * It records every event, every reconnect, and every resume the server could not honour.
 */
export class ResumingSubscriber {
  readonly events: EventFrame[] = []
  readonly positions = new Map<string, Position>()
  /** Resubscribes answered `recovered: false` although `since` was given, by channel. */
  readonly gaps: { channel: string; since: Position; epoch: string }[] = []
  connects = 0
  closes: number[] = []
  private ws: WebSocket | null = null
  private closed = false
  private open = false
  private readonly listeners = new Set<() => void>()

  constructor(private readonly url: () => string, private readonly channels: readonly string[]) {}

  start(): this {
    this.connect()
    return this
  }

  isOpen(): boolean {
    return this.open
  }

  stop(): void {
    this.closed = true
    this.ws?.terminate()
  }

  /** Resolves once `check` holds, re-checked on each frame (or every 100 ms), or rejects after `ms`. */
  async until(check: () => boolean, what: string, ms: number): Promise<void> {
    const deadline = Date.now() + ms
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`subscriber timed out waiting for ${what} (connects ${this.connects}, closes ${this.closes.join(',')}, events ${this.events.length})`)
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer)
          this.listeners.delete(done)
          resolve()
        }
        const timer = setTimeout(done, 100)
        this.listeners.add(done)
      })
    }
  }

  private notify(): void {
    for (const l of [...this.listeners]) l()
  }

  private connect(): void {
    if (this.closed) return
    const ws = new WebSocket(`${this.url().replace(/^http/, 'ws')}/ws?token=${encodeURIComponent(loadToken)}`)
    this.ws = ws
    const since: Record<string, Position> = {}
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as { op: string; channel?: string; recovered?: boolean; offset?: string; epoch?: string } & Partial<Omit<EventFrame, 'op'>>
      if (frame.op === 'welcome') {
        for (const c of this.channels) {
          const p = this.positions.get(c)
          if (p) since[c] = p
        }
        ws.send(JSON.stringify({ op: 'subscribe', channels: this.channels, since }))
      } else if (frame.op === 'subscribed') {
        const channel = frame.channel!
        if (since[channel] && !frame.recovered) this.gaps.push({ channel, since: since[channel], epoch: frame.epoch! })
        if (!frame.recovered || !this.positions.has(channel)) this.positions.set(channel, { id: frame.offset!, epoch: frame.epoch! })
        this.open = true
      } else if (frame.op === 'event') {
        this.events.push(frame as EventFrame)
        this.positions.set(frame.channel!, { id: frame.id!, epoch: frame.epoch! })
      }
      this.notify()
    })
    ws.on('open', () => this.connects++)
    ws.on('error', () => {})
    ws.on('close', (code) => {
      this.open = false
      this.closes.push(code)
      this.notify()
      if (!this.closed) setTimeout(() => this.connect(), 100)
    })
  }
}

/** One query on its own connection (the fault tests' view of what the database holds). */
export async function query<R extends pg.QueryResultRow>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    return (await client.query<R>(sql, params)).rows
  } finally {
    await client.end()
  }
}

/** How many of `ids` each status holds, e.g. {succeeded: 120}; ids the table lacks count as `missing`. */
export async function statusesOf(databaseUrl: string, table: 'orchestrator_commands' | 'zapier_events', ids: readonly string[]): Promise<Record<string, number>> {
  const rows = await query<{ id: string; status: string }>(databaseUrl, `SELECT id::text AS id, status FROM ${table} WHERE id::text = ANY($1::text[])`, [ids])
  const counts: Record<string, number> = {}
  for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1
  const missing = ids.length - rows.length
  if (missing > 0) counts.missing = missing
  return counts
}

/** Ids of accepted commands for which the subscriber saw no final `command.updated`. */
export function unseenFinals(subscriber: ResumingSubscriber, ids: readonly string[]): string[] {
  const finals = new Set<string>()
  for (const e of subscriber.events) {
    const data = e.data as { id?: string; status?: string } | null
    if (e.type === 'command.updated' && data?.id && ['succeeded', 'failed', 'timed_out', 'cancelled'].includes(data.status ?? '')) finals.add(data.id)
  }
  return ids.filter((id) => !finals.has(id))
}

const FINAL = { orchestrator_commands: ['succeeded', 'failed', 'timed_out', 'cancelled'], zapier_events: ['processed', 'failed'] }

/**
 * Waits until none of `ids` is still in progress in `table` (a missing row never comes back, so it
 * does not hold the wait up) and returns the counts by status; after `ms` returns them as they are.
 */
export async function settledStatuses(databaseUrl: string, table: keyof typeof FINAL, ids: readonly string[], ms: number): Promise<Record<string, number>> {
  const deadline = Date.now() + ms
  for (;;) {
    const counts = await statusesOf(databaseUrl, table, ids)
    const pending = Object.keys(counts).filter((s) => s !== 'missing' && !FINAL[table].includes(s))
    if (pending.length === 0 || Date.now() > deadline) return counts
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** The rows of `ids` that did not end well, for an assertion message. */
export function notSucceeded(databaseUrl: string, ids: readonly string[]): Promise<unknown[]> {
  return query(databaseUrl, `SELECT id::text AS id, status, error FROM orchestrator_commands WHERE id::text = ANY($1::text[]) AND status <> 'succeeded'`, [ids])
}

type FailableTest = { teardown(fn: () => unknown): void; passing(): boolean }

/**
 * Returns `keep(process, label)`: when the test has failed by its end, the output of every process
 * kept is printed to stderr (the last 30,000 characters each), so a CI failure can be diagnosed.
 */
export function outputOnFailure(t: FailableTest): (p: HelixProcess, label: string) => HelixProcess {
  const kept: [string, HelixProcess][] = []
  t.teardown(() => {
    if (t.passing()) return
    for (const [label, p] of kept) console.error(`\n----- output of ${label} (${p.url}, pid ${p.child.pid}) -----\n${p.output().slice(-30_000)}`)
  })
  return (p, label) => {
    kept.push([label, p])
    return p
  }
}

type Keep = ReturnType<typeof outputOnFailure>

/**
 * startHelix, kept by `keep` from the moment it is spawned, so the output of a process that never
 * becomes ready (or dies booting) is printed too; resolves once /health/ready answers 200.
 */
export async function startKept(t: FailableTest, keep: Keep, label: string, options: StartOptions & { timeoutMs: number }): Promise<HelixProcess> {
  const p = keep(await startHelix(t, { ...options, waitFor: 'none' }), label)
  const deadline = Date.now() + options.timeoutMs
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null
  void p.exited.then((e) => (exit = e))
  while (Date.now() < deadline) {
    if (exit) throw new Error(`${label} exited while booting (${JSON.stringify(exit)}); its output is printed below`)
    const ok = await fetch(`${p.url}/health/ready`, { signal: AbortSignal.timeout(5000) }).then((r) => r.ok, () => false)
    if (ok) return p
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`${label} not ready within ${options.timeoutMs} ms; its output is printed below`)
}
