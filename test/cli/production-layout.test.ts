// The CLI in the production image's layout: the compiled dist/, package.json and the production
// node_modules only (copied, then `npm prune --omit=dev`, as the Dockerfile does): no tsc, no build
// step, and `helix` run through a symlink on PATH as the image installs it.
import { execFile } from 'node:child_process'
import { chmodSync, cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { createVerifier } from 'fast-jwt'
import t from 'tap'
import { tempDir, TEST_SECRET } from '../helpers/build.js'
import { ensureBuilt, root } from '../helpers/process.js'
import { helix } from './cli.js'

// Copying and pruning node_modules takes a while on a loaded machine.
t.setTimeout(300_000)

const run = promisify(execFile)

await ensureBuilt()
const app = tempDir(t, 'helix-image-')
for (const dir of ['core', 'config', 'flags', 'plugins']) cpSync(path.join(root, 'dist', dir), path.join(app, 'dist', dir), { recursive: true })
for (const file of ['package.json', 'package-lock.json', 'flags/bootstrap.json']) cpSync(path.join(root, file), path.join(app, file))
await run('cp', ['-a', path.join(root, 'node_modules'), app])
await run('npm', ['prune', '--omit=dev', '--offline', '--no-audit', '--no-fund'], { cwd: app, maxBuffer: 16 * 1024 * 1024 })

const script = path.join(app, 'dist/core/cli/helix.js')
const production = (dataDir: string) => ({ NODE_ENV: 'production', HELIX_JWT_SECRET: TEST_SECRET, HELIX_DATA_DIR: dataDir })

t.test('the copy is a production install: no TypeScript compiler anywhere', async (t) => {
  t.notOk(existsSync(path.join(app, 'node_modules/typescript')))
  t.notOk(existsSync(path.join(app, 'node_modules/.bin/tsc')))
  t.ok(existsSync(path.join(app, 'node_modules/fast-jwt')), 'production dependencies stay')
})

t.test('helix token, through a symlink on PATH as in the image', async (t) => {
  const bin = path.join(tempDir(t), 'bin')
  mkdirSync(bin)
  // `npm run build` makes it executable; the tests' compile step does not.
  chmodSync(script, 0o755)
  symlinkSync(script, path.join(bin, 'helix'))
  const { stdout } = await run('helix', ['token', '--sub', 'ops', '--scope', 'admin', '--ttl', '1h'], {
    cwd: tempDir(t),
    env: { PATH: `${bin}:${path.dirname(process.execPath)}:/usr/bin:/bin`, ...production(tempDir(t)) }
  })
  const claims = createVerifier({ key: TEST_SECRET })(stdout.trim())
  t.match(claims, { sub: 'ops', scope: 'admin' })
  t.equal(claims.exp - claims.iat, 3600)
})

t.test('helix migrate on SQLite: applies, then says it is up to date', async (t) => {
  const dataDir = tempDir(t)
  const first = await helix(['migrate'], { script, cwd: app, env: production(dataDir) })
  t.equal(first.code, 0, first.stderr)
  t.equal(first.stderr, '', 'no log noise unless LOG_LEVEL asks')
  t.match(first.stdout, new RegExp(`^applied to SQLite database ${dataDir}/helix\\.sqlite: orchestrator-0001-agents, `))
  const again = await helix(['migrate'], { script, cwd: app, env: production(dataDir) })
  t.equal(again.code, 0, again.stderr)
  t.equal(again.stdout, `SQLite database ${dataDir}/helix.sqlite is up to date\n`)
})

t.test('helix migrate with the database down: one line, exit 1', async (t) => {
  const down = await helix(['migrate'], { script, cwd: app, env: { ...production(tempDir(t)), DATABASE_URL: 'postgres://postgres:hunter2@127.0.0.1:1/helix' } })
  t.equal(down.code, 1)
  t.equal(down.stdout, '')
  t.match(down.stderr, /^helix migrate: PostgreSQL database 127\.0\.0\.1:1\/helix: .*ECONNREFUSED/)
  t.equal(down.stderr.trimEnd().split('\n').length, 1, down.stderr)
  t.notMatch(down.stderr, /hunter2/, 'the password stays out of the message')
})

t.test('npm run migrate and npm run token stay thin aliases there: no build step without tsc', async (t) => {
  const env = { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin`, HOME: process.env.HOME, ...production(tempDir(t)) }
  const migrate = await run('npm', ['run', 'migrate'], { cwd: app, env })
  t.match(migrate.stdout, /applied to SQLite database .*: orchestrator-0001-agents/)
  const token = await run('npm', ['run', '--silent', 'token', '--', '--sub', 'ops', '--scope', 'admin'], { cwd: app, env })
  t.match(createVerifier({ key: TEST_SECRET })(token.stdout.trim()), { sub: 'ops', scope: 'admin' })
})

t.test('helix env works there too', async (t) => {
  const example = await helix(['env', '--format', 'example'], { script, cwd: app })
  t.equal(example.code, 0, example.stderr)
  t.equal(example.stdout, (await helix(['env', '--format', 'example'])).stdout)
})
