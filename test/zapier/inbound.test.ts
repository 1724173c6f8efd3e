// Inbound webhooks on real PostgreSQL and Redis: signatures checked against the standardwebhooks
// package and node:crypto (valid, wrong secret, rotation, one byte changed, missing headers, stale or
// millisecond timestamps, a replayed id), every status code of DESIGN section 11 for bad input, and
// the row stored and processed by the pipeline.
import { request } from 'node:http'
import SwaggerParser from '@apidevtools/swagger-parser'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { zapierPlugin } from '../../plugins/zapier/index.js'
import { bearer, build } from '../helpers/build.js'
import { waitFor } from '../helpers/wait.js'
import { postSigned, realEnv, ROTATED_SECRET, SOURCES, standardHeaders, zapierHeaders } from './helpers.js'
import { BOT_POST_REQUESTED, BOT_POSTS_CHANNEL } from '../../core/contracts/bot.js'

const hook = (app: FastifyInstance, body: string | Buffer, headers: Record<string, string>, source = 'zap') =>
  app.inject({ method: 'POST', url: `/api/zapier/hooks/${source}`, payload: body, headers })

async function event(app: FastifyInstance, id: string) {
  return (await app.inject({ url: `/api/zapier/events/${id}`, headers: bearer(app, ['zapier']) })).json()
}

t.test('signatures', async (t) => {
  const app = await build(t, await realEnv(t, 'zap_sig'), { plugins: [zapierPlugin] })
  const body = JSON.stringify({ type: 'note', data: { text: 'hello' } })

  const ok = await hook(app, body, standardHeaders(body))
  t.equal(ok.statusCode, 202, ok.body)
  t.equal(ok.json().status, 'queued')
  t.match(ok.json().eventId, /^[0-9a-f-]{36}$/)

  t.equal((await hook(app, body, standardHeaders(body, { secret: 'whsec_' + Buffer.alloc(24, 7).toString('base64') }))).statusCode, 401, 'wrong secret')
  t.equal((await hook(app, body, standardHeaders(body, { secret: ROTATED_SECRET }))).statusCode, 202, 'the other secret of a rotation')

  const signed = standardHeaders(body)
  const changed = body.replace('hello', 'hellp')
  t.equal((await hook(app, changed, signed)).statusCode, 401, 'body changed by one byte')

  // Several signatures in one header during rotation: one valid among them is enough.
  const rotated = standardHeaders(body)
  const bad = standardHeaders(body, { id: rotated['webhook-id'], secret: 'whsec_' + Buffer.alloc(24, 9).toString('base64') })
  t.equal((await hook(app, body, { ...rotated, 'webhook-signature': `${bad['webhook-signature']} ${rotated['webhook-signature']}` })).statusCode, 202, 'several signatures')

  for (const missing of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
    const headers = standardHeaders(body)
    delete headers[missing]
    const res = await hook(app, body, headers)
    t.equal(res.statusCode, 401, `without ${missing}`)
    t.equal(res.json().error, 'unauthorized')
  }

  const stale = await hook(app, body, standardHeaders(body, { at: new Date(Date.now() - 6 * 60_000) }))
  t.equal(stale.statusCode, 401, 'timestamp 6 minutes old')
  const future = await hook(app, body, standardHeaders(body, { at: new Date(Date.now() + 6 * 60_000) }))
  t.equal(future.statusCode, 401, 'timestamp 6 minutes ahead')
  const msHeaders = standardHeaders(body)
  const millis = await hook(app, body, { ...msHeaders, 'webhook-timestamp': String(Number(msHeaders['webhook-timestamp']) * 1000) })
  t.equal(millis.statusCode, 401, 'timestamp in milliseconds')

  const replayed = standardHeaders(body)
  t.equal((await hook(app, body, replayed)).statusCode, 202)
  const again = await hook(app, body, replayed)
  t.equal(again.statusCode, 200, 'a replayed id')
  t.equal(again.json().status, 'duplicate')

  // The Zapier scheme: hex HMAC-SHA256 of the raw body.
  t.equal((await hook(app, body, zapierHeaders(body), 'legacy')).statusCode, 202)
  t.equal((await hook(app, body, zapierHeaders(body, 'another-secret-0123456789'), 'legacy')).statusCode, 401, 'zapier scheme, wrong secret')
  t.equal((await hook(app, changed, zapierHeaders(body), 'legacy')).statusCode, 401, 'zapier scheme, one byte changed')
  t.equal((await hook(app, body, { 'content-type': 'application/json' }, 'legacy')).statusCode, 401, 'zapier scheme, no signature')
  const keyed = { ...zapierHeaders(body), 'idempotency-key': 'zap-run-1' }
  t.equal((await hook(app, body, keyed, 'legacy')).statusCode, 202)
  t.equal((await hook(app, body, keyed, 'legacy')).statusCode, 200, 'zapier scheme, a repeated Idempotency-Key')
})

t.test('bad input', async (t) => {
  const app = await build(t, await realEnv(t, 'zap_bad', { HELIX_WEBHOOK_MAX_BYTES: '2048' }), { plugins: [zapierPlugin] })

  const malformed = '{"type": "note", "data": '
  const res = await hook(app, malformed, standardHeaders(malformed))
  t.equal(res.statusCode, 400, 'malformed JSON with a valid signature')
  t.equal(res.json().error, 'invalid_json')

  const poisoned = '{"type":"note","data":{"__proto__":{"admin":true}}}'
  t.equal((await hook(app, poisoned, standardHeaders(poisoned))).statusCode, 400, 'prototype poisoning')
  const constructor = '{"type":"note","data":{"constructor":{"prototype":{"admin":true}}}}'
  t.equal((await hook(app, constructor, standardHeaders(constructor))).statusCode, 400, 'constructor.prototype')

  const deep = `{"type":"note","data":${'{"a":'.repeat(40)}1${'}'.repeat(40)}}`
  const tooDeep = await hook(app, deep, standardHeaders(deep))
  t.equal(tooDeep.statusCode, 400, 'deeply nested JSON')
  t.equal(tooDeep.json().error, 'too_deep')

  const wrongType = '{"type":"note"}'
  const text = await hook(app, wrongType, { ...standardHeaders(wrongType), 'content-type': 'text/plain' })
  t.equal(text.statusCode, 415, 'wrong content type')
  const form = await hook(app, 'type=note', { ...standardHeaders('type=note'), 'content-type': 'application/x-www-form-urlencoded' })
  t.equal(form.statusCode, 415, 'a form body')

  const unknown = '{"type":"note"}'
  const nobody = await hook(app, unknown, standardHeaders(unknown), 'nobody')
  t.equal(nobody.statusCode, 404, 'unknown source')

  const invalidData = JSON.stringify({ type: 'ritual_trigger', data: { name: 'nope' } })
  const invalid = await hook(app, invalidData, standardHeaders(invalidData))
  t.equal(invalid.statusCode, 400, 'data that does not fit its type')
  t.match(invalid.json().message, /ritual_trigger/)

  const notAnEvent = JSON.stringify([1, 2])
  t.equal((await hook(app, notAnEvent, standardHeaders(notAnEvent))).statusCode, 400, 'a body that is not {"type","data"}')

  // Oversized, with Content-Length: refused from the header, before the body is read.
  const big = JSON.stringify({ type: 'note', data: { text: 'x'.repeat(4096) } })
  const large = await hook(app, big, standardHeaders(big))
  t.equal(large.statusCode, 413, 'oversized with Content-Length')

  // Oversized without Content-Length (chunked), over a real socket: the 413 comes while the sender is still sending.
  const TOTAL = 64 * 1024 * 1024
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const { status, sent } = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
    let sent = 0
    let answered = false
    const req = request(`${url}/api/zapier/hooks/zap`, { method: 'POST', headers: standardHeaders('{}') }, (res) => {
      answered = true
      res.resume()
      resolve({ status: res.statusCode ?? 0, sent })
      req.destroy()
    })
    req.on('error', (err) => (answered ? undefined : reject(err)))
    const chunk = Buffer.alloc(1024, 0x20)
    const pump = () => {
      while (!answered && sent < TOTAL) {
        sent += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      if (!answered) req.end()
    }
    pump()
  })
  t.equal(status, 413, 'oversized without Content-Length')
  t.ok(sent < TOTAL, `answered before the whole body was sent (${sent} bytes of ${TOTAL})`)

  const events = await app.inject({ url: '/api/zapier/events', headers: bearer(app, ['zapier']) })
  t.equal(events.json().items.length, 0, 'nothing refused was stored')
})

t.test('a stored event is processed: generic events and discord notifications', async (t) => {
  const app = await build(t, await realEnv(t, 'zap_flow'), { plugins: [zapierPlugin] })
  const requests: unknown[] = []
  await app.helix.kernel.bus.subscribeInternal(BOT_POSTS_CHANNEL, (e) => requests.push(e))

  const generic = await postSigned(app, { type: 'something_else', data: { n: 1 } })
  t.equal(generic.statusCode, 202)
  const done = await waitFor(async () => {
    const e = await event(app, generic.json().eventId)
    return e.status === 'processed' ? e : null
  }, 'the generic event processed')
  t.same(done.result, { stored: true })
  t.same(done.data, { n: 1 })

  const notify = await postSigned(app, { type: 'discord_notification', data: { message: 'hello collective', channelId: '123' } })
  const id = notify.json().eventId
  await waitFor(async () => (await event(app, id)).status === 'processed', 'the notification processed')
  await waitFor(() => requests.length > 0, 'the internal Discord request')
  t.match(requests[0], { channel: BOT_POSTS_CHANNEL, type: BOT_POST_REQUESTED, data: { message: 'hello collective', channelId: '123', source: 'zapier:zap' } })

  const processed = await app.inject({ url: '/api/zapier/events?status=processed', headers: bearer(app, ['zapier']) })
  t.equal(processed.json().items.length, 2)
  t.equal((await app.inject({ url: '/api/zapier/events?status=failed', headers: bearer(app, ['zapier']) })).json().items.length, 0)
  t.equal((await app.inject({ url: '/api/zapier/events' })).statusCode, 401, 'the event list needs a key or token')

  const replay = await app.inject({ method: 'POST', url: `/api/zapier/events/${id}/replay`, headers: bearer(app, ['zapier']) })
  t.equal(replay.statusCode, 202)
  await waitFor(() => requests.length > 1, 'the replayed request')
  await waitFor(async () => (await event(app, id)).status === 'processed', 'the replay processed')
})

t.test('the embedded default: SQLite and the in-process queue', async (t) => {
  const app = await build(t, { ZAPIER_SOURCES: SOURCES }, { plugins: [zapierPlugin] })
  const res = await postSigned(app, { type: 'note', data: { text: 'embedded' } })
  t.equal(res.statusCode, 202, res.body)
  const done = await waitFor(async () => {
    const e = await event(app, res.json().eventId)
    return e.status === 'processed' ? e : null
  }, 'processed on SQLite')
  t.same(done.data, { text: 'embedded' })
  const body = JSON.stringify({ type: 'note', data: {} })
  const headers = standardHeaders(body)
  t.equal((await hook(app, body, headers)).statusCode, 202)
  t.equal((await hook(app, body, headers)).statusCode, 200, 'de-duplicated on SQLite too')

  const key = (await app.inject({ method: 'POST', url: '/admin/apikeys', payload: { name: 'z' }, headers: bearer(app, ['admin']) })).json().key
  // The network is closed here, so no public name resolves: a public address stands in for one.
  const sub = { target_url: 'https://93.184.216.34/x', event: 'alert.raised' }
  const first = await app.inject({ method: 'POST', url: '/api/zapier/subscriptions', payload: sub, headers: { 'x-api-key': key } })
  t.equal(first.statusCode, 201, first.body)
  const again = await app.inject({ method: 'POST', url: '/api/zapier/subscriptions', payload: sub, headers: { 'x-api-key': key } })
  t.equal(again.json().id, first.json().id, 'the same subscription on SQLite')
})

t.test('the Zapier routes make a valid OpenAPI document', async (t) => {
  const app = await build(t, { ZAPIER_SOURCES: SOURCES }, { plugins: [zapierPlugin] })
  const doc = (await app.inject('/docs/json')).json()
  await t.resolves(SwaggerParser.validate(structuredClone(doc)), 'valid OpenAPI')
  for (const path of ['/api/zapier/hooks/{source}', '/api/zapier/events', '/api/zapier/subscriptions', '/admin/apikeys', '/api/zapier/deliveries/{id}/retry']) t.ok(doc.paths[path], path)
})

t.test('the per-source rate limit (HELIX_RATE_WEBHOOK, in Redis)', async (t) => {
  const app = await build(t, await realEnv(t, 'zap_rate', { HELIX_RATE_WEBHOOK: '2' }), { plugins: [zapierPlugin] })
  t.equal((await postSigned(app, { type: 'a' })).statusCode, 202)
  t.equal((await postSigned(app, { type: 'b' })).statusCode, 202)
  const limited = await postSigned(app, { type: 'c' })
  t.equal(limited.statusCode, 429)
  t.ok(Number(limited.headers['retry-after']) >= 1, 'Retry-After')
  const other = JSON.stringify({ type: 'd' })
  t.equal((await hook(app, other, zapierHeaders(other), 'legacy')).statusCode, 202, 'another source has its own limit')
})
