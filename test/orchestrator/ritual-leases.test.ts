// Ritual runs keep time by the database's clock, as commands do: a replica whose own clock is an hour
// fast or slow stamps, claims, renews and reaps rituals exactly as one whose clock is right.
import t from 'tap'
import pg from 'pg'
import { AlertService } from '../../plugins/orchestrator/alert-service.js'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { RitualService } from '../../plugins/orchestrator/ritual-service.js'
import { Sql } from '../../plugins/orchestrator/sql.js'
import { UcfService } from '../../plugins/orchestrator/ucf-service.js'
import { build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'

const HOUR = 3_600_000
const LEASE_MS = 5000

/** Runs `work` as a replica whose clock is `offsetMs` off would. */
async function withClockOff<T>(offsetMs: number, work: () => Promise<T>): Promise<T> {
  const realNow = Date.now
  Date.now = () => realNow() + offsetMs
  try {
    return await work()
  } finally {
    Date.now = realNow
  }
}

t.test('ritual timestamps and leases follow the database clock, whatever the replica clock says', async (t) => {
  // A dedicated orchestrator that does not own the plugin runs no workers: only this test touches rituals.
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), DATABASE_URL: await createTestDatabase(t, 'orch_leases'), HELIX_ROLE: 'orchestrator' }
  const app = await build(t, env, { plugins: [orchestratorPlugin] })
  t.equal(app.helix.workers.isRunning('orchestrator'), false)
  const { kernel } = app.helix
  const sql = new Sql(kernel.db.sequelize, kernel.config.databaseUrl)
  t.teardown(() => sql.close())
  const rituals = new RitualService(sql, kernel.bus, new UcfService(sql, kernel.bus, new AlertService(sql, kernel.bus)))
  const db = new pg.Client({ connectionString: env.DATABASE_URL })
  await db.connect()
  t.teardown(() => db.end())
  const dbNow = async () => Number((await db.query('SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS now')).rows[0].now)
  const row = async (id: string) => {
    const { rows: [r] } = await db.query('SELECT status, lease_owner, lease_until, created_at, started_at, finished_at FROM orchestrator_rituals WHERE id = $1', [id])
    return { ...r, lease_until: r.lease_until === null ? null : Number(r.lease_until), created_at: Number(r.created_at), started_at: r.started_at === null ? null : Number(r.started_at), finished_at: r.finished_at === null ? null : Number(r.finished_at) }
  }
  /** Runs `work` on a replica `offsetMs` off and returns the database's time before and after it. */
  const timed = async <T>(offsetMs: number, work: () => Promise<T>) => {
    const before = await dbNow()
    const value = await withClockOff(offsetMs, work)
    return { value, before, after: await dbNow() }
  }

  const started = await timed(-HOUR, () => rituals.start({ name: 'legend' }))
  const { id } = started.value
  t.ok((await row(id)).created_at >= started.before && (await row(id)).created_at <= started.after, 'created_at by the database clock')

  const claimed = await timed(-HOUR, () => rituals.claim('replica-a', 1, LEASE_MS))
  t.same(claimed.value.map((r) => r.id), [id])
  let r = await row(id)
  t.match(r, { status: 'running', lease_owner: 'replica-a' })
  t.ok(r.started_at >= claimed.before && r.started_at <= claimed.after, 'started_at by the database clock')
  t.ok(r.lease_until >= claimed.before + LEASE_MS && r.lease_until <= claimed.after + LEASE_MS, 'the lease runs from the database clock')

  const renewed = await timed(HOUR, () => rituals.renew('replica-a', LEASE_MS))
  r = await row(id)
  t.ok(r.lease_until >= renewed.before + LEASE_MS && r.lease_until <= renewed.after + LEASE_MS, 'a renewal too')

  await withClockOff(HOUR, () => rituals.reap())
  t.match(await row(id), { status: 'running', lease_owner: 'replica-a' }, 'a replica an hour fast does not take a live lease')

  await db.query('UPDATE orchestrator_rituals SET lease_until = (extract(epoch from clock_timestamp()) * 1000)::bigint - 1 WHERE id = $1', [id])
  await withClockOff(-HOUR, () => rituals.reap())
  t.match(await row(id), { status: 'queued', lease_owner: null, lease_until: null }, 'a replica an hour slow still hands back an expired lease')

  const [again] = await withClockOff(HOUR, () => rituals.claim('replica-b', 1, LEASE_MS))
  const ran = await timed(HOUR, () => rituals.run(again, 'replica-b', new AbortController().signal))
  r = await row(id)
  t.equal(r.status, 'completed')
  t.ok(r.finished_at >= ran.before && r.finished_at <= ran.after, 'finished_at by the database clock')

  const failing = (await rituals.start({ name: 'hymn' })).id
  const [claimedToFail] = await rituals.claim('replica-c', 1, LEASE_MS)
  t.equal(claimedToFail.id, failing)
  const failed = await timed(-HOUR, () => rituals.fail(failing, 'replica-c', 'broken'))
  r = await row(failing)
  t.equal(r.status, 'failed')
  t.ok(r.finished_at >= failed.before && r.finished_at <= failed.after, 'a failure is stamped by the database clock')
})
