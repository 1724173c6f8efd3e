// Crashes (issue 10, finding 1) against a real process: a body nested thousands of levels deep is a
// 400 and the process serves on; an uncaught exception or unhandled rejection ends the process within
// 2 s with exit code 1 even with a request in flight, instead of after the 9 s shutdown deadline.
import t from 'tap'
import { Agent, request } from 'undici'
import { signTestToken, tempDir } from '../helpers/build.js'
import { startHelix } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels)

t.test('a body of 5,000 nested arrays is 400 too_deep and the process stays up', async (t) => {
  const helix = await startHelix(t, { entry: 'test/fixtures/crash-server.ts', env: { HELIX_DATA_DIR: tempDir(t) } })
  const post = (body: string) => fetch(`${helix.url}/api/probe/items`, {
    method: 'POST',
    headers: { authorization: `Bearer ${signTestToken(['agents:write'])}`, 'content-type': 'application/json' },
    body
  })
  const deep = await post(`{"name":${nested(5000)}}`)
  t.equal(deep.status, 400)
  t.match(await deep.json(), { error: 'too_deep', message: /32 levels/ })
  const fine = await post('{"name":"after"}')
  t.equal(fine.status, 201, 'the next request is served')
  t.equal((await fetch(`${helix.url}/health/live`)).status, 200)
  t.equal(helix.child.exitCode, null, 'still running')
})

for (const [kind, what] of [['exception', 'an uncaught exception'], ['rejection', 'an unhandled rejection']] as const) {
  t.test(`${what} ends the process within 2 s with exit code 1`, async (t) => {
    const helix = await startHelix(t, { entry: 'test/fixtures/crash-server.ts', env: { HELIX_DATA_DIR: tempDir(t) } })
    const agent = new Agent({ connections: 4 })
    t.teardown(() => agent.destroy())
    // A request a graceful shutdown would wait 20 s for.
    const slow = request(`${helix.url}/api/probe/slow?ms=20000`, { dispatcher: agent }).then(() => 'answered', () => 'cut off')
    await waitFor(() => /"url":"\/api\/probe\/slow/.test(helix.output()), 'the slow request to arrive')

    const crash = await request(`${helix.url}/api/crash?kind=${kind}`, { method: 'POST', dispatcher: agent })
    const crashedAt = Date.now()
    t.equal(crash.statusCode, 202)
    await crash.body.dump()
    const exit = await helix.exited
    const took = Date.now() - crashedAt
    t.same(exit, { code: 1, signal: null }, 'exit code 1')
    t.ok(took < 2000, `exited ${took} ms after the error (under 2 s)`)
    t.match(helix.output(), /"level":60.*uncaught error/, 'logged as fatal')
    t.match(helix.output(), `fixture: ${what}`, 'with the error')
    t.equal(await slow, 'cut off', 'the request in flight did not hold the exit up')
  })
}
