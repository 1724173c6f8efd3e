// Two orchestrator processes of one deployment (one PostgreSQL, one Redis namespace): 2,000 commands
// accepted by both run exactly once, one at a time per agent, none lost; then the process running
// the workers is killed with SIGKILL mid-run and every accepted command still finishes.
import t from 'tap'
import pg from 'pg'
import { build, tokenFor } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { startHelix, type HelixProcess } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const AGENTS = ['kael', 'lumina', 'vega', 'gemini', 'agni', 'kavach', 'sanghacore', 'shadow', 'echo', 'phoenix', 'oracle', 'claude', 'manus', 'discordbridge']
async function sendAll(procs: HelixProcess[], token: string, count: number, marker: string): Promise<string[]> {
  const ids: string[] = new Array(count)
  let next = 0
  const lanes = Array.from({ length: 24 }, async () => {
    while (next < count) {
      const i = next++
      const res = await fetch(`${procs[i % procs.length].url}/api/agents/${AGENTS[i % AGENTS.length]}/commands`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ command: 'MEMORY_APPEND', args: { content: `${marker}-${i}` } })
      })
      if (res.status !== 202) throw new Error(`command ${i}: ${res.status} ${await res.text()}`)
      ids[i] = ((await res.json()) as { id: string }).id
    }
  })
  await Promise.all(lanes)
  return ids
}

t.test('two processes share 2,000 commands exactly once, and survive kill -9', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'orch_procs')
  const env = {
    HELIX_ROLE: 'orchestrator',
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: redisPrefix(t),
    DATABASE_URL: databaseUrl,
    HELIX_FLAG_HELIX_ORCHESTRATOR_DEDICATED: 'on',
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

  const ids = await sendAll([first, second], token, 2000, 'one')
  t.equal(new Set(ids).size, 2000, 'every command accepted with its own id')
  await waitFor(async () => (await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status IN ('queued', 'running')`)) === 0, 'the queue to drain', 120_000, 200)

  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status = 'succeeded' AND id = ANY($1::uuid[])`, [ids]), 2000, 'none lost')
  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE attempts <> 1`), 0, 'none ran twice')
  t.equal(await count(`SELECT COUNT(DISTINCT content) AS n FROM orchestrator_memories WHERE content LIKE 'one-%'`), 2000, 'every effect present')
  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_memories WHERE content LIKE 'one-%'`), 2000, 'no effect twice')
  const overlaps = await count(`
    SELECT COUNT(*) AS n FROM (
      SELECT started_at, LAG(finished_at) OVER (PARTITION BY agent_id ORDER BY seq) AS prev_finished,
             LAG(started_at) OVER (PARTITION BY agent_id ORDER BY seq) AS prev_started
      FROM orchestrator_commands) s
    WHERE prev_finished IS NOT NULL AND (started_at < prev_finished OR started_at < prev_started)`)
  t.equal(overlaps, 0, 'per agent: one at a time, in arrival order, across both processes')
  t.equal(await count(`SELECT COUNT(DISTINCT lease_owner) AS n FROM orchestrator_commands`), 2, 'both replicas executed commands')

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
  const more = await sending
  await waitFor(async () => (await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status IN ('queued', 'running')`)) === 0, 'the survivor to finish', 120_000, 200)
  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE status = 'succeeded' AND id = ANY($1::uuid[])`, [more]), 3000, 'every accepted command finished')
  t.equal(await count(`SELECT COUNT(DISTINCT content) AS n FROM orchestrator_memories WHERE content LIKE 'two-%'`), 3000, 'every effect present')
  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_memories WHERE content LIKE 'two-%'`), 3000, 'a re-run after the crash added nothing twice')
})
