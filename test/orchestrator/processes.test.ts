// Two orchestrator processes of one deployment (one PostgreSQL, one Redis namespace): 2,000 commands
// accepted by both run exactly once, one at a time per agent, none lost; then the process running
// the workers is killed with SIGKILL mid-run and every accepted command still finishes, and every
// final status still reaches the bus (the outbox: a kill between commit and publish loses no event).
import { Redis } from 'ioredis'
import t from 'tap'
import pg from 'pg'
import { build, tokenFor } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { startHelix, type HelixProcess } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const AGENTS = ['kael', 'lumina', 'vega', 'gemini', 'agni', 'kavach', 'sanghacore', 'shadow', 'echo', 'phoenix', 'oracle', 'claude', 'manus', 'discordbridge']
/** A command as the client saw it: its id and when its request went out and its 202 came back. */
interface Sent {
  id: string
  agent: string
  sentAt: number
  ackedAt: number
}

async function sendAll(procs: HelixProcess[], token: string, count: number, marker: string): Promise<Sent[]> {
  const sent: Sent[] = new Array(count)
  let next = 0
  const lanes = Array.from({ length: 24 }, async () => {
    while (next < count) {
      const i = next++
      const agent = AGENTS[i % AGENTS.length]
      const sentAt = performance.now()
      const res = await fetch(`${procs[i % procs.length].url}/api/agents/${agent}/commands`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ command: 'MEMORY_APPEND', args: { content: `${marker}-${i}` } })
      })
      if (res.status !== 202) throw new Error(`command ${i}: ${res.status} ${await res.text()}`)
      const { id } = (await res.json()) as { id: string }
      sent[i] = { id, agent, sentAt, ackedAt: performance.now() }
    }
  })
  await Promise.all(lanes)
  return sent
}

/**
 * The per-agent guarantees, checked on what ran: no command started before the agent's previous one
 * finished, and a command whose 202 came back before another was sent started first. Requests in
 * flight together have no order to keep (their sequence numbers can commit in either order).
 */
async function checkPerAgentOrder(db: pg.Client, sent: Sent[]): Promise<{ overlaps: number; reordered: number; pairs: number }> {
  const { rows } = await db.query<{ id: string; agent_id: string; started_at: string; finished_at: string }>(
    'SELECT id, agent_id, started_at, finished_at FROM orchestrator_commands WHERE id = ANY($1::uuid[])',
    [sent.map((s) => s.id)]
  )
  const byId = new Map(sent.map((s) => [s.id, s]))
  const byAgent = new Map<string, { started: number; finished: number; sent: Sent }[]>()
  for (const r of rows) {
    const list = byAgent.get(r.agent_id) ?? []
    list.push({ started: Number(r.started_at), finished: Number(r.finished_at), sent: byId.get(r.id)! })
    byAgent.set(r.agent_id, list)
  }
  let overlaps = 0
  let reordered = 0
  let pairs = 0
  for (const list of byAgent.values()) {
    list.sort((a, b) => a.started - b.started)
    for (let i = 1; i < list.length; i++) if (list[i].started < list[i - 1].finished) overlaps++
    for (let i = 0; i < list.length; i++) {
      for (let j = 0; j < list.length; j++) {
        if (list[i].sent.ackedAt >= list[j].sent.sentAt) continue
        pairs++
        if (list[i].started > list[j].started) reordered++
      }
    }
  }
  return { overlaps, reordered, pairs }
}

/** The statuses each command was announced with on the bus, as a subscriber of `commands` sees them. */
async function watchCommands(t: { teardown(fn: () => unknown): void }, prefix: string): Promise<Map<string, Set<string>>> {
  const seen = new Map<string, Set<string>>()
  const sub = new Redis(sharedRedisUrl)
  t.teardown(() => sub.disconnect())
  sub.on('message', (_channel: string, raw: string) => {
    const { data } = JSON.parse(raw) as { data: { id: string; status: string } }
    let statuses = seen.get(data.id)
    if (!statuses) seen.set(data.id, (statuses = new Set()))
    statuses.add(data.status)
  })
  await sub.subscribe(`${prefix}ch:commands`)
  return seen
}

t.test('two processes share 2,000 commands exactly once, and survive kill -9', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'orch_procs')
  const prefix = redisPrefix(t)
  const announced = await watchCommands(t, prefix)
  const allAnnounced = (ids: string[]) => ids.every((id) => announced.get(id)?.has('succeeded'))
  const env = {
    HELIX_ROLE: 'orchestrator',
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: prefix,
    DATABASE_URL: databaseUrl,
    HELIX_FLAG_HELIX_ORCHESTRATOR_DEDICATED: 'on',
    // One subject sends 5,000 commands in well under a minute: a load test sets its own write limit.
    HELIX_RATE_WRITE: '1000000',
    LOG_LEVEL: 'warn'
  }
  const first = await startHelix(t, { env })
  const second = await startHelix(t, { env })
  // The spawned processes share the test secret, so any app of the same config signs their tokens.
  const token = tokenFor(await build(t), ['agents:read', 'agents:write'])
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  const count = async (sql: string, params: unknown[] = []) => Number((await db.query(sql, params)).rows[0].n)

  const sent = await sendAll([first, second], token, 2000, 'one')
  const ids = sent.map((s) => s.id)
  t.equal(new Set(ids).size, 2000, 'every command accepted with its own id')
  await waitFor(async () => (await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status IN ('queued', 'running')`)) === 0, 'the queue to drain', 120_000, 200)

  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status = 'succeeded' AND id = ANY($1::uuid[])`, [ids]), 2000, 'none lost')
  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE attempts <> 1`), 0, 'none ran twice')
  t.equal(await count(`SELECT COUNT(DISTINCT content) AS n FROM orchestrator_memories WHERE content LIKE 'one-%'`), 2000, 'every effect present')
  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_memories WHERE content LIKE 'one-%'`), 2000, 'no effect twice')
  const order = await checkPerAgentOrder(db, sent)
  t.equal(order.overlaps, 0, 'per agent: one at a time, across both processes')
  t.ok(order.pairs > 10_000, `${order.pairs} ordered pairs of commands to one agent to check`)
  t.equal(order.reordered, 0, 'per agent: a command acknowledged before another was sent ran first')
  t.equal(await count(`SELECT COUNT(DISTINCT lease_owner) AS n FROM orchestrator_commands`), 2, 'both replicas executed commands')
  await waitFor(() => allAnnounced(ids), 'every command to be announced as succeeded', 30_000, 100)

  // Both replicas execute (the queue's row locks share the work). Send the next batch through the
  // first process and kill the second with SIGKILL while it holds a running command: the survivor
  // must pick up its claims once their lease expires.
  const sending = sendAll([first], token, 3000, 'two')
  const claimedBySecond = () => count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status = 'running' AND split_part(lease_owner, ':', 2) = $1`, [String(second.child.pid)])
  // Freeze the second process (SIGSTOP) at a moment it holds claims, so its claims stay put, then kill it.
  let unfinished = 0
  await waitFor(async () => {
    second.child.kill('SIGSTOP')
    unfinished = await claimedBySecond()
    if (unfinished === 0) second.child.kill('SIGCONT')
    return unfinished > 0
  }, 'the second process to be running a command', 60_000, 2)
  const killed = await second.kill('SIGKILL')
  t.equal(killed.signal, 'SIGKILL')
  t.ok(unfinished > 0, `the kill left ${unfinished} claimed commands behind`)
  const more = (await sending).map((s) => s.id)
  await waitFor(async () => (await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status IN ('queued', 'running')`)) === 0, 'the survivor to finish', 120_000, 200)
  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status = 'succeeded' AND id = ANY($1::uuid[])`, [more]), 3000, 'every accepted command finished')
  t.equal(await count(`SELECT COUNT(DISTINCT content) AS n FROM orchestrator_memories WHERE content LIKE 'two-%'`), 3000, 'every effect present')
  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_memories WHERE content LIKE 'two-%'`), 3000, 'a re-run after the crash added nothing twice')
  // What the killed process committed but had not published is published by the survivor's relay
  // (after the outbox grace of 5 s, at its next 1 s poll).
  await waitFor(() => allAnnounced(more), 'every succeeded command of the crash run to be announced', 30_000, 100)
  t.ok(allAnnounced(more), 'every final status reached the bus despite the kill')
  await waitFor(async () => (await count('SELECT COUNT(*) AS n FROM orchestrator_outbox')) === 0, 'the outbox to empty', 30_000, 100)
})
