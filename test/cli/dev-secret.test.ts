// The Quick-start server and `helix token` agree: without HELIX_JWT_SECRET in development the server
// keeps its secret in HELIX_DATA_DIR (mode 0600) across restarts, and the CLI signs with it. Also the
// start-up log stays short.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { build, tempDir } from '../helpers/build.js'
import { startHelix } from '../helpers/process.js'
import { helix } from './cli.js'

const development = (dataDir: string) => ({ HELIX_JWT_SECRET: undefined, NODE_ENV: 'development', HELIX_DATA_DIR: dataDir })

async function adminFlags(url: string, token: string): Promise<number> {
  return (await fetch(`${url}/admin/flags`, { headers: { authorization: `Bearer ${token}` } })).status
}

t.test('a token from `helix token` works on the Quick-start server, and still after a restart', async (t) => {
  const dataDir = tempDir(t)
  const first = await startHelix(t, { env: development(dataDir) })
  const file = path.join(dataDir, 'jwt-secret')
  t.equal(statSync(file).mode & 0o777, 0o600, 'the secret file is readable by its owner only')
  const secret = readFileSync(file, 'utf8')
  t.match(first.output(), `signing with the development secret made now and kept in ${file}`)

  const minted = await helix(['token', '--sub', 'ops', '--scope', 'admin', '--ttl', '10m'], { env: { NODE_ENV: 'development', HELIX_DATA_DIR: dataDir } })
  t.equal(minted.code, 0, minted.stderr)
  const token = minted.stdout.trim()
  t.equal(await adminFlags(first.url, token), 200, 'the server accepts the CLI token')
  const link = new URL(/Open the dashboard as admin: ([^\s"]+)/.exec(first.output())![1]).searchParams.get('token')!
  t.equal(await adminFlags(first.url, link), 200, 'the admin link works too')
  t.equal((await first.kill('SIGTERM')).code, 0)

  const second = await startHelix(t, { env: development(dataDir) })
  t.equal(readFileSync(file, 'utf8'), secret, 'the secret is reused, not replaced')
  t.match(second.output(), `signing with the development secret kept in ${file}`)
  t.equal(await adminFlags(second.url, token), 200, 'the CLI token outlives the restart')
  t.equal(await adminFlags(second.url, link), 200, 'so does the first boot\'s admin link')
})

t.test('the start-up log: a few lines, ending with the admin link', async (t) => {
  const proc = await startHelix(t, { env: development(tempDir(t)) })
  const messages = proc.output().trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg)
  const link = messages.findIndex((m) => m.startsWith('Open the dashboard as admin: '))
  // The migrations, one line from each plugin that is off for want of configuration (Zapier sources, the
  // Discord token), where it listens, what it runs, the secret, the link.
  t.ok(link >= 0 && link < 8, `at most 8 lines up to the admin link:\n${proc.output()}`)
  t.match(messages[0], /^migrations applied: orchestrator-0001-agents, /, 'a first boot names the migrations it applied, on one line')
  const listening = messages.findIndex((m) => /^Helix \d+\.\d+\.\d+ \(role all\) listening on http:\/\/127\.0\.0\.1:\d+, public URL http:\/\/127\.0\.0\.1:\d+$/.test(m))
  t.ok(listening > 0, 'where it listens, the version and the role')
  t.match(messages[listening + 1], /^plugins stream, orchestrator, voice, zapier, dashboard, bot; bus in-process; database SQLite .*helix\.sqlite; flags flags\/bootstrap\.json$/)
  t.match(messages[listening + 2], /^No HELIX_JWT_SECRET: signing with the development secret made now and kept in /)
  t.equal(link, listening + 3)
})

t.test('a damaged development secret stops the boot with one line', async (t) => {
  const dataDir = tempDir(t)
  writeFileSync(path.join(dataDir, 'jwt-secret'), 'short\n')
  const proc = await startHelix(t, { env: { ...development(dataDir), LOG_LEVEL: 'silent' }, waitFor: 'none' })
  t.equal((await proc.exited).code, 1)
  t.match(proc.output(), /^helix: Invalid development secret .*jwt-secret: expected one line of at least 32 characters; delete the file to make a new one/)
  t.equal(proc.output().trimEnd().split('\n').length, 1)
})

t.test('NODE_ENV=test without a secret: one per boot, nothing written', async (t) => {
  const dataDir = tempDir(t)
  const app = await build(t, { HELIX_JWT_SECRET: undefined, HELIX_DATA_DIR: dataDir })
  t.same(app.helix.jwtSecretSource, { kind: 'boot' })
  t.notOk(readdirSync(dataDir).includes('jwt-secret'))
})
