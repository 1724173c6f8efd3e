// Nothing grows forever (issue 10, finding 15): the owner prunes finished commands, UCF history,
// finished rituals, resolved alerts and leftover outbox rows older than HELIX_RETENTION_DAYS, in
// batches; newer rows and queued or running work stay.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import pg from 'pg'
import { createOrchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const DAY = 86_400_000
const NOW = '(extract(epoch from clock_timestamp()) * 1000)::bigint'

t.test('rows older than the retention are pruned; newer ones and active work stay (PostgreSQL)', async (t) => {
  const databaseUrl = await createTestDatabase(t, 'orch_retention')
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: databaseUrl, HELIX_RETENTION_DAYS: '7' }
  // The pruner runs as soon as the app starts and then every 300 ms.
  await build(t, env, { plugins: [createOrchestratorPlugin({ retentionEveryMs: 300 })] })
  const db = new pg.Client({ connectionString: databaseUrl })
  await db.connect()
  t.teardown(() => db.end())
  const count = async (sql: string) => Number((await db.query(sql)).rows[0].n)
  const ago = (days: number) => `${NOW} - ${days * DAY}`

  // Commands of an agent that does not exist, so no worker claims the queued one.
  const agent = randomUUID()
  const command = (status: string, days: number, extra = '') =>
    db.query(`INSERT INTO orchestrator_commands (id, agent_id, command, args, status, timeout_ms, attempts, created_at${extra ? ', lease_until' : ''})
      VALUES ($1, $2, 'STATUS', '{}', $3, 30000, 1, ${ago(days)}${extra})`, [randomUUID(), agent, status])
  await db.query(`INSERT INTO orchestrator_commands (id, agent_id, command, args, status, timeout_ms, attempts, created_at)
    SELECT gen_random_uuid(), $1, 'STATUS', '{}', 'succeeded', 30000, 1, ${ago(8)} FROM generate_series(1, 2500)`, [agent])
  for (const status of ['failed', 'timed_out', 'cancelled']) await command(status, 8)
  await command('succeeded', 6)
  await command('queued', 30)
  await command('running', 30, `, ${NOW} + ${DAY}`)

  const history = (days: number) => db.query(`INSERT INTO orchestrator_ucf_history (harmony, resilience, prana, drishti, klesha, zoom, version, cause, at)
    VALUES (0.5, 1, 0.5, 0.5, 0.1, 1, 1, 'test', ${ago(days)})`)
  await history(8)
  await history(8)
  await history(1)

  const ritual = (status: string, days: number) => db.query(`INSERT INTO orchestrator_rituals (id, name, steps, seed, status, progress, created_at, lease_until)
    VALUES ($1, 'legend', 1, 0, $2, 0, ${ago(days)}, ${NOW} + ${DAY})`, [randomUUID(), status])
  await ritual('completed', 8)
  await ritual('failed', 8)
  await ritual('completed', 6)
  await ritual('running', 30)

  const alert = (state: string, days: number) => db.query(`INSERT INTO orchestrator_alerts (id, key, kind, severity, state, message, data, raised_at)
    VALUES ($1, $2, 'test', 'medium', $3, 'test', '{}', ${ago(days)})`, [randomUUID(), `test:${randomUUID()}`, state])
  await alert('resolved', 8)
  await alert('resolved', 6)
  await alert('open', 30)

  await db.query(`INSERT INTO orchestrator_outbox (channel, type, ref, data, created_at) VALUES ('system', 'test.left_behind', 'x', '{}', ${ago(8)})`)

  await waitFor(async () => (await count(`SELECT COUNT(*) AS n FROM orchestrator_commands WHERE created_at < ${ago(7)} AND status = 'succeeded'`)) === 0, 'old finished commands to go, 1,000 at a time', 20_000)
  await waitFor(async () => (await count(`SELECT COUNT(*) AS n FROM orchestrator_alerts WHERE state = 'resolved' AND raised_at < ${ago(7)}`)) === 0, 'old resolved alerts to go')

  t.same((await db.query(`SELECT status FROM orchestrator_commands WHERE agent_id = $1 ORDER BY status`, [agent])).rows.map((r) => r.status),
    ['queued', 'running', 'succeeded'], 'queued and running commands stay however old; a newer finished one stays')
  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_ucf_history WHERE cause = 'test'`), 1, 'only the newer UCF history entry is left')
  t.same((await db.query(`SELECT status FROM orchestrator_rituals ORDER BY status`)).rows.map((r) => r.status), ['completed', 'running'], 'the newer ritual and the running one')
  t.same((await db.query(`SELECT state FROM orchestrator_alerts WHERE kind = 'test' ORDER BY state`)).rows.map((r) => r.state), ['open', 'resolved'], 'the open alert and the newer resolved one')
  t.equal(await count(`SELECT COUNT(*) AS n FROM orchestrator_outbox WHERE type = 'test.left_behind'`), 0, 'the old outbox row')
  t.ok(await count('SELECT COUNT(*) AS n FROM orchestrator_ucf') === 1, 'the UCF state itself is untouched')
})

t.test('the embedded SQLite default prunes too', async (t) => {
  const app = await build(t, { HELIX_RETENTION_DAYS: '30' }, { plugins: [createOrchestratorPlugin({ retentionEveryMs: 200 })] })
  const query = (sql: string, bind: unknown[] = []) => app.helix.kernel.db.sequelize.query(sql, { bind, raw: true, plain: false }) as Promise<[Record<string, unknown>[], unknown]>
  const at = (days: number) => Date.now() - days * DAY
  for (const days of [31, 29]) {
    await query(`INSERT INTO orchestrator_ucf_history (harmony, resilience, prana, drishti, klesha, zoom, version, cause, at) VALUES (0.5, 1, 0.5, 0.5, 0.1, 1, 1, 'test', $1)`, [at(days)])
    await query(`INSERT INTO orchestrator_commands (id, agent_id, command, args, status, timeout_ms, attempts, created_at) VALUES ($1, $2, 'STATUS', '{}', 'succeeded', 30000, 1, $3)`, [randomUUID(), randomUUID(), at(days)])
  }
  await waitFor(async () => (await query(`SELECT COUNT(*) AS n FROM orchestrator_ucf_history WHERE cause = 'test'`))[0][0]!.n === 1, 'the old history entry to go')
  await waitFor(async () => (await query(`SELECT COUNT(*) AS n FROM orchestrator_commands`))[0][0]!.n === 1, 'the old command to go')
  const [[left]] = await query(`SELECT at FROM orchestrator_ucf_history WHERE cause = 'test'`)
  t.ok(Number(left!.at) > at(30), 'the entry within 30 days is kept')
  const [[kept]] = await query('SELECT created_at FROM orchestrator_commands')
  t.ok(Number(kept!.created_at) > at(30), 'and the command within 30 days')
})
