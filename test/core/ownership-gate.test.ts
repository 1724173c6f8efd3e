// The gate in one process: a plugin this process does not own answers 503 not_owner when there is no
// service to proxy to, and serves again once ownership comes back; discovery follows.
import t from 'tap'
import { echoPlugin } from '../fixtures/echo-plugin.js'
import { bearer, build } from '../helpers/build.js'

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
