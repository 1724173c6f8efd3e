// Live owners across real processes on one Redis: a flip to a role with no ready replica is refused,
// and a dedicated service killed with SIGKILL while it owns its plugin gives it back to the monolith
// within its live-owner key's TTL, with ownership.no_owner; a new replica takes it again.
import { pino } from 'pino'
import t from 'tap'
import { RedisBus } from '../../core/bus/redis-bus.js'
import type { BusEvent } from '../../core/bus/types.js'
import { createRedisFactory } from '../../core/redis.js'
import { build, tokenFor } from '../helpers/build.js'
import { freePort } from '../helpers/net.js'
import { startHelix } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const TTL_MS = 1500
const minter = await build(t)
const admin = { authorization: `Bearer ${tokenFor(minter, ['admin'])}`, 'content-type': 'application/json' }

async function whoami(url: string): Promise<{ role?: string; fallback: string | null }> {
  const res = await fetch(`${url}/api/voice/whoami`)
  return { ...(await res.json()), fallback: res.headers.get('x-helix-fallback') }
}

t.test('a dedicated service killed while it owns its plugin hands it back to the monolith within the TTL', async (t) => {
  const prefix = redisPrefix(t)
  const [monoPort, voicePort] = [await freePort(), await freePort()]
  const voiceUrl = `http://127.0.0.1:${voicePort}`
  const shared = { REDIS_URL: sharedRedisUrl, HELIX_REDIS_PREFIX: prefix, HELIX_LIVE_OWNER_TTL_MS: String(TTL_MS) }
  const log = pino({ level: 'silent' })
  const bus = new RedisBus({ redis: createRedisFactory(sharedRedisUrl, log), prefix, historyLen: 100, source: 'test', log })
  t.teardown(() => bus.close())
  const alerts: BusEvent[] = []
  await bus.subscribe('system', (event) => { if (event.type === 'ownership.no_owner') alerts.push(event) })

  const mono = await startHelix(t, { entry: 'test/fixtures/server.ts', env: { ...shared, PORT: String(monoPort), HELIX_ROLE: 'all', HELIX_SERVICE_URLS: `voice=${voiceUrl}` } })
  const flip = (enabled: boolean) => fetch(`${mono.url}/admin/flags/helix.voice.dedicated`, { method: 'PUT', headers: admin, body: JSON.stringify({ enabled }) })
  const view = async () => (await (await fetch(`${mono.url}/admin/flags`, { headers: admin })).json()) as { plugins: Record<string, { ready: { all: number; dedicated: number }; noOwner: boolean; owner: string }>; owners: { roles: string[]; ready: boolean }[] }

  const refused = await flip(true)
  t.equal(refused.status, 409, 'no voice replica runs: the flip is refused')
  t.match(await refused.json(), { error: 'no_ready_owner', plugin: 'voice' })

  const startVoice = () => startHelix(t, { entry: 'test/fixtures/server.ts', env: { ...shared, PORT: String(voicePort), HELIX_ROLE: 'voice' } })
  const voice = await startVoice()
  await waitFor(async () => (await view()).plugins.voice.ready.dedicated === 1, 'the voice replica announced as ready')
  t.match((await view()).owners.map((o) => o.roles), [['all'], ['voice']], 'both processes are live owners')
  t.equal((await flip(true)).status, 200)
  await waitFor(async () => (await whoami(mono.url)).role === 'voice', 'the monolith proxying to the voice replica')

  await voice.kill('SIGKILL')
  const killedAt = Date.now()
  // Its key lapses after the TTL; the monolith reads the registry every third of it.
  await waitFor(async () => {
    const answer = await whoami(mono.url)
    return answer.role === 'all' && answer.fallback === null
  }, 'the monolith serving voice itself again', TTL_MS + 4000)
  const tookBackMs = Date.now() - killedAt
  t.ok(tookBackMs < TTL_MS + 4000, `taken back ${tookBackMs} ms after the kill (TTL ${TTL_MS} ms)`)
  const alert = await waitFor(() => alerts[0], 'ownership.no_owner on system')
  t.match(alert.data, { plugin: 'voice', flag: 'helix.voice.dedicated', role: 'all' })
  t.match((await view()).plugins.voice, { owner: 'all', noOwner: true, ready: { dedicated: 0 } })
  t.match(mono.output(), /no ready voice service is announced; the monolith keeps voice/, 'and logged it')

  await startVoice()
  await waitFor(async () => (await whoami(mono.url)).role === 'voice', 'a new voice replica taking the plugin again')
  t.match((await view()).plugins.voice, { owner: 'dedicated', noOwner: false })
})
