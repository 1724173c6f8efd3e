// /metrics of a monolith with every plugin: each plugin and the kernel is driven the way a user
// drives it, and the exported series (scraped and parsed) change as they should.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import type { Worker } from '../../core/plugin.js'
import { bearer, tokenFor } from '../helpers/build.js'
import { waitFor } from '../helpers/wait.js'
import { connect, listen } from '../stream/ws.js'
import { postSigned, zapierHeaders } from '../zapier/helpers.js'
import { scrape, startMonolith } from './monolith.js'
import { has, total, type Scrape } from './prom-text.js'

const { app, fake } = await startMonolith(t)
const agents = bearer(app, ['agents:read', 'agents:write'])

/** Scrapes until `check` holds, and returns that scrape; the orchestrator's figures are cached for a second. */
function scrapeUntil(check: (s: Scrape) => boolean, what: string): Promise<Scrape> {
  return waitFor(async () => {
    const s = await scrape(app)
    return check(s) ? s : null
  }, what, 15_000, 100)
}

function commandWorker(app: FastifyInstance): Worker {
  const orchestrator = app.helix.plugins.find((p) => p.descriptor.name === 'orchestrator')!
  return orchestrator.instance.workers!.find((w) => w.name === 'orchestrator-commands')!
}

async function sendCommand(agent: string, command: string): Promise<string> {
  const res = await app.inject({ method: 'POST', url: `/api/agents/${agent}/commands`, headers: agents, payload: { command } })
  if (res.statusCode !== 202) throw new Error(`${command} answered ${res.statusCode}: ${res.body}`)
  return (res.json() as { id: string }).id
}

async function finished(ids: readonly string[]): Promise<void> {
  await waitFor(async () => {
    for (const id of ids) {
      const res = await app.inject({ url: `/api/commands/${id}`, headers: agents })
      if ((res.json() as { status: string }).status !== 'succeeded') return false
    }
    return true
  }, 'the commands to succeed', 20_000)
}

t.test('orchestrator: queue depth and age while a command waits, then its outcome, claim and timings', async (t) => {
  const before = await scrape(app)
  const worker = commandWorker(app)
  await worker.stop()
  const waiting = await sendCommand('kael', 'STATUS')
  const queued = await scrapeUntil((s) => total(s, 'helix_orchestrator_queue_depth', { tier: 'inner_core', status: 'queued' }) === 1, 'one queued command in inner_core')
  t.equal(total(queued, 'helix_orchestrator_queue_depth', { tier: 'outer_ring', status: 'queued' }), 0, 'other tiers show 0')
  await scrapeUntil((s) => total(s, 'helix_orchestrator_queue_oldest_age_seconds', { tier: 'inner_core' }) > 0, 'the oldest queued command ages')

  await worker.start()
  const more = [await sendCommand('kael', 'STATUS'), await sendCommand('lumina', 'STATUS')]
  await finished([waiting, ...more])
  const done = await scrapeUntil(
    (s) => total(s, 'helix_orchestrator_commands_total', { command: 'STATUS', status: 'succeeded' }) - total(before, 'helix_orchestrator_commands_total', { command: 'STATUS', status: 'succeeded' }) === 3,
    'three STATUS commands counted as succeeded'
  )
  const grew = (name: string, labels: Record<string, string>) => total(done, name, labels) - total(before, name, labels)
  t.equal(grew('helix_orchestrator_commands_accepted_total', { command: 'STATUS' }), 3, 'accepted')
  t.equal(grew('helix_orchestrator_command_claims_total', { command: 'STATUS' }), 3, 'claimed')
  t.equal(grew('helix_orchestrator_command_queue_seconds_count', { command: 'STATUS' }), 3, 'queue-to-start observed per command')
  t.equal(grew('helix_orchestrator_command_run_seconds_count', { command: 'STATUS', status: 'succeeded' }), 3, 'run time observed per command')
  t.ok(grew('helix_orchestrator_command_queue_seconds_sum', { command: 'STATUS' }) > 0, 'the command that waited shows its wait')
  await scrapeUntil((s) => total(s, 'helix_orchestrator_queue_depth', { status: 'queued' }) === 0, 'the queue empty again')
})

t.test('orchestrator: UCF gauges follow the state, an alert raised shows by severity, a ritual is counted', async (t) => {
  const before = await scrape(app)
  const adjust = await app.inject({ method: 'POST', url: '/api/ucf/adjust', headers: agents, payload: { deltas: { harmony: -0.2 } } })
  t.equal(adjust.statusCode, 200, adjust.body)
  const ucf = (await app.inject({ url: '/api/ucf', headers: agents })).json() as { metrics: { harmony: number }; phase: string; consciousnessLevel: number }
  t.equal(ucf.phase, 'CRITICAL')
  const s = await scrapeUntil((s) => total(s, 'helix_orchestrator_ucf_phase', { phase: 'CRITICAL' }) === 1, 'the phase gauge at CRITICAL')
  t.equal(total(s, 'helix_orchestrator_ucf_phase', { phase: 'UNSTABLE' }), 0)
  t.ok(Math.abs(total(s, 'helix_orchestrator_ucf_metric', { metric: 'harmony' }) - ucf.metrics.harmony) < 1e-9, 'harmony as the API reports it')
  t.ok(Math.abs(total(s, 'helix_orchestrator_ucf_consciousness_level') - ucf.consciousnessLevel) < 1e-9, 'consciousness level')
  const alerted = await scrapeUntil((s) => total(s, 'helix_orchestrator_alerts_open', { severity: 'critical' }) === 1, 'one open critical alert')
  await scrapeUntil(
    (s) => total(s, 'helix_orchestrator_alerts_total', { kind: 'ucf', severity: 'critical', event: 'raised' }) - total(before, 'helix_orchestrator_alerts_total', { kind: 'ucf', severity: 'critical', event: 'raised' }) === 1,
    'the raise counted'
  )
  t.equal(total(alerted, 'helix_orchestrator_alerts_open', { severity: 'medium' }), 0)

  const ritual = await app.inject({ method: 'POST', url: '/api/ucf/rituals', headers: agents, payload: { name: 'hymn' } })
  t.equal(ritual.statusCode, 202)
  await scrapeUntil((s) => total(s, 'helix_orchestrator_rituals_total', { name: 'hymn', status: 'completed' }) === 1, 'the ritual counted')
  await scrapeUntil((s) => total(s, 'helix_orchestrator_alerts_open', { severity: 'critical' }) === 0, 'the alert resolved by the ritual')
})

t.test('bus: publishes by channel, batches timed, a gap repaired from history', async (t) => {
  const before = await scrape(app)
  const bus = app.helix.kernel.bus
  const first = await bus.publish('zapier', 'test.marker', { n: 0 })
  await Promise.all([1, 2, 3].map((n) => bus.publish('zapier', 'test.marker', { n })))
  const history = await bus.history('zapier', { id: first.id, epoch: first.epoch })
  t.equal(history.events.length, 3)
  const stale = await bus.history('zapier', { id: first.id, epoch: 'lost-epoch' })
  t.notOk(stale.recovered)
  const s = await scrape(app)
  const grew = (name: string, labels: Record<string, string> = {}) => total(s, name, labels) - total(before, name, labels)
  t.ok(grew('helix_bus_events_published_total', { channel: 'zapier', result: 'ok' }) >= 4, 'four events on zapier')
  t.ok(grew('helix_bus_publish_duration_seconds_count', { bus: 'redis', result: 'ok' }) >= 2, 'each batch timed')
  t.ok(grew('helix_bus_publish_batch_size_sum', { bus: 'redis' }) >= 4, 'batch sizes add up to the events')
  t.equal(grew('helix_bus_history_reads_total', { outcome: 'recovered' }), 1)
  t.equal(grew('helix_bus_gap_events_recovered_total'), 3, 'the three missed events')
  t.equal(grew('helix_bus_history_reads_total', { outcome: 'epoch_changed' }), 1)
  t.ok(has(s, 'helix_bus_reconnects_total'), 'reconnects exported from 0')
})

t.test('stream: a subscriber, an event in and out', async (t) => {
  const base = await listen(app)
  const socket = await connect(base, tokenFor(app, ['stream:read', 'stream:publish']))
  t.teardown(() => socket.ws.close())
  socket.send({ op: 'subscribe', channels: ['agents'] })
  await socket.next((f) => f.op === 'subscribed')
  const before = await scrapeUntil((s) => total(s, 'helix_stream_connections') >= 1 && total(s, 'helix_stream_subscriptions', { channel: 'agents' }) >= 1, 'the socket counted')
  const res = await app.inject({ method: 'POST', url: '/api/stream/publish', headers: bearer(app, ['stream:publish']), payload: { channel: 'agents', type: 'note.added', data: { text: 'hi' } } })
  t.equal(res.statusCode, 200)
  await socket.next((f) => f.op === 'event' && f.type === 'note.added')
  const s = await scrapeUntil((s) => total(s, 'helix_stream_events_out_total') > total(before, 'helix_stream_events_out_total'), 'the event written')
  t.ok(total(s, 'helix_stream_events_in_total') > total(before, 'helix_stream_events_in_total'), 'the event received from the bus')
  t.ok(total(s, 'helix_stream_publish_to_send_seconds_count') > total(before, 'helix_stream_publish_to_send_seconds_count'))
})

t.test('voice: requests by operation, serving provider and outcome, and their duration', async (t) => {
  const before = await scrape(app)
  const voice = bearer(app, ['voice'])
  const statuses: number[] = []
  for (let i = 0; i < 2; i++) {
    const res = await app.inject({ method: 'POST', url: '/api/voice/synthesize', headers: voice, payload: { text: 'metrics are measured' } })
    statuses.push(res.statusCode)
  }
  const s = await scrape(app)
  const grew = (name: string, labels: Record<string, string>) => total(s, name, labels) - total(before, name, labels)
  const outcome = (outcome: string) => grew('helix_voice_requests_total', { operation: 'synthesize', provider: 'local', outcome })
  if (statuses.every((status) => status === 200)) {
    t.equal(outcome('ok'), 1, 'synthesized once')
    t.equal(outcome('cached'), 1, 'then served from the cache')
    t.equal(grew('helix_voice_provider_duration_seconds_count', { operation: 'synthesize', provider: 'local' }), 1, 'one provider call')
  } else {
    // Without espeak-ng and ffmpeg on the machine, the local provider fails: 503 each time.
    t.same(statuses, [503, 503])
    t.equal(outcome('error'), 2, 'both failures counted')
    t.equal(grew('helix_voice_provider_errors_total', { operation: 'synthesize', provider: 'local' }), 2)
  }
  t.equal(grew('helix_voice_request_duration_seconds_count', { operation: 'synthesize', provider: 'local' }), 2, 'both timed')
})

t.test('zapier: a signed webhook queued and processed, a bad signature and a wrong type refused by reason', async (t) => {
  const before = await scrape(app)
  const ok = await postSigned(app, { type: 'note', data: { text: 'hello' } })
  t.equal(ok.statusCode, 202)
  const bad = await app.inject({ method: 'POST', url: '/api/zapier/hooks/legacy', payload: '{"type":"x"}', headers: zapierHeaders('{"type":"y"}') })
  t.equal(bad.statusCode, 401)
  const wrongType = await app.inject({ method: 'POST', url: '/api/zapier/hooks/legacy', payload: 'type=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(wrongType.statusCode, 415)
  const s = await scrapeUntil((s) => total(s, 'helix_zapier_events_total', { outcome: 'processed' }) > total(before, 'helix_zapier_events_total', { outcome: 'processed' }), 'the event processed')
  const grew = (outcome: string) => total(s, 'helix_zapier_inbound_total', { outcome }) - total(before, 'helix_zapier_inbound_total', { outcome })
  t.equal(grew('queued'), 1)
  t.equal(grew('unauthorized'), 1)
  t.equal(grew('unsupported_type'), 1)
  await scrapeUntil((s) => has(s, 'helix_zapier_queue_depth', { queue: 'inbound' }) && total(s, 'helix_zapier_queue_depth', { queue: 'inbound' }) === 0, 'the inbound queue empty')
})

t.test('bot: the gateway session, a slash command by outcome, a post', async () => {
  await scrapeUntil((s) => total(s, 'helix_bot_gateway_connected') === 1, 'the gateway session open')
  const before = await scrape(app)
  const sent = fake.sendInteraction({ command: 'status' })
  await sent.edit()
  await scrapeUntil((s) => total(s, 'helix_bot_interactions_total', { command: 'status', outcome: 'ok' }) === total(before, 'helix_bot_interactions_total', { command: 'status', outcome: 'ok' }) + 1, '/status counted')
  // The alert raised and resolved above were posted to the alert channel.
  await scrapeUntil((s) => total(s, 'helix_bot_posts_total', { outcome: 'sent' }) >= 1, 'a post counted')
})

t.test('flags and ownership: an override flip is counted by kind and shows its source', async (t) => {
  const before = await scrape(app)
  t.equal(total(before, 'helix_flag_enabled', { flag: 'helix.zapier.outbound', source: 'bootstrap' }), 1, 'on from the bootstrap file')
  t.equal(total(before, 'helix_ownership_owned', { plugin: 'orchestrator' }), 1, 'the monolith owns the orchestrator')
  t.equal(total(before, 'helix_ownership_dedicated', { plugin: 'orchestrator' }), 0)
  t.equal(total(before, 'helix_ready', { part: 'all' }), 1, 'ready')
  const admin = bearer(app, ['admin'])
  const res = await app.inject({ method: 'PUT', url: '/admin/flags/helix.zapier.outbound', headers: admin, payload: { enabled: false } })
  t.equal(res.statusCode, 200)
  t.teardown(() => app.inject({ method: 'DELETE', url: '/admin/flags/helix.zapier.outbound', headers: admin }))
  const s = await scrapeUntil((s) => total(s, 'helix_flag_enabled', { flag: 'helix.zapier.outbound', source: 'override' }) === 0 && has(s, 'helix_flag_enabled', { flag: 'helix.zapier.outbound', source: 'override' }), 'the override in effect')
  t.notOk(has(s, 'helix_flag_enabled', { flag: 'helix.zapier.outbound', source: 'bootstrap' }), 'one series per flag')
  t.equal(total(s, 'helix_flag_flips_total', { flag: 'helix.zapier.outbound', kind: 'override' }) - total(before, 'helix_flag_flips_total', { flag: 'helix.zapier.outbound', kind: 'override' }), 1)
  t.ok(s.samples.every((sample) => sample.labels.role === 'all'), 'every series carries the role')
})

t.test('http: requests by route pattern and status', async (t) => {
  const before = await scrape(app)
  await app.inject({ url: '/api/agents/kael', headers: agents })
  const s = await scrape(app)
  const labels = { method: 'GET', route: '/api/agents/:idOrSlug', status: '200' }
  t.equal(total(s, 'helix_http_request_duration_seconds_count', labels) - total(before, 'helix_http_request_duration_seconds_count', labels), 1)
})
