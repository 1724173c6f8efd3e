// The built dist/ started the way the Docker image starts it: `npm run build`, then
// `node dist/core/main.js`, in the embedded default and with bad configuration.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { tempDir } from '../helpers/build.js'
import { root, startHelix } from '../helpers/process.js'

const run = promisify(execFile)

// The same lock as the test helpers' compile step, so parallel test files never build at once.
await run('flock', [path.join(root, 'node_modules/.helix-build.lock'), 'npm', 'run', 'build', '--silent'], { cwd: root })

t.test('embedded default: ready, discovery, and an admin link that works', async (t) => {
  const helix = await startHelix(t, { env: { HELIX_JWT_SECRET: undefined, NODE_ENV: 'development', HELIX_DATA_DIR: tempDir(t) } })
  const ready = await fetch(`${helix.url}/health/ready`)
  t.equal(ready.status, 200)
  const discovery = await (await fetch(`${helix.url}/.well-known/helix.json`)).json()
  t.match(discovery, { name: 'helix', role: 'all' })
  const link = /Open the dashboard as admin: ([^\s"]+)/.exec(helix.output())
  t.ok(link, 'the start-up log prints the admin link')
  const token = new URL(link![1]).searchParams.get('token')!
  const flags = await fetch(`${helix.url}/admin/flags`, { headers: { authorization: `Bearer ${token}` } })
  t.equal(flags.status, 200, 'the token from the link is an admin token for this boot')
  const forged = await fetch(`${helix.url}/admin/flags`, { headers: { authorization: `Bearer ${token.slice(0, -2)}xx` } })
  t.equal(forged.status, 401)
  const exit = await helix.kill('SIGTERM')
  t.equal(exit.code, 0)
})

t.test('bad configuration: one line on stderr, exit 1, no stack trace', async (t) => {
  const cases: [Record<string, string | undefined>, RegExp][] = [
    [{ PORT: 'eighty' }, /^helix: Invalid PORT="eighty": .+ e\.g\. PORT=8080\n$/],
    [{ HELIX_ROLE: 'all,dashboard' }, /^helix: Invalid HELIX_ROLE="all,dashboard": unknown role "dashboard"/],
    [{ NODE_ENV: 'production', HELIX_JWT_SECRET: undefined }, /^helix: Missing HELIX_JWT_SECRET/],
    [{ HELIX_FLAGS_BOOTSTRAP: 'package-lock.json' }, /^helix: Invalid flags bootstrap file .*package-lock\.json/]
  ]
  for (const [env, pattern] of cases) {
    const helix = await startHelix(t, { env: { HELIX_DATA_DIR: tempDir(t), LOG_LEVEL: 'silent', ...env }, waitFor: 'none' })
    const exit = await helix.exited
    t.equal(exit.code, 1, JSON.stringify(env))
    t.match(helix.output(), pattern)
    t.notMatch(helix.output(), /\n\s+at /, 'no stack trace')
  }
})
