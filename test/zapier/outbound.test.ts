// Outbound REST Hooks on real PostgreSQL and Redis: API keys, subscriptions, signed deliveries to a
// local receiver that fails, throttles (429 + Retry-After), answers 410, redirects and is slow, with
// retry timing on a fake clock, the per-target rate limit, and the kill switch.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Webhook } from 'standardwebhooks'
import { createZapierPlugin } from '../../plugins/zapier/index.js'
import { bearer, build } from '../helpers/build.js'
import { ManualFlags } from '../helpers/manual-flags.js'
import { waitFor } from '../helpers/wait.js'
import { FakeClock, realEnv } from './helpers.js'

type T = { teardown(fn: () => unknown): void }
type Behaviour = (req: IncomingMessage, res: ServerResponse) => void

interface Receiver {
  url: string
  hits: { path: string; headers: IncomingMessage['headers']; body: string }[]
  behave(fn: Behaviour): void
}

async function receiver(t: T): Promise<Receiver> {
  let behaviour: Behaviour = (_req, res) => res.writeHead(200).end('ok')
  const hits: Receiver['hits'] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => (body += c.toString()))
    req.on('end', () => {
      hits.push({ path: req.url ?? '', headers: req.headers, body })
      behaviour(req, res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)).then(() => server.closeAllConnections()))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, behave: (fn) => (behaviour = fn) }
}

async function setup(t: T, label: string, options: { timeoutMs?: number; rate?: number } = {}) {
  const clock = new FakeClock()
  const flags = new ManualFlags()
  flags.flip('helix.zapier.outbound', true)
  const plugin = createZapierPlugin({ random: () => 0.5, deliveryPollMs: 1, deliveryTimeoutMs: options.timeoutMs, targetRate: options.rate })
  const app = await build(t, await realEnv(t, label, { HELIX_OUTBOUND_ALLOW: '127.0.0.1' }), { plugins: [plugin], clock, flags })
  const created = await app.inject({ method: 'POST', url: '/admin/apikeys', payload: { name: 'zapier' }, headers: bearer(app, ['admin']) })
  const key = created.json().key as string
  return { app, clock, flags, key, headers: { 'x-api-key': key } }
}

async function subscribe(app: FastifyInstance, key: string, target: string, event = 'alert.raised') {
  const res = await app.inject({ method: 'POST', url: '/api/zapier/subscriptions', payload: { target_url: target, event }, headers: { 'x-api-key': key } })
  if (res.statusCode !== 201) throw new Error(`${res.statusCode} ${res.body}`)
  return res.json() as { id: string; secret: string }
}

const raise = (app: FastifyInstance, n = 1) => app.helix.kernel.bus.publish('alerts', 'alert.raised', { id: `alert-${n}`, severity: 'high', message: `alert ${n}` })

async function deliveries(app: FastifyInstance, status?: string) {
  const res = await app.inject({ url: `/api/zapier/deliveries${status ? `?status=${status}` : ''}`, headers: bearer(app, ['zapier']) })
  return res.json().items as { id: string; status: string; attempts: number; nextAttemptAt: string | null; lastStatus: number | null; lastError: string | null }[]
}

t.test('API keys: created once, listed without the key, revoked', async (t) => {
  const { app, key, headers } = await setup(t, 'zap_keys')
  t.match(key, /^hzk_/)
  const me = await app.inject({ url: '/api/zapier/me', headers })
  t.equal(me.statusCode, 200)
  t.match(me.json(), { name: 'zapier', subscriptions: 0 })
  const list = await app.inject({ url: '/admin/apikeys', headers: bearer(app, ['admin']) })
  t.equal(list.json().items.length, 1)
  t.notMatch(list.body, key, 'the key is never shown again')
  t.equal((await app.inject({ url: '/admin/apikeys', headers: bearer(app, ['zapier']) })).statusCode, 403, 'admins only')
  t.equal((await app.inject({ url: '/api/zapier/me', headers: { 'x-api-key': 'hzk_wrong' } })).statusCode, 401)
  t.equal((await app.inject({ url: '/api/zapier/me' })).statusCode, 401)
  const id = list.json().items[0].id
  t.equal((await app.inject({ method: 'DELETE', url: `/admin/apikeys/${id}`, headers: bearer(app, ['admin']) })).statusCode, 204)
  t.equal((await app.inject({ url: '/api/zapier/me', headers })).statusCode, 401, 'revoked')
})

t.test('subscriptions, signed deliveries and the trigger sample', async (t) => {
  const { app, key, headers } = await setup(t, 'zap_subs')
  const target = await receiver(t)
  const first = await subscribe(app, key, `${target.url}/hook`)
  t.match(first.secret, /^whsec_/)
  const again = await subscribe(app, key, `${target.url}/hook`)
  t.same(again, first, 'the same target and event: the same subscription')
  t.equal((await app.inject({ url: '/api/zapier/me', headers })).json().subscriptions, 1)

  const published: { type: string; data: unknown }[] = []
  await app.helix.kernel.bus.subscribe('zapier', (e) => published.push(e))
  await raise(app, 1)
  await waitFor(() => target.hits.length === 1, 'the delivery')
  await waitFor(() => published.some((e) => e.type === 'zapier.delivered'), 'zapier.delivered published')
  const hit = target.hits[0]!
  const verified = new Webhook(first.secret).verify(hit.body, hit.headers as Record<string, string>) as { event: string; data: { id: string } }
  t.equal(verified.event, 'alert.raised', 'signed with the subscription secret (checked by standardwebhooks)')
  t.equal(verified.data.id, 'alert-1')
  await waitFor(async () => (await deliveries(app, 'delivered')).length === 1, 'recorded as delivered')

  const sample = await app.inject({ url: '/api/zapier/triggers/alert.raised/sample', headers })
  t.equal(sample.statusCode, 200)
  t.same(sample.json()[0], JSON.parse(hit.body), 'the sample has the shape of a delivery')
  t.equal((await app.inject({ url: '/api/zapier/triggers/nope/sample', headers })).statusCode, 400)

  t.equal((await app.inject({ method: 'DELETE', url: `/api/zapier/subscriptions/${first.id}`, headers })).statusCode, 204)
  t.equal((await app.inject({ method: 'DELETE', url: `/api/zapier/subscriptions/${first.id}`, headers })).statusCode, 204, 'idempotent')
  await raise(app, 2)
  const third = await subscribe(app, key, `${target.url}/other`)
  t.not(third.id, first.id)
  await raise(app, 3)
  await waitFor(() => target.hits.length === 2, 'the delivery to the new subscription')
  t.equal(target.hits[1]!.path, '/other', 'nothing for the deleted subscription')
})

t.test('SSRF: private, loopback and link-local targets are refused', async (t) => {
  const clock = new FakeClock()
  const app = await build(t, await realEnv(t, 'zap_ssrf'), { plugins: [createZapierPlugin()], clock })
  const key = (await app.inject({ method: 'POST', url: '/admin/apikeys', payload: { name: 'z' }, headers: bearer(app, ['admin']) })).json().key
  for (const target of ['https://127.0.0.1/hook', 'https://10.1.2.3/hook', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/hook', 'https://localhost/hook',
    'https://[::ffff:127.0.0.1]/hook', 'https://192.168.1.1/', 'http://example.com/hook', 'ftp://example.com/']) {
    const res = await app.inject({ method: 'POST', url: '/api/zapier/subscriptions', payload: { target_url: target, event: 'alert.raised' }, headers: { 'x-api-key': key } })
    t.equal(res.statusCode, 400, target)
    t.equal(res.json().error, 'target_refused', target)
  }
})

t.test('retries on a fake clock: a failing target, then a 429 with Retry-After, then success', async (t) => {
  const { app, clock, key } = await setup(t, 'zap_retry')
  const target = await receiver(t)
  await subscribe(app, key, `${target.url}/hook`)
  target.behave((_req, res) => res.writeHead(500).end('down'))
  await raise(app)
  await waitFor(async () => (await deliveries(app))[0]?.attempts === 1, 'the first attempt recorded')
  let [d] = await deliveries(app)
  t.equal(d!.status, 'pending')
  t.equal(d!.lastStatus, 500)
  t.equal(Date.parse(d!.nextAttemptAt!) - clock.now(), 5000, 'the first retry 5 s later (jitter pinned to its middle)')

  target.behave((_req, res) => res.writeHead(429, { 'retry-after': '30' }).end())
  clock.advance(4999)
  t.equal(target.hits.length, 1, 'not before it is due')
  clock.advance(1)
  await waitFor(async () => (await deliveries(app))[0]?.attempts === 2, 'the second attempt')
  ;[d] = await deliveries(app)
  t.equal(d!.lastStatus, 429)
  t.equal(Date.parse(d!.nextAttemptAt!) - clock.now(), 30_000, 'Retry-After honoured')

  target.behave((_req, res) => res.writeHead(204).end())
  clock.advance(30_000)
  await waitFor(async () => (await deliveries(app))[0]?.status === 'delivered', 'delivered on the third attempt')
  const detail = (await app.inject({ url: `/api/zapier/deliveries/${d!.id}`, headers: bearer(app, ['zapier']) })).json()
  t.same(detail.attempts_log.map((a: { statusCode: number }) => a.statusCode), [500, 429, 204], 'every attempt recorded')
})

t.test('410 deletes the subscription; a redirect is a failure and is not followed; manual retry', async (t) => {
  const { app, key, headers } = await setup(t, 'zap_gone')
  const target = await receiver(t)
  target.behave((req, res) => {
    if (req.url === '/gone') return res.writeHead(410).end()
    if (req.url === '/moved') return res.writeHead(302, { location: `${target.url}/elsewhere` }).end()
    res.writeHead(200).end()
  })
  const gone = await subscribe(app, key, `${target.url}/gone`)
  await raise(app, 1)
  await waitFor(async () => (await deliveries(app, 'failed')).length === 1, 'the 410 delivery failed')
  t.equal((await app.inject({ url: '/api/zapier/me', headers })).json().subscriptions, 0, 'the subscription was deleted')
  await app.inject({ method: 'DELETE', url: `/api/zapier/subscriptions/${gone.id}`, headers })

  await subscribe(app, key, `${target.url}/moved`)
  await raise(app, 2)
  await waitFor(async () => (await deliveries(app)).some((d) => d.lastStatus === 302), 'the redirect answered')
  const moved = (await deliveries(app)).find((d) => d.lastStatus === 302)!
  t.equal(moved.status, 'pending', 'a redirect is retried like a failure')
  t.match(moved.lastError, /not followed/)
  t.notOk(target.hits.some((h) => h.path === '/elsewhere'), 'the redirect was not followed')

  target.behave((_req, res) => res.writeHead(200).end())
  const retry = await app.inject({ method: 'POST', url: `/api/zapier/deliveries/${moved.id}/retry`, headers: bearer(app, ['zapier']) })
  t.equal(retry.statusCode, 202)
  await waitFor(async () => (await deliveries(app, 'delivered')).some((d) => d.id === moved.id), 'the manual retry delivered')
})

t.test('a slow target times out; the per-target rate limit holds; the kill switch holds deliveries', async (t) => {
  const { app, clock, flags, key } = await setup(t, 'zap_slow', { timeoutMs: 300, rate: 5 })
  const target = await receiver(t)
  target.behave((_req, res) => setTimeout(() => res.writeHead(200).end(), 1500))
  await subscribe(app, key, `${target.url}/hook`)
  await raise(app, 0)
  await waitFor(async () => (await deliveries(app))[0]?.attempts === 1, 'the slow attempt', 5000)
  t.match((await deliveries(app))[0]!.lastError, /no answer within 0.3 s/)

  target.behave((_req, res) => res.writeHead(200).end())
  for (let i = 1; i <= 8; i++) await raise(app, i)
  // The slow attempt took one of this second's 5.
  await waitFor(() => target.hits.length >= 5, 'five deliveries (the rate of this target)')
  await waitFor(async () => (await deliveries(app, 'pending')).length === 1 + 4, 'the rest postponed')
  t.equal(target.hits.length, 5, 'no more than 5 in the same (fake) second')
  clock.advance(1000)
  await waitFor(() => target.hits.length === 1 + 8, 'the rest after a second')

  flags.flip('helix.zapier.outbound', false)
  await raise(app, 9)
  await waitFor(async () => (await deliveries(app, 'pending')).length === 2, 'the new delivery waiting (and the slow one\'s retry)')
  clock.advance(1000)
  t.equal(target.hits.length, 1 + 8, 'held while the kill switch is off')
  flags.flip('helix.zapier.outbound', true)
  await waitFor(() => target.hits.length === 1 + 9, 'sent once it is on again')
})
