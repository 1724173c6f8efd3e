// SIGTERM while requests are in flight: every one completes, then the process exits 0.
import t from 'tap'
import { Agent, request } from 'undici'
import { tempDir } from '../helpers/build.js'
import { startHelix } from '../helpers/process.js'

t.test('SIGTERM with 100 slow requests in flight', async (t) => {
  const helix = await startHelix(t, { entry: 'test/fixtures/probe-server.ts', env: { HELIX_DATA_DIR: tempDir(t) } })
  const agent = new Agent({ connections: 200 })
  t.teardown(() => agent.close())
  const inFlight = Array.from({ length: 100 }, () =>
    request(`${helix.url}/api/probe/slow?ms=1500`, { dispatcher: agent }).then(async (res) => ({ status: res.statusCode, body: await res.body.json() }))
  )
  // Let every request reach the server before the signal.
  await new Promise((r) => setTimeout(r, 500))
  const stopped = helix.kill('SIGTERM')
  const results = await Promise.all(inFlight)
  t.same(results.filter((r) => r.status === 200 && (r.body as { done: boolean }).done).length, 100, 'all 100 completed')
  const exit = await stopped
  t.same(exit, { code: 0, signal: null }, 'exited 0 (close-with-grace exits 1 past its 9 s deadline)')
  t.match(helix.output(), /shutting down/)
  await t.rejects(request(`${helix.url}/health/live`, { dispatcher: agent }), 'no longer listening')
})
