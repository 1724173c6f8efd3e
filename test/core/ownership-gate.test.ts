// The gate in one process: a plugin this process does not own answers 503 not_owner when there is no
// service to proxy to, and serves again once ownership comes back; discovery follows.
import t from 'tap'
import { echoPlugin } from '../fixtures/echo-plugin.js'
import { bearer, build } from '../helpers/build.js'
import { ManualFlags } from '../helpers/manual-flags.js'
import { freePort } from '../helpers/net.js'

t.test('a monolith without a service URL for the owner refuses with not_owner', async (t) => {
  const app = await build(t, { HELIX_PUBLIC_URL: 'https://helix.example.com', HELIX_PUBLIC_URLS: 'voice=https://voice.example.com' }, { plugins: [echoPlugin] })
  const changes: unknown[] = []
  app.helix.gate.onChange((change) => changes.push(change))
  t.equal((await app.inject('/api/voice/whoami')).json().role, 'all')

  const put = await app.inject({ method: 'PUT', url: '/admin/flags/helix.voice.dedicated', headers: bearer(app, ['admin']), payload: { enabled: true } })
  t.equal(put.statusCode, 200)
  const refused = await app.inject('/api/voice/whoami')
  t.equal(refused.statusCode, 503)
  t.equal(refused.headers['retry-after'], '1')
  t.same(refused.json(), { error: 'not_owner', message: 'This service does not own the voice plugin right now', plugin: 'voice', owner: 'https://voice.example.com' })
  t.same((await app.inject('/.well-known/helix.json')).json().plugins.voice, { owner: 'dedicated', url: 'https://voice.example.com', ws: 'wss://voice.example.com/api/voice/ws' })
  t.same(changes, [{ plugin: 'voice', owned: false, owner: 'dedicated' }])

  await app.inject({ method: 'DELETE', url: '/admin/flags/helix.voice.dedicated', headers: bearer(app, ['admin']) })
  t.equal((await app.inject('/api/voice/whoami')).json().role, 'all')
  t.same((await app.inject('/.well-known/helix.json')).json().plugins.voice.url, 'https://helix.example.com')
  t.equal((await app.inject('/health/ready')).statusCode, 200, 'routes outside plugins never pass the gate')
})

t.test('owner unreachable: the monolith serves reads itself, saying so, and refuses writes with 503', async (t) => {
  const flags = new ManualFlags()
  const port = await freePort()
  const app = await build(t, { HELIX_SERVICE_URLS: `voice=http://127.0.0.1:${port}` }, { plugins: [echoPlugin], flags })
  flags.flip('helix.voice.dedicated', true)

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
