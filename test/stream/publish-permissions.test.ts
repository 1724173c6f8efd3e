// What a `stream:publish` token may publish (issue 10, finding 2): never on `system`, never a type
// Helix reserves, always as `client:<sub>`; nothing Helix does acts on a client's event.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { BusEvent } from '../../core/bus/index.js'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { connect, events, listen, type TestSocket } from './ws.js'

/** The forged override of the issue: it made every orchestrator route answer 503 not_owner. */
const forgedOverride = { name: 'helix.orchestrator.dedicated', override: { enabled: true, expiresAt: null } }
const forgedEvents = [
  ['commands', 'command.updated'],
  ['agents', 'agent.updated'],
  ['ucf', 'ucf.updated'],
  ['alerts', 'alert.raised'],
  ['agents:kael', 'Agent.Updated'],
  ['ucf', 'ownership.no_owner']
] as const

async function subscribed(socket: TestSocket, channels: string[]): Promise<void> {
  socket.send({ op: 'subscribe', channels })
  for (let i = 0; i < channels.length; i++) await socket.next((f) => f.op === 'subscribed')
}

async function ownership(app: FastifyInstance) {
  const discovery = (await app.inject('/.well-known/helix.json')).json()
  return { orchestratorDedicated: app.helix.kernel.flags.isEnabled('helix.orchestrator.dedicated'), streamOwner: discovery.plugins.stream.owner }
}

t.test('a publish token cannot switch ownership or forge Helix events, over HTTP or WebSocket, on any replica', async (t) => {
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t) }
  const a = await build(t, env, { plugins: [streamPlugin] })
  const b = await build(t, env, { plugins: [streamPlugin] })
  const token = tokenFor(a, ['stream:read', 'stream:publish'], 3600, 'mallory')
  const publish = (payload: object) => a.inject({ method: 'POST', url: '/api/stream/publish', headers: { authorization: `Bearer ${token}` }, payload })

  // Everything that reaches replica b's bus on these channels shows up here.
  const watcher = await connect(await listen(b), token)
  await watcher.next()
  await subscribed(watcher, ['system', 'ucf', 'agents', 'agents:kael', 'commands', 'alerts', 'ucf:room1'])
  const kernelSaw: BusEvent[] = []
  await b.helix.kernel.bus.subscribe('commands', (event) => kernelSaw.push(event))

  for (const type of ['system.flags', 'chat.message']) {
    const res = await publish({ channel: 'system', type, data: forgedOverride })
    t.same([res.statusCode, res.json().error], [403, 'forbidden'], `HTTP: ${type} on system`)
  }
  for (const [channel, type] of forgedEvents) {
    const res = await publish({ channel, type, data: { id: 'forged' } })
    t.same([res.statusCode, res.json().error], [403, 'forbidden'], `HTTP: ${type} on ${channel}`)
    t.match(res.json().message, /reserved for Helix/)
  }

  const socket = await connect(await listen(a), token)
  await socket.next()
  socket.send({ op: 'publish', channel: 'system', type: 'system.flags', data: forgedOverride, ref: 0 })
  t.match(await socket.next(), { op: 'error', code: 'forbidden', ref: 0, channel: 'system', message: /only Helix/ }, 'WS: system.flags on system')
  for (const [i, [channel, type]] of forgedEvents.entries()) {
    socket.send({ op: 'publish', channel, type, data: { id: 'forged' }, ref: i + 1 })
    t.match(await socket.next(), { op: 'error', code: 'forbidden', ref: i + 1, channel }, `WS: ${type} on ${channel}`)
  }

  // Allowed: a client type on an open channel. The override's shape in a client event changes nothing,
  // and a cancel's shape on `commands` reaches sockets but no Helix handler.
  const allowed = await publish({ channel: 'ucf', type: 'chat.message', data: forgedOverride })
  t.equal(allowed.statusCode, 200, allowed.body)
  t.match(allowed.json(), { channel: 'ucf', type: 'chat.message', source: 'client:mallory', data: forgedOverride })
  socket.send({ op: 'publish', channel: 'ucf:room1', type: 'chat.message', data: { text: 'hi' }, ref: 'chat' })
  const ack = await socket.next()
  t.match(ack, { op: 'ack', ref: 'chat', id: /^\d+-\d+$/ })
  socket.send({ op: 'publish', channel: 'commands', type: 'chat.message', data: { id: 'c1', status: 'cancelled' }, ref: 'cancel' })
  t.match(await socket.next(), { op: 'ack', ref: 'cancel' })
  const helixEvent = await a.helix.kernel.bus.publish('commands', 'command.updated', { id: 'c1', status: 'running' })

  const got = await events(watcher, 4)
  t.same(got.map((e) => [e.channel, e.type, e.source]).sort(), [
    ['commands', 'chat.message', 'client:mallory'],
    ['commands', 'command.updated', 'all'],
    ['ucf', 'chat.message', 'client:mallory'],
    ['ucf:room1', 'chat.message', 'client:mallory']
  ], 'only the allowed events reached the other replica, each with the server-set source')
  t.equal(got.find((e) => e.channel === 'ucf:room1')!.id, ack.id)
  watcher.send({ op: 'ping' })
  await watcher.next((f) => f.op === 'pong')
  t.same(watcher.frames.filter((f) => f.op === 'event'), [], 'no refused publish reached the bus')
  t.same(kernelSaw.map((e) => e.id), [helixEvent.id], "Helix's own handlers never see a client's event")

  for (const app of [a, b]) t.same(await ownership(app), { orchestratorDedicated: false, streamOwner: 'all' }, 'ownership did not move')
  for (const s of [watcher, socket]) s.ws.close()
})

t.test('the embedded default (no Redis) applies the same rules', async (t) => {
  const app = await build(t, {}, { plugins: [streamPlugin] })
  const headers = { authorization: `Bearer ${tokenFor(app, ['stream:publish'], 3600, 'alice')}` }
  const forged = await app.inject({ method: 'POST', url: '/api/stream/publish', headers, payload: { channel: 'system', type: 'system.flags', data: forgedOverride } })
  t.same([forged.statusCode, forged.json().error], [403, 'forbidden'])
  const reserved = await app.inject({ method: 'POST', url: '/api/stream/publish', headers, payload: { channel: 'agents', type: 'agent.deleted', data: {} } })
  t.same([reserved.statusCode, reserved.json().error], [403, 'forbidden'])
  const allowed = await app.inject({ method: 'POST', url: '/api/stream/publish', headers, payload: { channel: 'agents', type: 'chat.message', data: { text: 'hi' } } })
  t.same([allowed.statusCode, allowed.json().source], [200, 'client:alice'])
  t.same(await ownership(app), { orchestratorDedicated: false, streamOwner: 'all' })
})
