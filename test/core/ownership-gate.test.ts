// The gate with live owners: a dedicated flag is refused while no ready process of the role exists,
// a forced one leaves the plugin with the monolith (raising ownership.no_owner) until a ready service
// is announced, and a monolith without a service URL for that owner refuses with not_owner.
import t from 'tap'
import type { BusEvent } from '../../core/bus/types.js'
import { echoPlugin } from '../fixtures/echo-plugin.js'
import { bearer, build } from '../helpers/build.js'
import { freePort } from '../helpers/net.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

type Test = { teardown(fn: () => unknown): void }

/** A monolith and the environment a dedicated voice service on the same Redis would share. */
async function monolith(t: Test, env: Record<string, string> = {}) {
  const shared = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), HELIX_LIVE_OWNER_TTL_MS: '1500', ...env }
  const app = await build(t, { ...shared, HELIX_PUBLIC_URL: 'https://helix.example.com', HELIX_PUBLIC_URLS: 'voice=https://voice.example.com' }, { plugins: [echoPlugin] })
  const admin = bearer(app, ['admin'])
  const flagsView = async () => (await app.inject({ url: '/admin/flags', headers: admin })).json()
  const put = (payload: object) => app.inject({ method: 'PUT', url: '/admin/flags/helix.voice.dedicated', headers: admin, payload })
  return { app, shared, admin, flagsView, put }
}

t.test('no ready voice service: turning helix.voice.dedicated on is refused; forced, the monolith keeps voice and says so', async (t) => {
  const { app, flagsView, put } = await monolith(t)
  const alerts: BusEvent[] = []
  await app.helix.kernel.bus.subscribe('system', (event) => { if (event.type === 'ownership.no_owner') alerts.push(event) })

  const refused = await put({ enabled: true })
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { error: 'no_ready_owner', plugin: 'voice', message: /No ready voice service/ })
  t.equal((await flagsView()).flags.find((f: { name: string }) => f.name === 'helix.voice.dedicated').enabled, false, 'nothing was stored')
  t.equal((await put({ enabled: true, force: 'yes' })).statusCode, 400, 'force must be a boolean')

  const forced = await put({ enabled: true, force: true, ttlSeconds: 60 })
  t.equal(forced.statusCode, 200)
  t.equal(forced.json().source, 'override')
  t.equal((await app.inject('/api/voice/whoami')).json().role, 'all', 'the monolith still serves voice')
  const view = await flagsView()
  t.match(view.plugins.voice, { flag: 'helix.voice.dedicated', dedicated: true, owner: 'all', noOwner: true, ready: { all: 1, dedicated: 0 } })
  t.match(view.owners, [{ roles: ['all'], kind: 'all', ready: true, self: true }])
  t.same((await app.inject('/.well-known/helix.json')).json().plugins.voice.owner, 'all', 'discovery names the real owner')
  const alert = await waitFor(() => alerts[0], 'ownership.no_owner on system')
  t.match(alert.data, { plugin: 'voice', flag: 'helix.voice.dedicated', role: 'all' })
  t.equal(alerts.length, 1, 'raised once, when the condition starts')
})

t.test('a ready voice service takes the plugin; without a service URL the monolith answers not_owner', async (t) => {
  const { app, shared, flagsView, put } = await monolith(t)
  const changes: unknown[] = []
  app.helix.gate.onChange((change) => changes.push(change))
  await build(t, { ...shared, HELIX_ROLE: 'voice' }, { plugins: [echoPlugin] })
  await waitFor(async () => (await flagsView()).plugins.voice.ready.dedicated === 1, 'the voice service announced as ready')

  t.equal((await put({ enabled: true })).statusCode, 200)
  await waitFor(() => changes.length > 0, 'the monolith let go of voice')
  const refused = await app.inject('/api/voice/whoami')
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '1')
  t.same(refused.json(), { error: 'not_owner', message: 'This service does not own the voice plugin right now', plugin: 'voice', owner: 'https://voice.example.com' })
  t.same((await app.inject('/.well-known/helix.json')).json().plugins.voice, { owner: 'dedicated', url: 'https://voice.example.com', ws: 'wss://voice.example.com/api/voice/ws' })
  t.same(changes, [{ plugin: 'voice', owned: false, owner: 'dedicated' }])
  t.match((await flagsView()).plugins.voice, { owner: 'dedicated', noOwner: false })

  await app.inject({ method: 'DELETE', url: '/admin/flags/helix.voice.dedicated', headers: bearer(app, ['admin']) })
  await waitFor(async () => (await app.inject('/api/voice/whoami')).json().role === 'all', 'the monolith serving voice again')
  t.same((await app.inject('/.well-known/helix.json')).json().plugins.voice.url, 'https://helix.example.com')
  t.equal((await app.inject('/health/ready')).statusCode, 200, 'routes outside plugins never pass the gate')
})

t.test('the ready voice service goes away: the monolith takes voice back within the key TTL and raises ownership.no_owner', async (t) => {
  const { app, shared, flagsView, put } = await monolith(t)
  const alerts: BusEvent[] = []
  await app.helix.kernel.bus.subscribe('system', (event) => { if (event.type === 'ownership.no_owner') alerts.push(event) })
  const voice = await build(t, { ...shared, HELIX_ROLE: 'voice' }, { plugins: [echoPlugin] })
  await waitFor(async () => (await flagsView()).plugins.voice.ready.dedicated === 1, 'the voice service announced as ready')
  t.equal((await put({ enabled: true })).statusCode, 200)
  await waitFor(() => !app.helix.gate.ownsPlugin('voice'), 'the monolith let go of voice')

  await voice.close()
  await waitFor(() => app.helix.gate.ownsPlugin('voice'), 'the monolith owning voice again', 5000)
  t.equal((await app.inject('/api/voice/whoami')).json().role, 'all')
  await waitFor(() => alerts.length === 1, 'ownership.no_owner raised')
  t.match((await flagsView()).plugins.voice, { dedicated: true, owner: 'all', noOwner: true })
})

t.test('owner unreachable: the monolith serves reads itself, saying so, and refuses writes with 503', async (t) => {
  const port = await freePort()
  const { app, shared, flagsView, put } = await monolith(t, { HELIX_SERVICE_URLS: `voice=http://127.0.0.1:${port}`, UNLEASH_REFRESH_MS: '500' })
  // Ready and announced, but its URL in HELIX_SERVICE_URLS points where nothing listens.
  await build(t, { ...shared, HELIX_ROLE: 'voice' }, { plugins: [echoPlugin] })
  await waitFor(async () => (await flagsView()).plugins.voice.ready.dedicated === 1, 'the voice service announced as ready')
  t.equal((await put({ enabled: true })).statusCode, 200)
  await waitFor(() => !app.helix.gate.ownsPlugin('voice'), 'the monolith let go of voice')

  const read = await app.inject('/api/voice/whoami')
  t.equal(read.statusCode, 200, 'a read is served here')
  t.equal(read.headers['x-helix-fallback'], 'owner-unreachable')
  t.equal(read.json().role, 'all')

  const write = await app.inject({ method: 'POST', url: '/api/voice/echo', payload: { text: 'hi' } })
  t.equal(write.statusCode, 503, 'a write never runs on a process that does not own the plugin')
  t.equal(write.headers['retry-after'], '1')
  t.equal(write.json().error, 'unavailable')
  const bodyless = await app.inject({ method: 'DELETE', url: '/api/voice/jobs' })
  t.equal(bodyless.statusCode, 503, 'neither does a write without a body')
})
