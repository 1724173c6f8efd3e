// Live posts: bus events (alerts, ritual completions, failed commands) and `bot.posts` requests become
// messages in the alert channel; bursts are coalesced within Discord's limits; posts that failed while
// Discord was unreachable wait in Redis (1,000 per channel, 24 h) and go out, in order, when it is back.
import { Redis } from 'ioredis'
import t from 'tap'
import { BOT_POST_REQUESTED, BOT_POSTS_CHANNEL } from '../../core/contracts/bot.js'
import { PENDING_LIMIT, PENDING_RETENTION_MS, RedisPendingPosts } from '../../plugins/bot/pending-posts.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { startBotApp } from './bot-app.js'
import type { RecordedCall } from '../helpers/fake-discord/index.js'

const alert = (i: number) => ({ id: `a${i}`, key: `k${i}`, kind: 'harmony_low', severity: 'warning', state: 'open', message: `Harmony low #${i}`, data: {} })

async function running(t: Parameters<typeof startBotApp>[0], options: Parameters<typeof startBotApp>[1] = {}) {
  const bot = await startBotApp(t, options)
  await waitFor(() => bot.app.helix.workers.isRunning('bot'), 'the gateway worker to run')
  return { ...bot, bus: bot.app.helix.kernel.bus }
}

const posts = (calls: RecordedCall[], channelId: string) => calls.filter((c) => c.method === 'POST' && c.path === `/channels/${channelId}/messages`)

t.test('an alert on the bus becomes exactly one message in the alert channel', async (t) => {
  const { fake, bus } = await running(t, { orchestrator: false })
  const channel = fake.guild.channels.alerts.id
  await bus.publish('alerts', 'alert.raised', alert(1))
  const call = await fake.waitForCall('POST /channels/:id/messages')
  t.equal(call.path, `/channels/${channel}/messages`)
  t.match(call.body.embeds, [{ title: '⚠️ Alert: harmony_low', description: 'Harmony low #1' }])
  // Another event goes out after the coalescing window: nothing else was sent for the first one.
  await bus.publish('alerts', 'alert.resolved', { ...alert(1), state: 'resolved' })
  await fake.waitForCall((c) => c.index > call.index && c.method === 'POST')
  t.equal(posts(fake.calls, channel).length, 2)
  t.same(fake.messages(channel).map((m) => m.embeds.map((e) => e.title)), [['⚠️ Alert: harmony_low'], ['✅ Resolved: harmony_low']])
})

t.test('50 alerts in a second are coalesced into a few messages within Discord\'s rate limit', async (t) => {
  const { fake, bus } = await running(t, { orchestrator: false, bot: { minGapMs: 1100, coalesceMs: 250 } })
  const channel = fake.guild.channels.alerts.id
  for (let i = 0; i < 50; i++) await bus.publish('alerts', 'alert.raised', alert(i))
  await waitFor(() => fake.messages(channel).reduce((n, m) => n + m.embeds.length, 0) === 50 || null, 'all 50 alerts posted', 20_000)
  const sent = posts(fake.calls, channel)
  t.ok(sent.length <= 6, `${sent.length} messages for 50 alerts`)
  t.ok(sent.every((c) => c.body.embeds.length <= 10 && c.status === 200), 'at most 10 embeds each, none refused')
  for (let i = 4; i < sent.length; i++) t.ok(sent[i].at - sent[i - 4].at >= 4000, 'no more than 5 messages in any 5 s')
  const descriptions = fake.messages(channel).flatMap((m) => m.embeds.map((e) => e.description))
  t.same(descriptions, Array.from({ length: 50 }, (_, i) => `Harmony low #${i}`), 'in order, none lost or doubled')
})

t.test('ritual completions, failed commands and bot.posts requests are posted', async (t) => {
  const { fake, bus } = await running(t, { orchestrator: false })
  const channel = fake.guild.channels.alerts.id
  await bus.publish('rituals', 'ritual.completed', { id: 'r1', name: 'hymn', steps: 1, seed: 1, status: 'completed', progress: 1, deltas: { harmony: 0.05 }, ucf: null, error: null })
  await bus.publish('commands', 'command.updated', { id: 'c1', agentId: 'x', command: 'GENERATE', args: {}, status: 'failed', result: null, error: 'no text', createdAt: '', startedAt: null, finishedAt: null })
  await bus.publish('commands', 'command.updated', { id: 'c2', agentId: 'x', command: 'STATUS', args: {}, status: 'succeeded', result: {}, error: null, createdAt: '', startedAt: null, finishedAt: null })
  await bus.publishInternal(BOT_POSTS_CHANNEL, BOT_POST_REQUESTED, { message: 'Deploy finished', source: 'zapier:github' })
  await bus.publishInternal(BOT_POSTS_CHANNEL, BOT_POST_REQUESTED, { message: 'To general', channelId: fake.guild.channels.text.id, source: 'zapier:github' })
  await waitFor(() => fake.messages(channel).flatMap((m) => m.embeds).length === 3 || null, 'three posts in the alert channel')
  const embeds = fake.messages(channel).flatMap((m) => m.embeds)
  t.match(embeds, [{ title: '🔮 Ritual hymn completed' }, { title: '❌ GENERATE failed', description: 'no text' }, { description: 'Deploy finished', footer: { text: 'zapier:github' } }])
  await waitFor(() => fake.messages(fake.guild.channels.text.id).length === 1 || null, 'the post to the channel it named')
  t.equal(fake.messages(fake.guild.channels.text.id)[0].embeds[0].description, 'To general')
})

t.test('the UCF telemetry embed is posted every period', async (t) => {
  const { fake } = await running(t, { bot: { telemetryMs: 300 } })
  const channel = fake.guild.channels.alerts.id
  await waitFor(() => fake.messages(channel).flatMap((m) => m.embeds).filter((e) => e.title === 'UCF telemetry').length >= 2 || null, 'two telemetry embeds', 15_000)
  const telemetry = fake.messages(channel).flatMap((m) => m.embeds).find((e) => e.title === 'UCF telemetry')!
  t.same(telemetry.fields?.slice(0, 6).map((f) => f.name), ['Harmony', 'Resilience', 'Prana', 'Drishti', 'Klesha', 'Zoom'])
})

t.test('posts that failed while Discord was unreachable wait in Redis and go out in order when it is back', async (t) => {
  const prefix = redisPrefix(t, 'botpend')
  const { fake, bus } = await running(t, { orchestrator: false, prefix, bot: { retryMs: 500 } })
  const channel = fake.guild.channels.alerts.id
  const redis = new Redis(sharedRedisUrl)
  t.teardown(() => redis.quit())
  // discord.js tries a 500 four times (its retries) and gives up: Discord is down for this post.
  fake.failNext('POST /channels/:id/messages', 500, { times: 8 })
  await bus.publish('alerts', 'alert.raised', alert(1))
  await waitFor(async () => (await redis.llen(`${prefix}bot:pending:${channel}`)) === 1 || null, 'the post parked in Redis')
  await bus.publish('alerts', 'alert.raised', alert(2))
  await waitFor(() => fake.messages(channel).flatMap((m) => m.embeds).length === 2 || null, 'both posts once Discord answers', 20_000)
  t.same(fake.messages(channel).flatMap((m) => m.embeds.map((e) => e.description)), ['Harmony low #1', 'Harmony low #2'], 'the older first')
  // The backlog entry is removed after Discord accepted the post: wait for it, do not read it once.
  await waitFor(async () => (await redis.llen(`${prefix}bot:pending:${channel}`)) === 0 || null, 'nothing left waiting')
  t.equal(await redis.llen(`${prefix}bot:pending:${channel}`), 0, 'nothing left waiting')
})

t.test('the pending store keeps at most 1,000 posts per channel and none older than 24 h', async (t) => {
  const prefix = redisPrefix(t, 'botstore')
  const redis = new Redis(sharedRedisUrl)
  t.teardown(() => redis.quit())
  let now = Date.now()
  const store = new RedisPendingPosts(redis, prefix, () => now)
  await store.add('1', Array.from({ length: 1050 }, (_, i) => ({ at: now + i, embed: { description: `p${i}` } })))
  t.equal(await redis.llen(`${prefix}bot:pending:1`), PENDING_LIMIT)
  t.equal((await store.peek('1', 1))[0].embed.description, 'p50', 'the oldest 50 made room')
  const ttl = await redis.pttl(`${prefix}bot:pending:1`)
  t.ok(ttl > PENDING_RETENTION_MS - 60_000 && ttl <= PENDING_RETENTION_MS, 'the list expires after 24 h idle')
  t.same(await store.channels(), ['1'])

  now += PENDING_RETENTION_MS + 500
  t.same((await store.peek('1', 10)).map((p) => p.embed.description), Array.from({ length: 10 }, (_, i) => `p${500 + i}`), 'posts over 24 h old are dropped')
  await store.drop('1', 10)
  t.equal((await store.peek('1', 1))[0].embed.description, 'p510')
})
