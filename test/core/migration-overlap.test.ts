// Migrations are expand/contract: during a deploy Railway runs the previous release beside the new
// one for overlapSeconds, on the schema the new one migrated. The previous release's server, built
// from git, must keep serving agents, commands, the UCF and rituals on that database.
import { pino } from 'pino'
import t from 'tap'
import { createDatabase } from '../../core/db/index.js'
import { manifest } from '../../plugins/index.js'
import { signTestToken } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { startHelix } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { buildRelease, previousRelease } from '../helpers/release.js'
import { waitFor } from '../helpers/wait.js'

t.setTimeout(300_000)

t.test('the previous release serves on the schema this release migrated', async (t) => {
  const commit = previousRelease()
  const releaseDir = await buildRelease(commit)
  const databaseUrl = await createTestDatabase(t, 'overlap')
  const db = createDatabase({ databaseUrl, dataDir: '/nonexistent', log: pino({ level: 'silent' }) })
  const applied = await db.migrate(manifest.flatMap((p) => p.migrations ?? []))
  await db.close()
  t.ok(applied.length > 0, `this release migrated the database (${applied.length} migrations)`)

  const old = await startHelix(t, {
    root: releaseDir,
    env: { DATABASE_URL: databaseUrl, REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), LOG_LEVEL: 'warn' },
    timeoutMs: 60_000
  })
  const auth = { authorization: `Bearer ${signTestToken(['agents:read', 'agents:write'])}`, 'content-type': 'application/json' }
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(old.url + path, { method, headers: auth, body: body === undefined ? undefined : JSON.stringify(body) })
    return { status: res.status, body: await res.json() as Record<string, any> }
  }

  t.equal((await call('GET', '/api/agents?limit=200')).body.items.length, 14, `release ${commit.slice(0, 7)} lists the seeded agents`)
  const created = await call('POST', '/api/agents', { slug: 'overlap', name: 'Overlap', tier: 'operational', role: 'checks deploys' })
  t.equal(created.status, 201, 'it creates an agent')
  const patched = await call('PATCH', '/api/agents/overlap', { name: 'Overlap 2' })
  t.equal(patched.status, 200, 'and changes it')
  const command = await call('POST', '/api/agents/kael/commands', { command: 'STATUS' })
  t.equal(command.status, 202, 'it accepts a command')
  const final = await waitFor(async () => {
    const res = await call('GET', `/api/commands/${command.body.id}`)
    return res.body.status === 'succeeded' ? res.body : null
  }, 'the command succeeds', 30_000)
  t.equal(final.command, 'STATUS')
  t.equal((await call('GET', '/api/ucf')).status, 200, 'it reads the UCF')
  const ritual = await call('POST', '/api/ucf/rituals', { name: 'legend' })
  t.equal(ritual.status, 202, 'it runs a ritual')
  await waitFor(async () => (await call('GET', `/api/rituals/${ritual.body.id}`)).body.status === 'completed', 'the ritual completes', 30_000)
  t.notMatch(old.output(), /"level":(50|60)/, 'no errors in its log')
})
