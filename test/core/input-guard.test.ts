// The input every route gets (issue 10, findings 1, 7 and 8): JSON bodies nested past 32 levels are
// `400 too_deep`, a NUL anywhere in the URL or a JSON body is `400 invalid_character` naming where,
// unknown query parameters are `400 validation_failed` naming the parameter, and the database
// refusing a value is a 400, never a 500.
import t from 'tap'
import { Type } from 'typebox'
import { definePlugin } from '../../core/plugin.js'
import { build, bearer } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { probePlugin } from '../fixtures/probe-plugin.js'

const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels)

t.test('bodies nested past 32 levels are too_deep on every route; 32 levels are the schema\'s to judge', async (t) => {
  const app = await build(t, {}, { plugins: [probePlugin] })
  const headers = { ...bearer(app, ['admin']), 'content-type': 'application/json' }
  const post = (url: string, payload: string, method: 'POST' | 'PUT' = 'POST') => app.inject({ method, url, headers, payload })

  // The body is the first level.
  const routes = ['/api/probe/items', '/admin/tokens/revoke']
  for (const url of routes) {
    const deep = await post(url, `{"name":${nested(5000)}}`)
    t.same([deep.statusCode, deep.json().error], [400, 'too_deep'], `${url}: 5,000 levels`)
    t.match(deep.json().message, /32 levels/)
    t.same((await post(url, `{"name":${nested(32)}}`)).json().error, 'too_deep', `${url}: 33 levels`)
    t.same((await post(url, `{"name":${nested(31)}}`)).json().error, 'validation_failed', `${url}: 32 levels reach the schema`)
  }
  const flagRoute = await post('/admin/flags/helix.voice.dedicated', `{"enabled":${nested(40)}}`, 'PUT')
  t.same([flagRoute.statusCode, flagRoute.json().error], [400, 'too_deep'], 'a route of the kernel too')
  const brackets = await post('/api/probe/items', JSON.stringify({ name: '['.repeat(45) + '{'.repeat(45) }))
  t.equal(brackets.statusCode, 201, 'brackets inside strings are text, not nesting')
  const escaped = await post('/api/probe/items', JSON.stringify({ name: 'a "quoted" \\[ name' }))
  t.equal(escaped.statusCode, 201, 'escaped quotes do not end a string early')
  t.same((await post('/api/probe/items', '{"name":')).json().error, 'invalid_json', 'bad JSON is still invalid_json')
  t.same((await post('/api/probe/items', '{"name":"x","__proto__":{"admin":true}}')).json().error, 'invalid_json', 'prototype poisoning is still refused')
  t.equal((await app.inject('/health/live')).statusCode, 200)
})

t.test('a NUL character in the path, a query value or name, a body string or key is invalid_character naming where', async (t) => {
  const app = await build(t, {}, { plugins: [probePlugin] })
  const headers = { ...bearer(app, ['admin']), 'content-type': 'application/json' }
  const cases: [string, { url: string; method?: 'POST'; payload?: string }, string][] = [
    ['path', { url: '/api/probe/read%00' }, 'the URL path'],
    ['query value', { url: '/api/probe/slow?ms=1%00' }, 'query parameter "ms"'],
    ['query name', { url: '/api/probe/slow?ms=1&x%00=1' }, 'a query parameter name'],
    ['body string', { url: '/api/probe/items', method: 'POST', payload: '{"name":"kael\\u0000"}' }, 'body/name'],
    ['body key', { url: '/api/probe/items', method: 'POST', payload: '{"name":"x","nested":{"a\\u0000b":1}}' }, 'body/nested/a\\u0000b'],
    ['deep in an array', { url: '/api/probe/items', method: 'POST', payload: '{"plan":[{"args":["ok","\\u0000"]}]}' }, 'body/plan/0/args/1'],
    ['unknown route', { url: '/api/nothing%00' }, 'the URL path']
  ]
  for (const [name, request, where] of cases) {
    const res = await app.inject({ method: request.method ?? 'GET', url: request.url, headers, payload: request.payload })
    t.equal(res.statusCode, 400, name)
    t.match(res.json(), { error: 'invalid_character', message: /contains a NUL character/, where }, name)
  }
  const notNul = await app.inject({ method: 'POST', url: '/api/probe/items', headers, payload: JSON.stringify({ name: 'a\\u0000 written out' }) })
  t.equal(notNul.statusCode, 201, 'an escaped backslash followed by u0000 is text, not a NUL')
  const encodedPercent = await app.inject({ url: '/api/probe/slow?ms=%2500' })
  t.same(encodedPercent.json().error, 'validation_failed', '%2500 is the text "%00", left to the schema')
})

t.test('unknown query parameters are validation_failed naming the parameter, on routes with and without a query schema', async (t) => {
  const app = await build(t, {}, { plugins: [probePlugin] })
  const cases: [string, string][] = [
    ['/api/probe/slow?ms=1&verbose=1', 'verbose'],
    ['/health/live?probe=1', 'probe'],
    ['/api/probe/read?x=1', 'x'],
    ['/.well-known/helix.json?format=yaml', 'format'],
    ['/metrics?name[]=a', 'name[]']
  ]
  for (const [url, name] of cases) {
    const res = await app.inject({ url, headers: bearer(app, ['admin']) })
    t.equal(res.statusCode, 400, url)
    t.same([res.json().error, res.json().message], ['validation_failed', `Unknown query parameter ${JSON.stringify(name)}`], url)
  }
  t.equal((await app.inject('/api/probe/slow?ms=1')).statusCode, 200, 'declared parameters pass')
  t.equal((await app.inject('/health/live')).statusCode, 200)
  const typed = await app.inject('/api/probe/slow?ms=soon')
  t.same([typed.statusCode, typed.json().message], [400, 'query/ms must be integer'], 'a wrong type names the parameter')
  const body = await app.inject({ method: 'POST', url: '/api/probe/items', headers: bearer(app, ['admin']), payload: { name: 'x', admin: true } })
  t.same(body.json().message, 'Unknown property "admin" in body', 'an unknown body property is named too')
})

t.test('a value PostgreSQL refuses (SQLSTATE class 22) is a 400, not a 500', async (t) => {
  // A route that hands its input to PostgreSQL unchecked, as a schema that forgot a bound would.
  const castPlugin = definePlugin({
    name: 'voice',
    roles: ['voice'],
    ownershipFlag: null,
    create(kernel) {
      return {
        async routes(scope) {
          scope.get('/api/cast', { schema: { querystring: Type.Object({ since: Type.String() }) } }, async (request) => {
            const [rows] = await kernel.db.sequelize.query('SELECT $1::bigint AS since', { bind: [(request.query as { since: string }).since] })
            return rows
          })
        }
      }
    }
  })
  const app = await build(t, { DATABASE_URL: await createTestDatabase(t, 'input_guard') }, { plugins: [castPlugin] })
  t.equal((await app.inject('/api/cast?since=42')).statusCode, 200)
  for (const since of ['99999999999999999999', 'yesterday']) {
    const res = await app.inject(`/api/cast?since=${since}`)
    t.equal(res.statusCode, 400, since)
    t.same(res.json(), { error: 'validation_failed', message: 'A value in the request is malformed or out of range' }, since)
  }
})
