// Exactly one gateway session across processes: two real Helix processes with the bot role hold one
// session on the fake Discord between them (the `bot` lease); after `kill -9` of the holder the other
// logs in within the lease TTL; an in-process flip hands the session over without ever two at once.
import t from 'tap'
import { startFakeDiscord, type FakeDiscord } from '../helpers/fake-discord/index.js'
import { startHelix, type HelixProcess } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { discordEnv, startBotApp } from './bot-app.js'

const TTL_MS = 2000

/** Samples the open sessions every few ms for the whole test: the most ever open at once. */
function watchSessions(t: { teardown(fn: () => unknown): void }, fake: FakeDiscord) {
  let max = 0
  const timer = setInterval(() => (max = Math.max(max, fake.openSessions().length)), 5)
  t.teardown(() => clearInterval(timer))
  return { max: () => max }
}

t.test('two bot processes: one session; kill -9 of the holder: the other logs in within the lease TTL', async (t) => {
  const fake = await startFakeDiscord({ ackDeadlineMs: 15_000 })
  t.teardown(() => fake.close())
  const watch = watchSessions(t, fake)
  const env = {
    HELIX_ROLE: 'bot',
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: redisPrefix(t, 'botsingle'),
    HELIX_FLAG_HELIX_BOT_DEDICATED: 'on',
    DISCORD_LEASE_TTL_MS: String(TTL_MS),
    ...discordEnv(fake)
  }
  const [a, b] = await Promise.all([startHelix(t, { env }), startHelix(t, { env })])
  await fake.waitForSession((s) => s.status === 'open', 20_000)
  // The other process keeps competing: give it several lease rounds to (wrongly) log in too.
  await waitFor(() => (a.output().match(/lease acquired/g)?.length ?? 0) + (b.output().match(/lease acquired/g)?.length ?? 0) === 1 && fake.calls.filter((c) => c.path === '/gateway/bot').length === 1 || null, 'one holder')
  // The fake sees the session before the holder's ready event is logged: wait for the log line.
  const opened = (p: HelixProcess) => p.output().includes('discord gateway session open')
  const holder = await waitFor(() => (opened(a) ? a : opened(b) ? b : null), 'the holder to log in')
  const other = holder === a ? b : a
  t.notOk(opened(other), 'the other process did not log in')
  t.equal(fake.openSessions().length, 1, 'exactly one session')

  const killedAt = Date.now()
  await holder.kill('SIGKILL')
  await waitFor(() => other.output().includes('discord gateway session open') || null, 'the other process to log in', 15_000)
  const took = Date.now() - killedAt
  await fake.waitForSession((s) => s.status === 'open')
  t.ok(took < TTL_MS + TTL_MS / 3 + 2000, `logged in ${took} ms after the kill (lease TTL ${TTL_MS} ms)`)
  t.equal(fake.openSessions().length, 1)
  t.equal(watch.max(), 1, 'never two sessions open at once')
})

t.test('a flip of helix.bot.dedicated moves the session from the monolith to the bot service, never two at once', async (t) => {
  const fake = await startFakeDiscord({ ackDeadlineMs: 15_000 })
  t.teardown(() => fake.close())
  const watch = watchSessions(t, fake)
  const prefix = redisPrefix(t, 'botflip')
  const monolith = await startBotApp(t, { fake, prefix, orchestrator: false, env: { DISCORD_LEASE_TTL_MS: String(TTL_MS) } })
  await waitFor(() => monolith.app.helix.workers.isRunning('bot'), 'the monolith to hold the session')
  const service = await startBotApp(t, { fake, prefix, orchestrator: false, env: { HELIX_ROLE: 'bot', DISCORD_LEASE_TTL_MS: String(TTL_MS) } })
  t.equal(service.app.helix.workers.isRunning('bot'), false, 'the service does not own the bot yet')
  // The flip is accepted once the monolith sees the service as a ready live owner.
  await waitFor(() => monolith.app.helix.liveOwners.hasReadyDedicated('bot') || null, 'the bot service announced as ready')

  const admin = { authorization: `Bearer ${monolith.app.auth.sign({ sub: 'ops', scopes: ['admin'], ttlSeconds: 60 })}` }
  const res = await monolith.app.inject({ method: 'PUT', url: '/admin/flags/helix.bot.dedicated', headers: admin, payload: { enabled: true } })
  t.equal(res.statusCode, 200, `override stored: ${res.body}`)
  await waitFor(() => service.app.helix.workers.isRunning('bot') || null, 'the service to take the session', 15_000)
  await waitFor(() => !monolith.app.helix.workers.isRunning('bot') || null, 'the monolith to let go')
  await waitFor(() => fake.openSessions().length === 1 || null, 'one open session')
  t.equal(fake.sessions.length, 2, 'the monolith\'s session, then the service\'s')
  t.equal(watch.max(), 1, 'never two sessions open at once')
})
