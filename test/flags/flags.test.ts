// The layered flag source through the admin API: precedence against the real Unleash server,
// overrides across replicas, and bad input. The fake Unleash stays for the faults a real server does
// not produce on demand: stopped and restarted on the same port, and answering garbage.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import t from 'tap'
import type { BusEvent } from '../../core/bus/index.js'
import { fromRoot } from '../../core/paths.js'
import { readBootstrapFile } from '../../flags/bootstrap-source.js'
import { bearer, build, tempDir } from '../helpers/build.js'
import { fakeUnleash } from '../helpers/fake-unleash.js'
import { freePort } from '../helpers/net.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { unleashServer } from '../helpers/unleash-server.js'
import { waitFor } from '../helpers/wait.js'

// The first use on a machine installs unleash-server and migrates its template database.
t.setTimeout(400_000)

interface Row { name: string; enabled: boolean; source: string; unleash: boolean | null; override: { enabled: boolean; expiresAt: string | null } | null }

async function flag(app: FastifyInstance, name: string): Promise<Row> {
  const res = await app.inject({ url: '/admin/flags', headers: bearer(app, ['admin']) })
  return (res.json().flags as Row[]).find((f) => f.name === name)!
}

function put(app: FastifyInstance, name: string, body: unknown, scopes = ['admin']) {
  return app.inject({ method: 'PUT', url: `/admin/flags/${name}`, headers: bearer(app, scopes), payload: body as object })
}

/** A logger whose lines the test can read. */
function capturedLogger() {
  const lines: string[] = []
  const stream = new Writable({ write(chunk, _enc, cb) { lines.push(...chunk.toString().split('\n').filter(Boolean)); cb() } })
  return { logger: pino({ level: 'info' }, stream), lines }
}

t.test('precedence: override > Unleash > env > bootstrap > default', async (t) => {
  // Unleash defines only helix.voice.google: the other flags show the lower layers.
  const unleash = await unleashServer(t, { flags: ['helix.voice.google'], initial: { 'helix.voice.google': false } })
  const app = await build(t, { UNLEASH_URL: unleash.url, UNLEASH_API_TOKEN: unleash.clientToken, UNLEASH_REFRESH_MS: '200', HELIX_FLAG_HELIX_BOT_VOICE: 'on', HELIX_FLAG_HELIX_VOICE_GOOGLE: 'on' })
  await waitFor(async () => (await flag(app, 'helix.voice.google')).source === 'unleash', 'the first answer from Unleash')

  const bootstrapped = readBootstrapFile(fromRoot('flags/bootstrap.json')).features.find((f) => f.name === 'helix.zapier.outbound')!.enabled
  t.match(await flag(app, 'helix.zapier.outbound'), { enabled: bootstrapped, source: 'bootstrap', unleash: null, override: null })
  t.match(await flag(app, 'helix.bot.voice'), { enabled: true, source: 'env', unleash: null })
  t.match(await flag(app, 'helix.voice.google'), { enabled: false, source: 'unleash', unleash: false }, 'Unleash beats the env override')

  await unleash.set('helix.voice.google', true)
  await waitFor(async () => (await flag(app, 'helix.voice.google')).enabled, 'Unleash flip to apply')
  t.equal(app.helix.kernel.flags.isEnabled('helix.voice.google'), true)

  const res = await put(app, 'helix.voice.google', { enabled: false })
  t.equal(res.statusCode, 200, res.body)
  t.match(res.json(), { name: 'helix.voice.google', enabled: false, source: 'override', unleash: true, override: { enabled: false, expiresAt: null } })
  t.equal(app.helix.kernel.flags.isEnabled('helix.voice.google'), false)

  const del = await app.inject({ method: 'DELETE', url: '/admin/flags/helix.voice.google', headers: bearer(app, ['admin']) })
  t.equal(del.statusCode, 200)
  t.match(del.json(), { enabled: true, source: 'unleash', override: null })
})

// No process of the dedicated role runs in these tests: the overrides are forced (409 no_ready_owner otherwise).
t.test('an override with a TTL lapses by itself', async (t) => {
  const app = await build(t)
  const res = await put(app, 'helix.voice.dedicated', { enabled: true, ttlSeconds: 1, force: true })
  t.equal(res.statusCode, 200)
  t.ok(Date.parse(res.json().override.expiresAt) > Date.now())
  t.equal(app.helix.kernel.flags.isEnabled('helix.voice.dedicated'), true)
  await waitFor(async () => (await flag(app, 'helix.voice.dedicated')).source === 'bootstrap', 'override to lapse')
  t.equal(app.helix.kernel.flags.isEnabled('helix.voice.dedicated'), false)
})

t.test('an override reaches every replica through Redis and the bus, Unleash down', async (t) => {
  const deadPort = await freePort()
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), UNLEASH_URL: `http://127.0.0.1:${deadPort}/api`, UNLEASH_REFRESH_MS: '100' }
  const a = await build(t, env)
  const b = await build(t, env)
  const events: unknown[] = []
  await b.helix.kernel.bus.subscribe('system', (event) => events.push(event))

  t.equal((await put(a, 'helix.stream.dedicated', { enabled: true, ttlSeconds: 600, force: true })).statusCode, 200)
  await waitFor(() => b.helix.kernel.flags.isEnabled('helix.stream.dedicated'), 'replica b to apply the override')
  t.match(await flag(b, 'helix.stream.dedicated'), { enabled: true, source: 'override', override: { enabled: true } })
  await waitFor(() => events.length > 0, 'system.flags event')
  t.match(events[0], { channel: 'system', type: 'system.flags', data: { name: 'helix.stream.dedicated', override: { enabled: true } } })

  const c = await build(t, env)
  t.equal(c.helix.kernel.flags.isEnabled('helix.stream.dedicated'), true, 'a replica booting later reads the override from Redis')

  await b.inject({ method: 'DELETE', url: '/admin/flags/helix.stream.dedicated', headers: bearer(b, ['admin']) })
  await waitFor(() => !a.helix.kernel.flags.isEnabled('helix.stream.dedicated') && !c.helix.kernel.flags.isEnabled('helix.stream.dedicated'), 'the removal everywhere')
})

t.test('a system.flags event on the public bus moves no flag: overrides travel on an internal channel', async (t) => {
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t) }
  const a = await build(t, env)
  const b = await build(t, env)
  const seen: BusEvent[] = []
  await b.helix.kernel.bus.subscribe('system', (event) => seen.push(event))
  // The override a publish token could forge before issue 10 (it moved every replica).
  const forged = await a.helix.kernel.bus.publish('system', 'system.flags', { name: 'helix.orchestrator.dedicated', override: { enabled: true, expiresAt: null } })
  await waitFor(() => seen.some((e) => e.id === forged.id), 'the forged event to reach replica b')
  for (const app of [a, b]) {
    t.equal(app.helix.kernel.flags.isEnabled('helix.orchestrator.dedicated'), false)
    t.match(await flag(app, 'helix.orchestrator.dedicated'), { source: 'bootstrap', override: null })
  }

  t.equal((await put(a, 'helix.orchestrator.dedicated', { enabled: true, ttlSeconds: 600, force: true })).statusCode, 200)
  await waitFor(() => b.helix.kernel.flags.isEnabled('helix.orchestrator.dedicated'), 'the admin override to reach replica b')
  await waitFor(() => seen.some((e) => e.type === 'system.flags' && e.source === 'all' && e.id !== forged.id), 'its public announcement')
  await b.inject({ method: 'DELETE', url: '/admin/flags/helix.orchestrator.dedicated', headers: bearer(b, ['admin']) })
  await waitFor(() => !a.helix.kernel.flags.isEnabled('helix.orchestrator.dedicated'), 'the removal on replica a')
})

t.test('Unleash down at boot: ready with bootstrap flags; outage at run time keeps the last known; recovery applies', async (t) => {
  const port = await freePort()
  const started = Date.now()
  const app = await build(t, { UNLEASH_URL: `http://127.0.0.1:${port}/api`, UNLEASH_REFRESH_MS: '100' })
  t.comment(`boot with Unleash down took ${Date.now() - started} ms`)
  t.equal((await app.inject('/health/ready')).statusCode, 200)
  t.match(await flag(app, 'helix.voice.dedicated'), { enabled: false, source: 'bootstrap', unleash: null })

  const unleash = await fakeUnleash(t, { 'helix.voice.dedicated': true }, port)
  await waitFor(async () => (await flag(app, 'helix.voice.dedicated')).source === 'unleash', 'Unleash to come up')
  t.equal(app.helix.kernel.flags.isEnabled('helix.voice.dedicated'), true)

  await unleash.stop()
  const pollsWhenDown = unleash.polls()
  await new Promise((resolve) => setTimeout(resolve, 500))
  for (let i = 0; i < 20; i++) t.equal((await app.inject('/health/ready')).statusCode, 200)
  t.match(await flag(app, 'helix.voice.dedicated'), { enabled: true, source: 'unleash', unleash: true }, 'last known value kept')
  t.equal(unleash.polls(), pollsWhenDown)

  unleash.set('helix.voice.dedicated', false)
  await unleash.start()
  await waitFor(async () => !(await flag(app, 'helix.voice.dedicated')).enabled, 'change after recovery')
})

t.test('Unleash answering garbage is logged once and the last known flags stay', async (t) => {
  const unleash = await fakeUnleash(t, { 'helix.bot.voice': true })
  const { logger, lines } = capturedLogger()
  const app = await build(t, { UNLEASH_URL: unleash.url, UNLEASH_REFRESH_MS: '100' }, { logger })
  t.match(await flag(app, 'helix.bot.voice'), { enabled: true, source: 'unleash' })

  unleash.garbage(true)
  const from = unleash.polls()
  await waitFor(() => unleash.polls() >= from + 5, 'five garbage polls')
  t.match(await flag(app, 'helix.bot.voice'), { enabled: true, source: 'unleash' })
  t.equal(lines.filter((l) => l.includes('answering garbage')).length, 1, 'logged once')

  unleash.garbage(false)
  unleash.set('helix.bot.voice', false)
  await waitFor(async () => !(await flag(app, 'helix.bot.voice')).enabled, 'a good answer to apply')
})

t.test('bad input', async (t) => {
  const app = await build(t)
  const unknown = await put(app, 'helix.nope', { enabled: true })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().error, 'not_found')
  t.equal((await app.inject({ method: 'DELETE', url: '/admin/flags/helix.nope', headers: bearer(app, ['admin']) })).statusCode, 404)

  for (const enabled of ['yes', 'true', 1, null]) {
    const res = await put(app, 'helix.voice.dedicated', { enabled })
    t.equal(res.statusCode, 400, `enabled=${JSON.stringify(enabled)}`)
    t.equal(res.json().error, 'validation_failed')
  }
  t.equal((await put(app, 'helix.voice.dedicated', {})).statusCode, 400, 'enabled missing')
  t.equal((await put(app, 'helix.voice.dedicated', { enabled: true, ttlSeconds: 0 })).statusCode, 400, 'ttl 0')
  t.equal(app.helix.kernel.flags.isEnabled('helix.voice.dedicated'), false, 'nothing was applied')

  const forbidden = await put(app, 'helix.voice.dedicated', { enabled: true }, ['agents:write'])
  t.equal(forbidden.statusCode, 403)
  t.equal(forbidden.json().error, 'forbidden')
  t.equal((await app.inject({ url: '/admin/flags', headers: bearer(app, ['stream:read']) })).statusCode, 403)
  t.equal((await app.inject('/admin/flags')).statusCode, 401)
})

t.test('a malformed bootstrap file fails boot with a message naming the file', async (t) => {
  const file = path.join(tempDir(t), 'flags.json')
  writeFileSync(file, '{"features": [{"name": "helix.voice.dedicated", "enabled": "maybe"}]}')
  await t.rejects(build(t, { HELIX_FLAGS_BOOTSTRAP: file }), { name: 'ConfigError', message: new RegExp(`Invalid flags bootstrap file ${file}: /features/0/enabled`) })
  writeFileSync(file, '{not json')
  await t.rejects(build(t, { HELIX_FLAGS_BOOTSTRAP: file }), { name: 'ConfigError', message: new RegExp(`Invalid flags bootstrap file ${file}`) })
})
