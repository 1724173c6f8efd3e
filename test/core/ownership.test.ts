// Ownership across two real processes on one Redis and the real Unleash server: the monolith (`all`)
// and the dedicated `voice` service running the echo test plugin. Flips by Unleash and by override.
import { pino } from 'pino'
import t from 'tap'
import WebSocket from 'ws'
import { RedisBus } from '../../core/bus/redis-bus.js'
import type { BusEvent } from '../../core/bus/types.js'
import { build, tokenFor } from '../helpers/build.js'
import { freePort } from '../helpers/net.js'
import { startHelix } from '../helpers/process.js'
import { unleashServer } from '../helpers/unleash-server.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { createRedisFactory } from '../../core/redis.js'

/** Tokens from an in-process app: it signs with TEST_SECRET, as the spawned processes verify. */
const minter = await build(t)
const admin = { authorization: `Bearer ${tokenFor(minter, ['admin'])}`, 'content-type': 'application/json' }

async function whoami(url: string): Promise<{ status: number; body: { role?: string; error?: string; owner?: string | null } ; retryAfter: string | null; fallback: string | null }> {
  const res = await fetch(`${url}/api/voice/whoami`)
  return { status: res.status, body: await res.json(), retryAfter: res.headers.get('retry-after'), fallback: res.headers.get('x-helix-fallback') }
}

/** Opens a WebSocket, sends one message and resolves with the answer (or rejects with the refusal). */
function wsRoundTrip(url: string, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/voice/ws`)
    ws.once('open', () => ws.send(message))
    ws.once('message', (data) => {
      resolve(data.toString())
      ws.close()
    })
    ws.once('unexpected-response', (_req, res) => {
      let body = ''
      res.on('data', (c: Buffer) => (body += c.toString()))
      res.on('end', () => reject(Object.assign(new Error(`refused ${res.statusCode}`), { status: res.statusCode, body })))
    })
    ws.once('error', reject)
  })
}

t.test('flip ownership of a plugin between the monolith and its dedicated service', async (t) => {
  const prefix = redisPrefix(t)
  const unleash = await unleashServer(t)
  const [monoPort, voicePort] = [await freePort(), await freePort()]
  const monoUrl = `http://127.0.0.1:${monoPort}`
  const voiceUrl = `http://127.0.0.1:${voicePort}`
  const shared = {
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: prefix,
    UNLEASH_URL: unleash.url,
    UNLEASH_API_TOKEN: unleash.clientToken,
    UNLEASH_REFRESH_MS: '200',
    HELIX_PUBLIC_URLS: `all=${monoUrl},voice=${voiceUrl}`
  }
  const events: BusEvent[] = []
  const bus = new RedisBus({ redis: createRedisFactory(sharedRedisUrl, pino({ level: 'silent' })), prefix, historyLen: 100, source: 'test', log: pino({ level: 'silent' }) })
  t.teardown(() => bus.close())
  await bus.subscribe('system', (event) => events.push(event))

  const [mono, voice] = await Promise.all([
    startHelix(t, { entry: 'test/fixtures/server.ts', env: { ...shared, PORT: String(monoPort), HELIX_ROLE: 'all', HELIX_SERVICE_URLS: `voice=${voiceUrl}` } }),
    startHelix(t, { entry: 'test/fixtures/server.ts', env: { ...shared, PORT: String(voicePort), HELIX_ROLE: 'voice' } })
  ])

  t.test('flag off: the monolith serves, the dedicated service refuses', async (t) => {
    t.match(await whoami(mono.url), { status: 200, body: { role: 'all' } })
    t.same(await whoami(voice.url), {
      status: 503,
      retryAfter: '1',
      fallback: null,
      body: { error: 'not_owner', message: 'This service does not own the voice plugin right now', plugin: 'voice', owner: monoUrl }
    })
    const refused = await wsRoundTrip(voice.url, 'hi').then(() => null, (err: { status: number; body: string }) => err)
    t.match(refused, { status: 503, body: /"error":"not_owner"/ }, 'the WebSocket upgrade is refused with not_owner')
    t.equal(await wsRoundTrip(mono.url, 'hi'), 'all:hi')
  })

  t.test('Unleash flip on: the monolith proxies HTTP and WebSocket to the dedicated service', async (t) => {
    await unleash.set('helix.voice.dedicated', true)
    await waitFor(async () => (await whoami(mono.url)).body.role === 'voice', 'the monolith to proxy')
    t.match(await whoami(voice.url), { status: 200, body: { role: 'voice' } })
    const echo = await fetch(`${mono.url}/api/voice/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'through the proxy' }) })
    t.same(await echo.json(), { text: 'through the proxy', role: 'voice' })
    t.equal(await wsRoundTrip(mono.url, 'hello'), 'voice:hello', 'a WebSocket to the monolith talks to the dedicated service')
    const disco = await (await fetch(`${mono.url}/.well-known/helix.json`)).json()
    t.same(disco.plugins.voice, { owner: 'dedicated', url: voiceUrl, ws: `${voiceUrl.replace('http', 'ws')}/api/voice/ws` })
    const flags = await (await fetch(`${mono.url}/admin/flags`, { headers: admin })).json()
    t.match(flags.flags.find((f: { name: string }) => f.name === 'helix.voice.dedicated'), { enabled: true, source: 'unleash', unleash: true })
  })

  t.test('Unleash flip off: the dedicated service refuses again, the monolith serves locally', async (t) => {
    await unleash.set('helix.voice.dedicated', false)
    await waitFor(async () => (await whoami(voice.url)).status === 503, 'the dedicated service to let go')
    // Until the monolith has seen the flip itself it still proxies, and serves reads only as a fallback.
    await waitFor(async () => {
      const answer = await whoami(mono.url)
      return answer.body.role === 'all' && answer.fallback === null
    }, 'the monolith to own the plugin again')
    t.equal(await wsRoundTrip(mono.url, 'back'), 'all:back')
  })

  t.test('the override channel flips with Unleash stopped', async (t) => {
    await unleash.stop()
    const put = await fetch(`${mono.url}/admin/flags/helix.voice.dedicated`, { method: 'PUT', headers: admin, body: JSON.stringify({ enabled: true, ttlSeconds: 600 }) })
    t.equal(put.status, 200)
    await waitFor(async () => (await whoami(voice.url)).status === 200, 'the dedicated service to take over')
    await waitFor(async () => (await whoami(mono.url)).body.role === 'voice', 'the monolith to proxy')
    t.equal(await wsRoundTrip(mono.url, 'override'), 'voice:override')

    const del = await fetch(`${voice.url}/admin/flags/helix.voice.dedicated`, { method: 'DELETE', headers: { authorization: admin.authorization } })
    t.match(await del.json(), { enabled: false, source: 'unleash', override: null }, 'back to the last value Unleash gave')
    await waitFor(async () => (await whoami(mono.url)).body.role === 'all', 'the monolith to serve again')
    t.match(await whoami(voice.url), { status: 503, body: { error: 'not_owner' } })
  })

  t.test('each change was published as system.owner_changed', async (t) => {
    const changes = events.filter((e) => e.type === 'system.owner_changed').map((e) => e.data as { plugin: string; owned: boolean; role: string })
    t.same(changes.filter((c) => c.role === 'all').map((c) => c.owned), [false, true, false, true])
    t.same(changes.filter((c) => c.role === 'voice').map((c) => c.owned), [true, false, true, false])
    t.ok(events.some((e) => e.type === 'system.flags'))
  })
})
