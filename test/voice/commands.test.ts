// Voice commands: audio of "helix kael status" creates a STATUS command for Kael on behalf of the
// caller, with the orchestrator in this process and on another service; the grammar follows the roster.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { BusEvent } from '../../core/bus/types.js'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { speak } from '../helpers/audio.js'
import { bearer, build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { ManualFlags } from '../helpers/manual-flags.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { voiceApp } from './voice-app.js'

const command = (app: FastifyInstance, audio: Buffer, scopes: string[] = ['voice', 'agents:write']) =>
  app.inject({ method: 'POST', url: '/api/voice/commands', headers: { ...bearer(app, scopes), 'content-type': 'audio/wav' }, payload: audio })

const kaelStatus = await speak('helix kael status')

t.test('in-process: a STATUS command for Kael, the transcript, voice.command', async (t) => {
  const { app } = await voiceApp(t, { VOICE_PROVIDER: 'local' })
  const events: BusEvent[] = []
  await app.helix.kernel.bus.subscribe('voice', (e) => void events.push(e))

  const res = await command(app, kaelStatus)
  t.equal(res.statusCode, 202)
  const body = res.json()
  t.match(body, { transcript: 'helix kael status', provider: 'local', heard: { wakeWord: 'helix', agent: 'kael', command: 'STATUS' }, command: { command: 'STATUS' } })
  const kael = await app.inject({ url: '/api/agents/kael', headers: bearer(app, ['agents:read']) })
  t.equal(body.command.agentId, kael.json().id, "Kael's command")
  const stored = await app.inject({ url: `/api/commands/${body.command.id}`, headers: bearer(app, ['agents:read']) })
  t.equal(stored.statusCode, 200, 'stored by the orchestrator')
  const event = await waitFor(() => events.find((e) => e.type === 'voice.command'), 'voice.command')
  t.match(event.data, { agent: 'kael', command: 'STATUS', commandId: body.command.id, actor: 'tester' })

  const another = await command(app, await speak('manus kael harmony pulse'))
  t.equal(another.statusCode, 202)
  t.match(another.json(), { heard: { wakeWord: 'manus', agent: 'kael', command: 'HARMONY_PULSE' }, command: { command: 'HARMONY_PULSE' } }, 'another wake word, a two-word command')

  const forbidden = await command(app, kaelStatus, ['voice'])
  t.equal(forbidden.statusCode, 403, 'agents:write is needed too')
  t.equal(forbidden.json().error, 'forbidden')

  const silence = await command(app, (await speak(' ')).subarray(0))
  t.equal(silence.statusCode, 200)
  t.match(silence.json(), { transcript: '', command: null, heard: null }, 'nothing heard, nothing sent')
})

t.test('a new agent is heard once it exists: the grammar follows the agents channel', async (t) => {
  const { app } = await voiceApp(t, { VOICE_PROVIDER: 'local' })
  // The grammar hears only what it holds: before river exists, its name is heard as something else.
  const before = await command(app, await speak('helix river status'))
  t.not(before.json().heard?.agent, 'river', `no agent called river yet (heard "${before.json().transcript}")`)
  const created = await app.inject({
    method: 'POST', url: '/api/agents', headers: bearer(app, ['agents:write']),
    payload: { slug: 'river', name: 'River', emoji: '🌊', tier: 'outer_ring', role: 'Flow', commands: ['STATUS'] }
  })
  t.equal(created.statusCode, 201, created.body)
  const after = await waitFor(async () => {
    const res = await command(app, await speak('helix river status'))
    return res.statusCode === 202 && res.json()
  }, 'the roster to include river')
  t.match(after, { heard: { agent: 'river', command: 'STATUS' }, command: { command: 'STATUS' } })
})

t.test('with the orchestrator on another service: the command is created there, over HTTP', async (t) => {
  const env = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: redisPrefix(t, 'voice'), DATABASE_URL: await createTestDatabase(t, 'voice_commands') }
  const flags = new ManualFlags()
  flags.flip('helix.orchestrator.dedicated', true)
  const dedicated = await build(t, { ...env, HELIX_ROLE: 'orchestrator' }, { plugins: [orchestratorPlugin], flags })
  await dedicated.listen({ port: 0, host: '127.0.0.1' })
  const { port } = dedicated.server.address() as { port: number }
  const { app } = await voiceApp(t, { ...env, VOICE_PROVIDER: 'local', HELIX_SERVICE_URLS: `orchestrator=http://127.0.0.1:${port}` }, flags)

  const res = await command(app, kaelStatus)
  t.equal(res.statusCode, 202)
  const created = res.json().command
  t.match(created, { command: 'STATUS' })
  const there = await dedicated.inject({ url: `/api/commands/${created.id}`, headers: bearer(dedicated, ['agents:read']) })
  t.equal(there.statusCode, 200, 'stored by the dedicated orchestrator')
  t.equal(there.json().agentId, (await dedicated.inject({ url: '/api/agents/kael', headers: bearer(dedicated, ['agents:read']) })).json().id)
})
