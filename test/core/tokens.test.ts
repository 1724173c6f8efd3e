// Keys and revocation (issue 10, finding 14): HELIX_JWT_SECRET lists two secrets while it rotates (the
// first signs, both verify); a token revoked by its jti is refused with 401 token_revoked by every
// replica sharing the Redis prefix, over HTTP and on new WebSocket connects, until the token expires.
import { createDecoder, createSigner, createVerifier } from 'fast-jwt'
import { Redis } from 'ioredis'
import t from 'tap'
import { ConfigError, loadConfig } from '../../config/index.js'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build, tempDir, TEST_SECRET, tokenFor } from '../helpers/build.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { probePlugin } from '../fixtures/probe-plugin.js'
import { helix } from '../cli/cli.js'
import { listen, refusedUpgrade } from '../stream/ws.js'

const NEW_SECRET = 'new-secret-0123456789abcdef0123456789abcdef'
const OLD_SECRET = 'old-secret-0123456789abcdef0123456789abcdef'
const decode = createDecoder()
const now = () => Math.floor(Date.now() / 1000)
const sign = (key: string, claims: Record<string, unknown> = {}) => createSigner({ key })({ sub: 'alice', scope: 'agents:read', exp: now() + 600, ...claims })

t.test('rotation: the first secret signs, either verifies, an unlisted one is refused', async (t) => {
  const app = await build(t, { HELIX_JWT_SECRET: `${NEW_SECRET},${OLD_SECRET}` }, { plugins: [probePlugin] })
  const read = (token: string) => app.inject({ url: '/api/probe/read', headers: { authorization: `Bearer ${token}` } })

  t.equal((await read(sign(OLD_SECRET))).statusCode, 200, 'a token of the old secret (second in the list) still verifies')
  t.equal((await read(sign(NEW_SECRET))).statusCode, 200, 'a token of the new secret verifies')
  const minted = tokenFor(app, ['agents:read'])
  t.doesNotThrow(() => createVerifier({ key: NEW_SECRET })(minted), 'the app signs with the first secret')
  t.throws(() => createVerifier({ key: OLD_SECRET })(minted), 'not with the second')

  const unlisted = await read(sign('another-secret-0123456789abcdef0123456789'))
  t.same([unlisted.statusCode, unlisted.json().error], [401, 'unauthorized'], 'a secret not listed is refused')
  const expiredOld = await read(sign(OLD_SECRET, { exp: now() - 10 }))
  t.same([expiredOld.statusCode, expiredOld.json().error], [401, 'token_expired'], 'an expired token of the old secret says so')

  const afterRotation = await build(t, { HELIX_JWT_SECRET: NEW_SECRET }, { plugins: [probePlugin] })
  const dropped = await afterRotation.inject({ url: '/api/probe/read', headers: { authorization: `Bearer ${sign(OLD_SECRET)}` } })
  t.same([dropped.statusCode, dropped.json().error], [401, 'unauthorized'], 'once the old secret is dropped, its tokens are refused')
})

t.test('HELIX_JWT_SECRET: one or two secrets of at least 32 characters', async (t) => {
  const errorFor = (value: string) => {
    try {
      loadConfig({ HELIX_JWT_SECRET: value })
      return null
    } catch (err) {
      return err instanceof ConfigError ? err.message : String(err)
    }
  }
  t.same(loadConfig({ HELIX_JWT_SECRET: `${NEW_SECRET},${OLD_SECRET}` }).jwtSecrets, [NEW_SECRET, OLD_SECRET])
  t.equal(loadConfig({ HELIX_JWT_SECRET: `${NEW_SECRET},${OLD_SECRET}` }).jwtSecret, NEW_SECRET, 'the first signs')
  t.match(errorFor(`${NEW_SECRET},short`), /^Invalid HELIX_JWT_SECRET=\(\d+ characters, value hidden\): has the wrong form; expected at least 32 characters, or two such secrets separated by a comma/)
  t.match(errorFor(`${NEW_SECRET},${OLD_SECRET},${TEST_SECRET}`), /has the wrong form/, 'three are refused')
  t.match(errorFor('too-short'), /is too short/)
  t.notMatch(errorFor(`${NEW_SECRET},short`), /new-secret/, 'the value stays hidden')
})

t.test('revocation: every replica sharing the prefix refuses the token, on HTTP and on WebSocket connects', async (t) => {
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t, 'revoke') }
  const plugins = [probePlugin, streamPlugin]
  const [a, b] = await Promise.all([build(t, env, { plugins }), build(t, env, { plugins })])
  const token = tokenFor(a, ['agents:read', 'stream:read'], 600, 'alice')
  const kept = tokenFor(a, ['agents:read'], 600, 'bob')
  const { jti, exp } = decode(token) as { jti: string; exp: number }
  t.type(jti, 'string', 'minted tokens carry a jti')
  const read = (app: typeof a, bearer: string) => app.inject({ url: '/api/probe/read', headers: { authorization: `Bearer ${bearer}` } })
  t.equal((await read(b, token)).statusCode, 200)

  const admin = tokenFor(a, ['admin'])
  const denied = await a.inject({ method: 'POST', url: '/admin/tokens/revoke', headers: { authorization: `Bearer ${token}` }, payload: { jti } })
  t.same([denied.statusCode, denied.json().error], [403, 'forbidden'], 'only admins revoke')
  const revoked = await a.inject({ method: 'POST', url: '/admin/tokens/revoke', headers: { authorization: `Bearer ${admin}` }, payload: { jti, exp } })
  t.same([revoked.statusCode, revoked.json()], [200, { jti, revokedUntil: new Date(exp * 1000).toISOString() }])

  const here = await read(a, token)
  t.same([here.statusCode, here.json()], [401, { error: 'token_revoked', message: 'The token has been revoked' }], 'refused at once where it was revoked')
  await waitFor(async () => (await read(b, token)).statusCode === 401, 'the other replica to refuse it', 2000)
  t.same((await read(b, token)).json().error, 'token_revoked', 'refused by the other replica')
  t.equal((await read(b, kept)).statusCode, 200, 'other tokens are untouched')

  const later = await build(t, env, { plugins: [probePlugin] })
  t.same((await read(later, token)).json().error, 'token_revoked', 'a replica started afterwards knows it from boot')

  const ws = await refusedUpgrade(await listen(b), {}, `?token=${encodeURIComponent(token)}`)
  t.same([ws.status, ws.body.error, ws.upgraded], [401, 'token_revoked', false], 'a new WebSocket with it is refused')

  const redis = new Redis(sharedRedisUrl)
  t.teardown(() => redis.disconnect())
  const ttl = await redis.pttl(`${env.HELIX_REDIS_PREFIX}revoked:${jti}`)
  t.ok(ttl > 0 && ttl <= (exp - now() + 1) * 1000, `kept in Redis until the token's exp (${ttl} ms)`)
})

t.test('a revocation lapses when its token would have expired', async (t) => {
  const prefix = redisPrefix(t, 'lapse')
  const app = await build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: prefix }, { plugins: [probePlugin] })
  const redis = new Redis(sharedRedisUrl)
  t.teardown(() => redis.disconnect())
  const exp = now() + 2
  const res = await app.inject({ method: 'POST', url: '/admin/tokens/revoke', headers: { authorization: `Bearer ${tokenFor(app, ['admin'])}` }, payload: { jti: 'short-lived', exp } })
  t.equal(res.statusCode, 200)
  const ttl = await redis.pttl(`${prefix}revoked:short-lived`)
  t.ok(ttl > 0 && ttl <= 2000, `expires with the token (${ttl} ms)`)
  await waitFor(async () => (await redis.exists(`${prefix}revoked:short-lived`)) === 0, 'the key to expire', 5000)
  const past = await app.inject({ method: 'POST', url: '/admin/tokens/revoke', headers: { authorization: `Bearer ${tokenFor(app, ['admin'])}` }, payload: { jti: 'long-gone', exp: now() - 60 } })
  t.equal(past.statusCode, 200, 'revoking an expired token is harmless')
  t.equal(await redis.exists(`${prefix}revoked:long-gone`), 0, 'and stores nothing')
  const next = await app.inject({ method: 'POST', url: '/admin/tokens/revoke', headers: { authorization: `Bearer ${tokenFor(app, ['admin'])}` }, payload: { jti: 'next', exp: now() + 600 } })
  t.equal(next.statusCode, 200)
  t.same(await redis.zrange(`${prefix}revocations`, '0', '-1'), ['next'], 'the index drops lapsed revocations as new ones arrive')
  const bad = await app.inject({ method: 'POST', url: '/admin/tokens/revoke', headers: { authorization: `Bearer ${tokenFor(app, ['admin'])}` }, payload: { exp } })
  t.same([bad.statusCode, bad.json().message], [400, "body must have required property 'jti'"])
})

t.test('without Redis a revocation holds in the process; `helix token --json` prints the jti to revoke', async (t) => {
  const app = await build(t, {}, { plugins: [probePlugin] })
  const minted = await helix(['token', '--sub', 'carol', '--scope', 'agents:read', '--ttl', '10m', '--json'], { env: { HELIX_JWT_SECRET: TEST_SECRET, HELIX_DATA_DIR: tempDir(t) } })
  t.equal(minted.code, 0, minted.stderr)
  const printed = JSON.parse(minted.stdout) as { token: string; jti: string; sub: string; scope: string; exp: number }
  t.match(printed, { token: String, jti: String, sub: 'carol', scope: 'agents:read', exp: Number })
  t.equal((decode(printed.token) as { jti: string }).jti, printed.jti, 'the jti printed is the token\'s')
  const read = () => app.inject({ url: '/api/probe/read', headers: { authorization: `Bearer ${printed.token}` } })
  t.equal((await read()).statusCode, 200)
  const res = await app.inject({ method: 'POST', url: '/admin/tokens/revoke', headers: { authorization: `Bearer ${tokenFor(app, ['admin'])}` }, payload: { jti: printed.jti, exp: printed.exp } })
  t.equal(res.statusCode, 200)
  t.same((await read()).json().error, 'token_revoked')
})
