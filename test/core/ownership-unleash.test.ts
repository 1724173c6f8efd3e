// Flips through the real Unleash server under load: the monolith (`all`) and the dedicated `voice`
// service (the echo test plugin) on one Redis; GETs, POSTs with bodies and WebSocket round trips go
// through the monolith while helix.voice.dedicated flips both ways through Unleash's admin API. Every
// request must get the plugin's normal answer (DESIGN section 5: a flip fails no request).
import t from 'tap'
import WebSocket from 'ws'
import { freePort } from '../helpers/net.js'
import { startHelix } from '../helpers/process.js'
import { redisPrefix, sharedRedisUrl } from '../helpers/redis.js'
import { unleashServer } from '../helpers/unleash-server.js'
import { waitFor } from '../helpers/wait.js'

// The first use on a machine installs unleash-server and migrates its template database.
t.setTimeout(400_000)

const FLIPS = [true, false, true, false]
const LOOPS = { get: 12, post: 6, ws: 3 }
/** Answers each kind must get from the new owner after a flip landed, so the load spans the whole flip. */
const AFTER_LANDING = 20

type Kind = keyof typeof LOOPS
interface Answer { kind: Kind; role: string | null; failure: string | null }

async function getOnce(url: string): Promise<Answer> {
  const res = await fetch(`${url}/api/voice/whoami`)
  const text = await res.text()
  if (res.status !== 200) return { kind: 'get', role: null, failure: `GET ${res.status} ${text}` }
  return { kind: 'get', role: (JSON.parse(text) as { role: string }).role, failure: null }
}

async function postOnce(url: string, n: number): Promise<Answer> {
  const body = { text: `body ${n} ${'x'.repeat(n % 512)}` }
  const res = await fetch(`${url}/api/voice/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const text = await res.text()
  if (res.status !== 200) return { kind: 'post', role: null, failure: `POST ${res.status} ${text}` }
  const answer = JSON.parse(text) as { text: string; role: string }
  if (answer.text !== body.text) return { kind: 'post', role: answer.role, failure: `POST echoed ${JSON.stringify(answer.text.slice(0, 40))}` }
  return { kind: 'post', role: answer.role, failure: null }
}

/** Upgrade, one message and its echo (`<role>:<message>`), close; anything else is a failure. */
function wsOnce(url: string, n: number): Promise<Answer> {
  return new Promise((resolve) => {
    let settled = false
    const done = (role: string | null, failure: string | null) => {
      if (settled) return
      settled = true
      ws.removeAllListeners()
      ws.on('error', () => {})
      ws.terminate()
      resolve({ kind: 'ws', role, failure })
    }
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/voice/ws`)
    const timer = setTimeout(() => done(null, 'WS no answer within 10 s'), 10_000)
    ws.once('open', () => ws.send(`m${n}`))
    ws.once('message', (data) => {
      clearTimeout(timer)
      const [role, echoed] = data.toString().split(':')
      done(role, echoed === `m${n}` ? null : `WS echoed ${data.toString()}`)
    })
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer)
      let text = ''
      res.on('data', (c: Buffer) => (text += c.toString()))
      res.on('end', () => done(null, `WS upgrade ${res.statusCode} ${text}`))
    })
    ws.once('close', (code) => {
      clearTimeout(timer)
      done(null, `WS closed ${code} before the echo`)
    })
    ws.once('error', (err) => {
      clearTimeout(timer)
      done(null, `WS ${err.message}`)
    })
  })
}

/** Steady load through the monolith until stop(); every answer goes to `record`. */
function runLoad(url: string, record: (a: Answer) => void) {
  let running = true
  let n = 0
  const loop = async (kind: Kind, once: () => Promise<Answer>) => {
    while (running) {
      record(await once().catch((err: Error) => ({ kind, role: null, failure: `${kind} ${err.message}` })))
    }
  }
  const loops = [
    ...Array.from({ length: LOOPS.get }, () => loop('get', () => getOnce(url))),
    ...Array.from({ length: LOOPS.post }, () => loop('post', () => postOnce(url, n++))),
    ...Array.from({ length: LOOPS.ws }, () => loop('ws', () => wsOnce(url, n++)))
  ]
  return async () => {
    running = false
    await Promise.all(loops)
  }
}

t.test('flips through the real Unleash server under load fail and lose no request', async (t) => {
  const unleash = await unleashServer(t, { initial: { 'helix.voice.dedicated': false } })
  const [monoPort, voicePort] = [await freePort(), await freePort()]
  const monoUrl = `http://127.0.0.1:${monoPort}`
  const voiceUrl = `http://127.0.0.1:${voicePort}`
  const shared = {
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: redisPrefix(t),
    UNLEASH_URL: unleash.url,
    UNLEASH_API_TOKEN: unleash.clientToken,
    UNLEASH_REFRESH_MS: '250',
    LOG_LEVEL: 'warn',
    HELIX_PUBLIC_URLS: `all=${monoUrl},voice=${voiceUrl}`
  }
  const [mono] = await Promise.all([
    startHelix(t, { entry: 'test/fixtures/server.ts', env: { ...shared, PORT: String(monoPort), HELIX_ROLE: 'all', HELIX_SERVICE_URLS: `voice=${voiceUrl}` } }),
    startHelix(t, { entry: 'test/fixtures/server.ts', env: { ...shared, PORT: String(voicePort), HELIX_ROLE: 'voice' } })
  ])

  const failures: string[] = []
  const served = { get: 0, post: 0, ws: 0 }
  // Answers from the flip's target owner since the flip was made, per kind.
  let target: { role: string; seen: Record<Kind, number> } | null = null
  const stop = runLoad(mono.url, (answer) => {
    if (answer.failure) failures.push(answer.failure)
    else served[answer.kind]++
    if (target && !answer.failure && answer.role === target.role) target.seen[answer.kind]++
  })
  t.teardown(stop)
  await waitFor(() => served.get > 0 && served.post > 0 && served.ws > 0, 'the load to run', 20_000)

  for (const dedicated of FLIPS) {
    const role = dedicated ? 'voice' : 'all'
    const flip = { role, seen: { get: 0, post: 0, ws: 0 } }
    target = flip
    const at = Date.now()
    await unleash.set('helix.voice.dedicated', dedicated)
    await waitFor(() => flip.seen.get > 0 && flip.seen.post > 0 && flip.seen.ws > 0, `GET, POST and WebSocket served by ${role}`, 30_000)
    t.comment(`flip to ${role}: landed in ${Date.now() - at} ms`)
    await waitFor(() => Object.values(flip.seen).every((n) => n >= AFTER_LANDING), `${AFTER_LANDING} answers of each kind from ${role}`, 30_000)
    t.pass(`flip to ${role} landed: GET, POST and WebSocket answered by ${role}`)
  }
  await stop()

  t.comment(`served ${served.get} GETs, ${served.post} POSTs, ${served.ws} WebSocket round trips; ${failures.length} failed`)
  t.same(failures.slice(0, 20), [], 'no request failed (first 20 shown)')
  t.equal(failures.length, 0, 'failed requests')
  t.notMatch(mono.output(), /unhandled|uncaught/i, 'the monolith logged no crash')
})
