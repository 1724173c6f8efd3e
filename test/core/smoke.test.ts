import t from 'tap'
import { build, bearer } from '../helpers/build.js'

t.test('embedded app answers health, discovery, docs and metrics', async (t) => {
  const app = await build(t)
  const ready = await app.inject('/health/ready')
  t.equal(ready.statusCode, 200, ready.body)
  const disco = await app.inject('/.well-known/helix.json')
  t.same(disco.json().name, 'helix')
  const docs = await app.inject('/docs/json')
  t.equal(docs.json().openapi.slice(0, 2), '3.')
  const metrics = await app.inject('/metrics')
  t.match(metrics.body, /helix_http_request_duration_seconds_bucket/)
  const nf = await app.inject('/nope')
  t.same(nf.json(), { error: 'not_found', message: 'Route GET /nope not found' })
  t.ok(bearer(app, ['admin']).authorization)
})
