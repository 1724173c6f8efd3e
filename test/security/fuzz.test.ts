// Property-based fuzzing of every route in the OpenAPI document (/docs/json): malformed JSON, wrong
// types, NUL, huge and deeply nested values, odd encodings and headers. Whatever comes in, Helix
// answers below 500, every error has the documented {"error","message"} shape, and it stays alive.
import fc from 'fast-check'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { manifest } from '../../plugins/index.js'
import { bearer, build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'

t.setTimeout(600_000)

interface Operation {
  method: string
  path: string
  params: string[]
}

/** Every documented operation, WebSocket upgrades and the docs UI's own files aside. */
async function operations(app: FastifyInstance): Promise<Operation[]> {
  const doc = (await app.inject('/docs/json')).json() as { paths: Record<string, Record<string, unknown>> }
  const ops: Operation[] = []
  for (const [path, methods] of Object.entries(doc.paths)) {
    if (path === '/ws' || path.startsWith('/docs')) continue
    for (const method of Object.keys(methods)) {
      if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue
      ops.push({ method: method.toUpperCase(), path, params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]) })
    }
  }
  return ops
}

/** Strings an attacker or a careless client sends. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\u0000', 'a\u0000b', '%00', '%E0%A4%A', '..%2F..%2Fetc%2Fpasswd', '99999999999999999999', '-1', '1e999',
    'NaN', 'true', 'null', '__proto__', 'constructor', '{}', '[]', '\uD800', '\uFFFF', ' ', 'kael', 'status', '00000000-0000-0000-0000-000000000000'),
  fc.integer().map(String),
  fc.constant('x'.repeat(5000))
)

/** Nested deeper than the 32 levels Helix accepts, as text (JSON.stringify would refuse some of it). */
const deep = fc.integer({ min: 33, max: 5000 }).map((n) => '['.repeat(n) + ']'.repeat(n))

const bodies = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.dictionary(fc.constantFrom('name', 'slug', 'tier', 'role', 'command', 'args', 'channel', 'type', 'data', 'steps', 'enabled', 'text', 'content', '__proto__', 'constructor'), fc.oneof(nasty, fc.jsonValue({ maxDepth: 3 }))).map((v) => JSON.stringify(v)),
  fc.constantFrom('{', '{"a":', 'not json', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '"\\u0000"', '{"name":"a\\u0000b"}', ''),
  deep
)

/** Every byte percent-encoded (lone surrogates become U+FFFD), or sent as is when it is plain ASCII: '%E0%A4%A' stays a bad escape. */
function encode(value: string, raw: boolean): string {
  if (raw && /^[\x21-\x7e]*$/.test(value) && !/[/?#&=]/.test(value)) return value
  return [...Buffer.from(value, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')
}

const contentTypes = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'application/json; charset=latin1')

/** Throws, with what was sent and what came back, when an answer breaks the contract. */
function checkAnswer(op: Operation, res: { statusCode: number; body: string }, what: string): void {
  if (res.statusCode >= 500 && res.statusCode !== 503) {
    throw new Error(`${op.method} ${op.path} answered ${res.statusCode} to ${what}: ${res.body.slice(0, 300)}`)
  }
  if (res.statusCode >= 400) {
    let body: { error?: unknown; message?: unknown } = {}
    try {
      body = JSON.parse(res.body) as typeof body
    } catch {
      // falls through to the failure below
    }
    if (typeof body.error !== 'string' || typeof body.message !== 'string') {
      throw new Error(`${op.method} ${op.path} answered ${res.statusCode} outside the error shape to ${what}: ${res.body.slice(0, 300)}`)
    }
  }
}

t.test('every route survives malformed, hostile and huge input', async (t) => {
  const app = await build(t, {
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: redisPrefix(t),
    DATABASE_URL: await createTestDatabase(t, 'fuzz'),
    HELIX_RATE_PUBLISH: '1000000',
    HELIX_RATE_WRITE: '1000000'
  }, { plugins: manifest })
  const ops = await operations(app)
  t.ok(ops.length >= 20, `${ops.length} operations to fuzz`)
  const admin = bearer(app, ['admin'])

  const failures: string[] = []
  for (const op of ops) {
    await fc.assert(
      fc.asyncProperty(
        fc.array(nasty, { minLength: op.params.length, maxLength: op.params.length }),
        fc.dictionary(fc.oneof(fc.constantFrom('limit', 'cursor', 'since', 'status', 'tier', 'capability', 'state', 'token'), fc.string({ maxLength: 10 })), nasty, { maxKeys: 3 }),
        bodies,
        contentTypes,
        fc.boolean(),
        fc.boolean(),
        async (params, query, body, contentType, authed, raw) => {
          let url = op.path
          for (const [i, name] of op.params.entries()) url = url.replace(`{${name}}`, encode(params[i], raw))
          const qs = Object.entries(query).map(([k, v]) => `${encode(k, raw)}=${encode(v, raw)}`).join('&')
          const res = await app.inject({
            method: op.method as 'GET',
            url: qs ? `${url}?${qs}` : url,
            headers: { ...(authed ? admin : {}), 'content-type': contentType },
            payload: op.method === 'GET' || op.method === 'DELETE' ? undefined : body
          })
          checkAnswer(op, res, `${url}${qs ? `?${qs}` : ''} (${contentType}, ${authed ? 'admin token' : 'no token'}) body ${JSON.stringify(body.slice(0, 80))}`)
        }
      ),
      { numRuns: 25, seed: 20261130 + ops.indexOf(op) }
    ).catch((err: Error) => failures.push(err.message.split('\n').filter((l) => /Counterexample|answered/.test(l)).join(' ') || err.message))
  }
  t.same(failures, [], 'no 5xx and no answer outside the error shape')
  const live = await app.inject('/health/live')
  t.equal(live.statusCode, 200, 'still alive')
})
