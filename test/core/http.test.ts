// The kernel's HTTP surface: auth, coded errors for bad input, health, metrics and OpenAPI.
import SwaggerParser from '@apidevtools/swagger-parser'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { build, bearer, TEST_SECRET, tokenFor } from '../helpers/build.js'
import { privateRedis, redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { probePlugin } from '../fixtures/probe-plugin.js'

const plugins = [probePlugin]

t.test('auth: missing, malformed, expired, forged and under-scoped tokens', async (t) => {
  const app = await build(t, {}, { plugins })
  const call = (authorization?: string) => app.inject({ url: '/api/probe/read', headers: authorization ? { authorization } : {} })

  const ok = await call(`Bearer ${tokenFor(app, ['agents:read'], 60, 'alice')}`)
  t.same([ok.statusCode, ok.json()], [200, { sub: 'alice' }])
  const admin = await call(`Bearer ${tokenFor(app, ['admin'])}`)
  t.equal(admin.statusCode, 200, 'admin holds every scope')

  const cases: [string, string | undefined, number, string][] = [
    ['no header', undefined, 401, 'unauthorized'],
    ['not bearer', `Basic ${tokenFor(app, ['agents:read'])}`, 401, 'unauthorized'],
    ['garbage', 'Bearer not.a.jwt', 401, 'unauthorized'],
    ['expired', `Bearer ${createSigner({ key: TEST_SECRET })({ sub: 'a', scope: 'agents:read', exp: Math.floor(Date.now() / 1000) - 10 })}`, 401, 'token_expired'],
    ['bad signature', `Bearer ${createSigner({ key: 'another-secret-0123456789abcdef0123456789' })({ sub: 'a', scope: 'agents:read', exp: Math.floor(Date.now() / 1000) + 60 })}`, 401, 'unauthorized'],
    ['no exp claim', `Bearer ${createSigner({ key: TEST_SECRET })({ sub: 'a', scope: 'agents:read' })}`, 401, 'unauthorized'],
    ['alg none', `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"a","scope":"admin","exp":9999999999}').toString('base64url')}.`, 401, 'unauthorized'],
    ['wrong scope', `Bearer ${tokenFor(app, ['stream:read'])}`, 403, 'forbidden']
  ]
  for (const [name, header, status, code] of cases) {
    const res = await call(header)
    t.equal(res.statusCode, status, name)
    t.equal(res.json().error, code, name)
    t.type(res.json().message, 'string', name)
  }
})

t.test('bad input gets coded errors', async (t) => {
  const app = await build(t, { HELIX_BODY_LIMIT: '2048' }, { plugins })
  const headers = { ...bearer(app, ['agents:write']), 'content-type': 'application/json' }
  const post = (payload: string, extra: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/api/probe/items', headers: { ...headers, ...extra }, payload })

  const created = await post('{"name":"first"}')
  t.same([created.statusCode, created.json().name], [201, 'first'])
  const expectations: [string, Awaited<ReturnType<typeof post>>, number, string][] = [
    ['malformed JSON', await post('{"name":'), 400, 'invalid_json'],
    ['empty JSON body', await post(''), 400, 'invalid_json'],
    ['__proto__ key', await post('{"name":"x","__proto__":{"admin":true}}'), 400, 'invalid_json'],
    ['constructor.prototype', await post('{"name":"x","constructor":{"prototype":{"admin":true}}}'), 400, 'invalid_json'],
    ['schema violation', await post('{"name":""}'), 400, 'validation_failed'],
    ['wrong type', await post('{"name":{"first":"x"}}'), 400, 'validation_failed'],
    ['unknown property', await post('{"name":"x","admin":true}'), 400, 'validation_failed'],
    ['wrong content type', await post('name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type'],
    ['oversized body', await post(JSON.stringify({ name: 'x'.repeat(4096) })), 413, 'payload_too_large']
  ]
  for (const [name, res, status, code] of expectations) {
    t.equal(res.statusCode, status, name)
    t.equal(res.json().error, code, `${name}: ${res.body}`)
  }
  const unknown = await app.inject({ url: '/api/nothing-here?x=1' })
  t.same([unknown.statusCode, unknown.json()], [404, { error: 'not_found', message: 'Route GET /api/nothing-here not found' }])
  const query = await app.inject({ url: '/api/probe/slow?ms=-1' })
  t.same([query.statusCode, query.json().error], [400, 'validation_failed'])
})

t.test('health: live, and ready flips with Redis', async (t) => {
  const redis = await privateRedis(t)
  const app = await build(t, { REDIS_URL: redis.url }, { plugins })
  const waitReady = async (want: number) => {
    for (let i = 0; i < 200; i++) {
      const res = await app.inject('/health/ready')
      if (res.statusCode === want) return res
      await new Promise((r) => setTimeout(r, 25))
    }
    throw new Error(`ready never answered ${want}`)
  }
  t.same((await app.inject('/health/live')).json(), { status: 'ok' })
  const ready = await waitReady(200)
  t.same(ready.json(), { status: 'ok', checks: { bus: 'ok', database: 'ok', flags: 'ok', plugins: { voice: 'ok' } } })
  await redis.stop()
  const down = await waitReady(503)
  t.same(down.json().checks.bus, 'unavailable')
  t.same(down.json().checks.database, 'ok', 'the body says which part is not ready')
  t.equal((await app.inject('/health/live')).statusCode, 200, 'still alive')
  await redis.start()
  t.equal((await waitReady(200)).statusCode, 200, 'ready again once Redis is back')
})

t.test('/metrics is Prometheus text with the request histogram', async (t) => {
  const app = await build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t) }, { plugins })
  await app.inject('/api/probe/slow?ms=1')
  const res = await app.inject('/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)( \d+)?$/
  const comment = /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/
  const bad = res.body.split('\n').filter((line) => line !== '' && !sample.test(line) && !comment.test(line))
  t.same(bad, [], 'every line is a sample or a HELP/TYPE comment')
  t.match(res.body, /helix_http_request_duration_seconds_count\{role="all",method="GET",route="\/api\/probe\/slow",status="200"\} 1/)
  t.match(res.body, /process_cpu_user_seconds_total/)
})

t.test('/metrics behind HELIX_METRICS_TOKEN', async (t) => {
  const app = await build(t, { HELIX_METRICS_TOKEN: 'metrics-token-0123456789' })
  t.equal((await app.inject('/metrics')).statusCode, 401)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode, 401)
  t.equal((await app.inject({ url: '/metrics', headers: { authorization: 'Bearer metrics-token-0123456789' } })).statusCode, 200)
})

t.test('/docs/json is a valid OpenAPI document with the routes and their schemas', async (t) => {
  const app = await build(t, {}, { plugins })
  const res = await app.inject('/docs/json')
  const doc = res.json()
  await t.resolves(SwaggerParser.validate(structuredClone(doc)), 'valid OpenAPI')
  t.ok(doc.paths['/api/probe/items'].post.requestBody, 'request body schema documented')
  t.ok(doc.paths['/health/ready'].get.responses['503'], 'responses documented')
  const ui = await app.inject('/docs')
  t.equal(ui.statusCode, 200, '/docs serves the UI')
  t.match(ui.headers['content-type'], /text\/html/)
})

t.test('discovery lists the plugins this role loads', async (t) => {
  const app = await build(t, { HELIX_PUBLIC_URL: 'https://helix.example.com' }, { plugins })
  const res = await app.inject('/.well-known/helix.json')
  t.equal(res.statusCode, 200)
  t.match(res.json(), { name: 'helix', role: 'all', plugins: { voice: { owner: 'all', url: 'https://helix.example.com' } } })
  t.type(res.json().version, 'string')
})
