// A process paused with SIGSTOP for more than twice its lease TTL and then resumed: its leases lapsed
// while it slept and another process took them, so once awake it must not act on that stale
// ownership: a singleton lease is not claimed by two processes at once, and a command whose claim
// lapsed is not finished twice (checked on the database and on what the bus announced).
import { Redis } from 'ioredis'
import t from 'tap'
import { createTestDatabase } from '../helpers/db.js'
import { AGENTS, authHeaders, LOAD_LIMITS, outputOnFailure, query, startKept } from '../helpers/fault-load.js'
import { freePort } from '../helpers/net.js'
import { ensureBuilt, type HelixProcess } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

t.setTimeout(210_000)
// Compiling dist/ first (minutes on a loaded machine when sources changed) is not part of any bound.
await ensureBuilt()

interface LeaseState {
  held: boolean
  token: number | null
  pid: number
}

const leaseOf = async (p: HelixProcess): Promise<LeaseState> => (await fetch(`${p.url}/api/voice/lease`)).json() as Promise<LeaseState>

t.test('a lease holder paused past twice its TTL does not claim the lease beside the new holder when it resumes', async (t) => {
  const ttl = 1000
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), ECHO_LEASE_TTL_MS: String(ttl), LOG_LEVEL: 'warn' }
  const keep = outputOnFailure(t)
  const start = async (label: string) => startKept(t, keep, label, { entry: 'test/fixtures/server.ts', env: { ...env, PORT: String(await freePort()) }, timeoutMs: 60_000 })
  const procs = await Promise.all([start('first'), start('second')])
  await waitFor(async () => (await Promise.all(procs.map(leaseOf))).some((l) => l.held), 'a holder')
  const states = await Promise.all(procs.map(leaseOf))
  const holder = procs[states.findIndex((s) => s.held)]
  const other = procs[states.findIndex((s) => !s.held)]

  holder.child.kill('SIGSTOP')
  t.teardown(() => holder.child.kill('SIGCONT'))
  const pausedAt = Date.now()
  const taken = await waitFor(async () => {
    const l = await leaseOf(other)
    return l.held ? l : null
  }, 'the other process to take the lapsed lease', ttl * 10)
  t.comment(`taken over ${Date.now() - pausedAt} ms into the pause (TTL ${ttl} ms)`)
  const sleepMore = 2 * ttl - (Date.now() - pausedAt)
  if (sleepMore > 0) await new Promise((resolve) => setTimeout(resolve, sleepMore))

  // Asked while still paused, so the answer is the first thing it computes once resumed.
  const firstWords = leaseOf(holder)
  holder.child.kill('SIGCONT')
  const pausedMs = Date.now() - pausedAt
  const answers: LeaseState[][] = [[await firstWords, await leaseOf(other)]]
  const until = Date.now() + 3 * ttl
  while (Date.now() < until) answers.push(await Promise.all([leaseOf(holder), leaseOf(other)]))
  const both = answers.filter(([a, b]) => a.held && b.held)
  t.same(both, [], `paused ${pausedMs} ms (TTL ${ttl} ms): in ${answers.length} samples after resuming, never both held the lease`)
  t.match(answers.at(-1), [{ held: false }, { held: true, token: taken.token }], 'the new holder keeps it')
})

t.test('an orchestrator paused past twice its command lease: its lapsed command is finished once, by the other replica', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'fault_pause')
  const prefix = redisPrefix(t)
  const env = { HELIX_ROLE: 'orchestrator', HELIX_FLAG_HELIX_ORCHESTRATOR_DEDICATED: 'on', REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: prefix, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', ...LOAD_LIMITS }
  // The command lease of a real process (plugins/orchestrator: leaseMs) is 5 s.
  const leaseMs = 5000
  const announced = new Map<string, Set<string>>()
  const sub = new Redis(sharedRedisUrl)
  t.teardown(() => sub.disconnect())
  sub.on('message', (_channel: string, raw: string) => {
    const { data } = JSON.parse(raw) as { data: { id: string; status: string; finishedAt: string | null; result: unknown } }
    if (!['succeeded', 'failed', 'timed_out', 'cancelled'].includes(data.status)) return
    const finals = announced.get(data.id) ?? new Set()
    finals.add(JSON.stringify([data.status, data.finishedAt, data.result]))
    announced.set(data.id, finals)
  })
  await sub.subscribe(`${prefix}ch:commands`)
  const keep = outputOnFailure(t)
  const [a, b] = await Promise.all(['a', 'b'].map((label) => startKept(t, keep, `orchestrator ${label}`, { env, timeoutMs: 90_000 })))
  const byPid = new Map([[a.child.pid!, a], [b.child.pid!, b]])

  // A task that stays running for a while: each step is a command for another agent, awaited in turn.
  const plan = AGENTS.filter((s) => s !== 'manus').flatMap((agent) => [{ agent, command: 'STATUS' }, { agent, command: 'REFLECT' }]).slice(0, 20)
  const post = async (agent: string, body: unknown) => {
    const res = await fetch(`${a.url}/api/agents/${agent}/commands`, { method: 'POST', headers: authHeaders, body: JSON.stringify(body) })
    if (res.status !== 202) throw new Error(`${agent}: ${res.status} ${await res.text()}`)
    return ((await res.json()) as { id: string }).id
  }
  // Fill the other agents' queues first, so the task's steps wait behind them.
  const accepted = await Promise.all(Array.from({ length: 130 }, (_, i) => post(AGENTS[i % 13], { command: 'MEMORY_APPEND', args: { content: `before-${i}` } })))
  const task = await post('manus', { command: 'EXECUTE_TASK', args: { plan } })
  accepted.push(task)
  const owner = await waitFor(async () => {
    const [row] = await query<{ status: string; lease_owner: string | null }>(databaseUrl, 'SELECT status, lease_owner FROM orchestrator_commands WHERE id = $1', [task])
    return row?.status === 'running' ? row.lease_owner : null
  }, 'the task to be claimed', 20_000)
  const paused = byPid.get(Number(owner!.split(':').at(-2)))!
  t.ok(paused, `the task was claimed by ${owner}`)
  paused.child.kill('SIGSTOP')
  t.teardown(() => paused.child.kill('SIGCONT'))
  const pausedAt = Date.now()
  const survivor = paused === a ? b : a
  await waitFor(async () => {
    const [row] = await query<{ lease_owner: string | null }>(databaseUrl, 'SELECT lease_owner FROM orchestrator_commands WHERE id = $1', [task])
    return row.lease_owner !== owner
  }, 'the other replica to take the lapsed task back', leaseMs * 4)
  const more = 2 * leaseMs + 500 - (Date.now() - pausedAt)
  if (more > 0) await new Promise((resolve) => setTimeout(resolve, more))
  paused.child.kill('SIGCONT')
  t.comment(`paused ${Date.now() - pausedAt} ms (command lease ${leaseMs} ms)`)
  accepted.push(...await Promise.all(Array.from({ length: 26 }, (_, i) => post(AGENTS[i % 13], { command: 'MEMORY_APPEND', args: { content: `after-${i}` } }))))

  await waitFor(async () => {
    const rows = await query<{ n: string }>(databaseUrl, `SELECT COUNT(*) AS n FROM orchestrator_commands WHERE id::text = ANY($1::text[]) AND status = 'succeeded'`, [accepted])
    return Number(rows[0].n) === accepted.length
  }, 'every command to succeed', 60_000)
  t.pass(`all ${accepted.length} commands succeeded`)
  await waitFor(() => accepted.every((id) => announced.has(id)), 'every final status announced', 20_000)
  // Give a stale finish from the resumed process time to show up before counting.
  await waitFor(async () => (await fetch(`${paused.url}/health/ready`)).ok, 'the resumed replica ready', 20_000)
  const twice = accepted.filter((id) => announced.get(id)!.size > 1).map((id) => ({ id, finals: [...announced.get(id)!] }))
  t.same(twice, [], 'no command was announced with two different outcomes')
  const memories = await query<{ command_id: string; n: string }>(databaseUrl, 'SELECT command_id::text, COUNT(*) AS n FROM orchestrator_memories GROUP BY command_id HAVING COUNT(*) > 1')
  t.same(memories, [], 'no command stored its effect twice')
  const [final] = await query<{ lease_owner: string | null; status: string }>(databaseUrl, 'SELECT lease_owner, status FROM orchestrator_commands WHERE id = $1', [task])
  t.equal(final.status, 'succeeded', `the task succeeded (finished by ${survivor === a ? 'the first' : 'the second'} replica's claim)`)
  t.equal(survivor.child.exitCode, null)
})
