// Rate limits (DESIGN section 7): per subject, shared by replicas through Redis, 429 with Retry-After
// in the error shape, for HTTP and WebSocket publishes alike; per IP for WebSocket connects, where
// X-Forwarded-For counts only from a proxy HELIX_TRUST_PROXY trusts.
import t from 'tap'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { connect, listen, refusedUpgrade } from '../stream/ws.js'

const publish = (channel: string) => ({ method: 'POST' as const, url: '/api/stream/publish', payload: { channel, type: 'chat.message', data: { text: 'hi' } } })

t.test('publishes: per subject, across replicas, over HTTP and WebSocket', async (t) => {
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), HELIX_RATE_PUBLISH: '3' }
  const [a, b] = await Promise.all([build(t, env, { plugins: [streamPlugin] }), build(t, env, { plugins: [streamPlugin] })])
  const alice = { authorization: `Bearer ${tokenFor(a, ['stream:publish'], 3600, 'alice')}` }
  const bob = { authorization: `Bearer ${tokenFor(a, ['stream:publish'], 3600, 'bob')}` }

  const statuses = []
  for (const app of [a, b, a]) statuses.push((await app.inject({ ...publish('agents'), headers: alice })).statusCode)
  t.same(statuses, [200, 200, 200], "alice's three publishes, on either replica, go through")
  const refused = await b.inject({ ...publish('agents'), headers: alice })
  t.equal(refused.statusCode, 429, 'the fourth within the minute is refused, whichever replica gets it')
  t.ok(Number(refused.headers['retry-after']) >= 1, `Retry-After ${refused.headers['retry-after']}`)
  t.match(refused.json(), { error: 'too_many_requests', message: /Rate limit/ })
  t.equal((await a.inject({ ...publish('agents'), headers: bob })).statusCode, 200, 'bob has his own budget')

  const base = await listen(a)
  const carol = await connect(base, tokenFor(a, ['stream:publish'], 3600, 'carol'))
  t.teardown(() => carol.ws.terminate())
  await carol.next((f) => f.op === 'welcome')
  for (let ref = 1; ref <= 4; ref++) carol.send({ op: 'publish', channel: 'agents', type: 'chat.message', data: { ref }, ref })
  const answers = await Promise.all([1, 2, 3, 4].map((ref) => carol.next((f) => f.ref === ref)))
  t.same(answers.map((f) => f.op === 'error' ? f.code : f.op), ['ack', 'ack', 'ack', 'too_many_requests'], 'a socket has the same budget per subject')
})

t.test('WebSocket connects per IP: X-Forwarded-For is believed only from a trusted proxy', async (t) => {
  for (const [trust, expected] of [['false', 429], ['true', 101], ['127.0.0.1', 101], ['10.0.0.0/8', 429]] as const) {
    const app = await build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t), HELIX_WS_CONNECT_RATE: '1', HELIX_TRUST_PROXY: trust }, { plugins: [streamPlugin] })
    const base = await listen(app)
    const token = tokenFor(app, ['stream:read'])
    const statuses: number[] = []
    // Two per two seconds from one address; each attempt claims another address.
    for (let i = 1; i <= 3; i++) {
      const answer = await refusedUpgrade(base, { authorization: `Bearer ${token}`, 'x-forwarded-for': `203.0.113.${i}` })
      statuses.push(answer.status)
    }
    t.equal(statuses[2], expected, `HELIX_TRUST_PROXY=${trust}: the third connect answers ${expected} (${statuses.join(', ')})`)
  }
})
