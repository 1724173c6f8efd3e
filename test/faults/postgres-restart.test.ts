// PostgreSQL crashed (an immediate shutdown, recovery at start) and restarted under load, on a private
// cluster: requests during the outage fail cleanly (503 with a code, never a 500, never a hang), every
// command and webhook accepted before, during and after is finished, the stream subscriber misses no
// final status, and the monolith is ready again within READY_WITHIN_MS of PostgreSQL being back.
import t from 'tap'
import { tempDir } from '../helpers/build.js'
import { commandLoad, LOAD_LIMITS, ZAPIER_TAKEOVER, notSucceeded, outputOnFailure, startKept, ResumingSubscriber, settledStatuses, summarise, unseenFinals, webhookLoad } from '../helpers/fault-load.js'
import { startPrivatePostgres } from '../helpers/private-services.js'
import { ensureBuilt } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { SOURCES } from '../zapier/helpers.js'

t.setTimeout(210_000)
// Compiling dist/ first (minutes on a loaded machine when sources changed) is not part of any bound.
await ensureBuilt()

const OUTAGE_MS = 3000
/** From PostgreSQL accepting connections again to /health/ready answering 200. */
const READY_WITHIN_MS = 10_000
/** The longest a request may take to be answered during the outage. */
const ANSWER_WITHIN_MS = 5000
const FINISHED_WITHIN_MS = 60_000

t.test(`PostgreSQL restart under load: clean 503s, nothing accepted lost, ready within ${READY_WITHIN_MS / 1000} s`, async (t) => {
  const startedAt = Date.now()
  const cluster = await startPrivatePostgres(t)
  const databaseUrl = await cluster.createDatabase('helix')
  const keep = outputOnFailure(t)
  const helix = await startKept(t, keep, 'all', {
    env: { DATABASE_URL: databaseUrl, REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), HELIX_DATA_DIR: tempDir(t), ZAPIER_SOURCES: SOURCES, LOG_LEVEL: 'warn', ...LOAD_LIMITS, ...ZAPIER_TAKEOVER },
    timeoutMs: 60_000
  })
  t.comment(`helix ready ${Date.now() - startedAt} ms after the test started`)
  const subscriber = new ResumingSubscriber(() => helix.url, ['commands']).start()
  t.teardown(() => subscriber.stop())
  await subscriber.until(() => subscriber.isOpen(), 'the first subscription', 10_000)

  const commands = commandLoad(() => helix.url, { requestTimeoutMs: 30_000 }).start()
  const hooks = webhookLoad(() => helix.url, { requestTimeoutMs: 30_000 }).start()
  await waitFor(() => commands.accepted.length >= 20 && hooks.accepted.length >= 20, 'load to be accepted before the crash', 20_000)

  await cluster.kill()
  const refusedBefore = commands.refused.length + hooks.refused.length
  await waitFor(() => commands.refused.length + hooks.refused.length >= refusedBefore + 8, 'requests refused during the outage', 15_000)
  const ready = await fetch(`${helix.url}/health/ready`)
  t.equal(ready.status, 503, '/health/ready says unavailable during the outage')
  t.match(await ready.json(), { checks: { database: 'unavailable' } })
  await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS))

  await cluster.start()
  const backAt = Date.now()
  await waitFor(async () => (await fetch(`${helix.url}/health/ready`)).ok, 'ready again', READY_WITHIN_MS)
  const readyMs = Date.now() - backAt
  t.ok(readyMs <= READY_WITHIN_MS, `ready ${readyMs} ms after PostgreSQL was back (bound ${READY_WITHIN_MS} ms)`)
  const acceptedAtReady = commands.accepted.length
  await waitFor(() => commands.accepted.length > acceptedAtReady + 10, 'commands accepted again after the restart', 20_000)
  await Promise.all([commands.stop(), hooks.stop()])

  t.comment(`load stopped ${Date.now() - startedAt} ms after the test started`)
  const refused = [...commands.refused, ...hooks.refused]
  t.comment(`accepted ${commands.accepted.length} commands and ${hooks.accepted.length} webhooks; refused: ${summarise(refused)}`)
  t.ok(refused.length > 0, 'the outage was seen by clients')
  t.same(refused.filter((r) => r.status !== 503), [], 'every refusal is a 503 (no 500, no dropped connection, no hang)')
  t.same(refused.filter((r) => r.error !== 'unavailable'), [], 'every 503 carries the code unavailable')
  const slowest = Math.max(...refused.map((r) => r.ms))
  t.ok(slowest <= ANSWER_WITHIN_MS, `the slowest refusal took ${slowest} ms (bound ${ANSWER_WITHIN_MS} ms)`)

  const final = await settledStatuses(databaseUrl, 'orchestrator_commands', commands.accepted, FINISHED_WITHIN_MS)
  t.same(final, { succeeded: commands.accepted.length }, `every accepted command succeeded; the others: ${JSON.stringify(await notSucceeded(databaseUrl, commands.accepted))}`)
  const hookStatuses = await settledStatuses(databaseUrl, 'zapier_events', hooks.accepted, FINISHED_WITHIN_MS)
  t.equal(hookStatuses.missing ?? 0, 0, 'every accepted webhook is still stored')
  t.same(hookStatuses, { processed: hooks.accepted.length }, 'every accepted webhook was processed')
  await subscriber.until(() => unseenFinals(subscriber, commands.accepted).length === 0, 'every final status on the stream', 20_000).catch(() => {})
  t.same(unseenFinals(subscriber, commands.accepted), [], 'the subscriber saw every accepted command finish')
  t.same(subscriber.gaps, [], 'the subscriber never lost its place')
  t.notMatch(helix.output(), /"statusCode":500|internal_error/, 'no 500 in the log')
  t.equal(helix.child.exitCode, null, 'the process lived through it')
})
