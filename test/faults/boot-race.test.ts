// Two replicas of each role booting at the same moment on an empty database: every one comes up ready
// within READY_WITHIN_MS, each migration is applied once, the seed agents and the UCF row exist once,
// and the deployment then serves a command end to end.
import t from 'tap'
import { authHeaders, LOAD_LIMITS, outputOnFailure, query, startKept } from '../helpers/fault-load.js'
import { startPrivatePostgres } from '../helpers/private-services.js'
import { ensureBuilt } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { SOURCES } from '../zapier/helpers.js'

t.setTimeout(240_000)
// Compiling dist/ first (minutes on a loaded machine when sources changed) is not part of any bound.
await ensureBuilt()

/** From spawning ten processes at once (on a loaded 2-core machine) to the last /health/ready 200. */
const READY_WITHIN_MS = 120_000
const ROLES = ['all', 'orchestrator', 'zapier', 'stream', 'voice'] as const

t.test(`two replicas of each role boot at once on an empty database: all ready within ${READY_WITHIN_MS / 1000} s, migrated and seeded once`, { timeout: 220_000 }, async (t) => {
  // A cluster of its own: ten processes with three pools each would take the shared server's
  // connections from the files running beside this one.
  const cluster = await startPrivatePostgres(t, { maxConnections: 400 })
  const databaseUrl = await cluster.createDatabase('helix')
  const keep = outputOnFailure(t)
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: redisPrefix(t),
    ZAPIER_SOURCES: SOURCES,
    LOG_LEVEL: 'warn',
    ...LOAD_LIMITS
  }
  const startedAt = Date.now()
  const procs = await Promise.all(ROLES.flatMap((role) => [0, 1].map((i) => startKept(t, keep, `${role} #${i + 1}`, { env: { ...env, HELIX_ROLE: role }, timeoutMs: READY_WITHIN_MS }))))
  const readyMs = Date.now() - startedAt
  t.ok(readyMs <= READY_WITHIN_MS, `all ${procs.length} processes ready ${readyMs} ms after they were spawned together (bound ${READY_WITHIN_MS} ms)`)
  for (const p of procs) t.equal(p.child.exitCode, null, `${p.url} is running`)

  const migrations = await query<{ name: string; n: string }>(databaseUrl, 'SELECT name, COUNT(*) AS n FROM helix_migrations GROUP BY name')
  t.ok(migrations.length > 0, `${migrations.length} migrations recorded`)
  t.same(migrations.filter((m) => Number(m.n) !== 1), [], 'each migration recorded once')
  const agents = await query<{ slug: string }>(databaseUrl, 'SELECT slug FROM orchestrator_agents')
  t.equal(agents.length, 14, 'the 14 seed agents, none duplicated')
  t.equal(new Set(agents.map((a) => a.slug)).size, 14)
  t.equal((await query(databaseUrl, 'SELECT * FROM orchestrator_ucf')).length, 1, 'one UCF state')

  const monolith = procs[0]
  const res = await fetch(`${monolith.url}/api/agents/kael/commands`, { method: 'POST', headers: authHeaders, body: JSON.stringify({ command: 'STATUS', args: {} }) })
  t.equal(res.status, 202, 'the monolith accepts a command')
  const { id } = (await res.json()) as { id: string }
  await waitFor(async () => ((await (await fetch(`${monolith.url}/api/commands/${id}`, { headers: authHeaders })).json()) as { status: string }).status === 'succeeded',
    'the command to succeed', 20_000)
  t.pass('and runs it')
  for (const p of procs) t.notMatch(p.output(), /"level":(50|60)/, `no error logged by ${p.url}`)
})
