// The plugin contract as the next plugins will use it: a plugin with settings of its own, a named
// singleton lease and no routes, calling other plugins only through the kernel's clients, in-process
// while this process owns the callee and over HTTP once ownership has moved to another service.
import { Redis } from 'ioredis'
import t from 'tap'
import { ConfigError, envSections, loadConfig } from '../../config/index.js'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { build } from '../helpers/build.js'
import { createTestDatabase } from '../helpers/db.js'
import { ManualFlags } from '../helpers/manual-flags.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { createCallerPlugin, type CallerProbe } from '../fixtures/caller-plugin.js'
import { echoPlugin } from '../fixtures/echo-plugin.js'

t.test('a plugin declares its settings: parsed at boot, defaults applied, bad values one line, in the env table', async (t) => {
  const probe: CallerProbe = { running: false }
  const caller = createCallerPlugin(probe)
  await build(t, { FIXTURE_GREETING: 'hi', FIXTURE_TOKEN: 's3cret-value' }, { plugins: [caller] })
  t.same(probe.settings, { FIXTURE_GREETING: 'hi', FIXTURE_LIMIT: 3, FIXTURE_TOKEN: 's3cret-value' })

  t.throws(() => loadConfig({ FIXTURE_LIMIT: '11' }, [caller]), new ConfigError('Invalid FIXTURE_LIMIT="11": is too large; expected an integer from 1 to 10, e.g. FIXTURE_LIMIT=3'))
  try {
    loadConfig({ FIXTURE_TOKEN: 'xyzzy' }, [caller])
    t.fail('a short secret is refused')
  } catch (err) {
    t.match((err as Error).message, /^Invalid FIXTURE_TOKEN=\(5 characters, value hidden\)/)
    t.notMatch((err as Error).message, /xyzzy/, 'a secret never appears in the error')
  }
  const sections = envSections([orchestratorPlugin, caller])
  t.same(sections.map(([title]) => title), ['Kernel', 'Flags and ownership', 'Orchestration (`plugins/orchestrator`)', 'Caller fixture'])
  t.ok('FIXTURE_GREETING' in sections[3][1])
})

t.test('roles: one whose plugin is not in the manifest fails at boot; a database role without DATABASE_URL too', async (t) => {
  const caller = createCallerPlugin({ running: false })
  t.throws(() => loadConfig({ HELIX_ROLE: 'voice', REDIS_URL: sharedRedisUrl }, [orchestratorPlugin, caller]), {
    name: 'ConfigError',
    message: /^Invalid HELIX_ROLE="voice": no plugin in this build serves role voice; expected one of all, orchestrator, bot/
  })
  t.doesNotThrow(() => loadConfig({ HELIX_ROLE: 'bot', REDIS_URL: sharedRedisUrl }, [orchestratorPlugin, caller]))
  t.throws(() => loadConfig({ HELIX_ROLE: 'orchestrator', REDIS_URL: sharedRedisUrl }, [orchestratorPlugin, caller]), { message: /^Missing DATABASE_URL/ })
})

t.test('a plugin with no routes boots, is ready, and runs its worker under its named lease', async (t) => {
  const probe: CallerProbe = { running: false }
  const prefix = redisPrefix(t)
  const app = await build(t, { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: prefix }, { plugins: [createCallerPlugin(probe)] })
  await waitFor(() => probe.running, 'the caller worker runs')
  const redis = new Redis(sharedRedisUrl)
  t.teardown(() => redis.disconnect())
  t.match(await redis.get(`${prefix}lease:bot`), /^\S+ \d+$/, 'it holds <prefix>lease:bot')
  const ready = await app.inject('/health/ready')
  t.equal(ready.statusCode, 200)
  t.same(ready.json().checks.plugins, { bot: 'ok' })
  t.notOk(app.printRoutes().includes('bot'), 'no routes of its own')
})

t.test('service clients: on behalf of a subject, in-process while owned here, over HTTP once the owner moved', async (t) => {
  const env = {
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: redisPrefix(t),
    DATABASE_URL: await createTestDatabase(t, 'kernel_contract')
  }
  const flags = new ManualFlags()
  // The dedicated orchestrator service, listening for the monolith's calls.
  const dedicated = await build(t, { ...env, HELIX_ROLE: 'orchestrator' }, { plugins: [orchestratorPlugin], flags })
  await dedicated.listen({ port: 0, host: '127.0.0.1' })
  const { port } = dedicated.server.address() as { port: number }
  const probe: CallerProbe = { running: false }
  await build(t, { ...env, HELIX_SERVICE_URLS: `orchestrator=http://127.0.0.1:${port}` }, { plugins: [orchestratorPlugin, createCallerPlugin(probe)], flags })
  const clients = probe.kernel!.clients
  const orchestrator = clients.orchestrator.for('discord:4242')

  const local = await clients.transport.call('orchestrator', { method: 'GET', path: '/api/agents/kael', scopes: ['agents:read'], onBehalfOf: 'discord:4242' })
  t.equal(local.via, 'in-process', 'the monolith owns the orchestrator: no network hop')
  const sent = await orchestrator.sendCommand('kael', { command: 'STATUS' })
  t.match(sent, { command: 'STATUS', status: 'queued' })
  const done = await clients.orchestrator.waitForFinal(sent, { timeoutMs: 20_000, onBehalfOf: 'discord:4242' })
  t.equal(done.status, 'succeeded', 'waitForFinal resolved from command.updated')

  flags.flip('helix.orchestrator.dedicated', true)
  const remote = await clients.transport.call('orchestrator', { method: 'GET', path: '/api/agents/kael', scopes: ['agents:read'], onBehalfOf: 'discord:4242' })
  t.equal(remote.via, 'http', 'the dedicated service owns it now: over HTTP')
  t.equal(remote.status, 200)
  const agent = await orchestrator.getAgent('lumina')
  t.equal(agent.slug, 'lumina')
  const second = await orchestrator.sendCommand('lumina', { command: 'REFLECT' })
  const finished = await clients.orchestrator.waitForFinal(second, { timeoutMs: 20_000, onBehalfOf: 'discord:4242' })
  t.equal(finished.status, 'succeeded', 'run by the dedicated service, seen through the shared bus')
  const catalog = await orchestrator.catalog()
  t.ok(catalog.some((c) => c.command === 'STATUS'), 'the catalog comes over HTTP too')

  const missing = await orchestrator.getAgent('nobody').catch((err: unknown) => err)
  t.match(missing, { name: 'ServiceCallError', statusCode: 404, code: 'not_found' }, "the callee's error, as it was")
})

t.test('on-behalf-of: the callee sees the subject; only service tokens may send it', async (t) => {
  const probe: CallerProbe = { running: false }
  const app = await build(t, {}, { plugins: [echoPlugin, createCallerPlugin(probe)] })
  const res = await probe.kernel!.clients.transport.json<{ sub: string; actor: string }>('voice', {
    method: 'GET', path: '/api/voice/actor', scopes: ['voice'], onBehalfOf: 'zapier:crm'
  })
  t.same(res, { sub: 'service:all', actor: 'zapier:crm', role: 'all' })

  const audio = await probe.kernel!.clients.voice.for('discord:7').synthesize({ text: 'hi' })
  t.equal(audio.contentType, 'audio/ogg')
  t.equal(audio.bytes.toString(), 'OggS:hi:all', 'binary answers come back as bytes')

  const user = app.auth.sign({ sub: 'mallory', scopes: ['voice'], ttlSeconds: 60 })
  const forged = await app.inject({ url: '/api/voice/actor', headers: { authorization: `Bearer ${user}`, 'x-helix-on-behalf-of': 'discord:1' } })
  t.equal(forged.statusCode, 403)
  t.match(forged.json(), { error: 'forbidden' })
  const plain = await app.inject({ url: '/api/voice/actor', headers: { authorization: `Bearer ${user}` } })
  t.match(plain.json(), { sub: 'mallory', actor: 'mallory' })
  const service = app.auth.sign({ sub: 'service:bot', scopes: ['voice'], ttlSeconds: 60 })
  const bad = await app.inject({ url: '/api/voice/actor', headers: { authorization: `Bearer ${service}`, 'x-helix-on-behalf-of': 'two words' } })
  t.equal(bad.statusCode, 400)
})
