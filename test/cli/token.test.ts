// `helix token` and the CLI's command line as a user meets it: tokens the server accepts, and every
// mistake answered with one line on stderr and exit code 2 (1 when the secret is missing or bad).
import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { createVerifier } from 'fast-jwt'
import t from 'tap'
import { build, tempDir, TEST_SECRET } from '../helpers/build.js'
import { helix } from './cli.js'

const verify = createVerifier({ key: TEST_SECRET, algorithms: ['HS256'] })

type Test = Parameters<Parameters<typeof t.test>[0]>[0]

/** One line on stderr, nothing on stdout, no stack trace. */
function assertOneLineError(t: Test, result: { stdout: string; stderr: string }, pattern: RegExp): void {
  t.equal(result.stdout, '', 'nothing on stdout')
  t.match(result.stderr, pattern)
  t.equal(result.stderr.trimEnd().split('\n').length, 1, `one line: ${result.stderr}`)
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace')
}

t.test('a token with the claims asked for, which the server accepts', async (t) => {
  const env = { HELIX_JWT_SECRET: TEST_SECRET, HELIX_DATA_DIR: tempDir(t) }
  const result = await helix(['token', '--sub', 'alice', '--scope', 'agents:read stream:read', '--ttl', '30m'], { env })
  t.equal(result.code, 0, result.stderr)
  t.equal(result.stderr, '')
  const token = result.stdout.trim()
  const claims = verify(token)
  t.equal(claims.sub, 'alice')
  t.equal(claims.scope, 'agents:read stream:read')
  t.equal(claims.exp - claims.iat, 30 * 60, '--ttl 30m is 30 minutes')
  t.ok(Math.abs(claims.iat - Date.now() / 1000) < 60)

  const app = await build(t)
  const principal = app.auth.verify(token)
  t.same([...principal.scopes], ['agents:read', 'stream:read'])

  const commas = await helix(['token', '--sub', 'bot', '--scope', 'stream:read,stream:read,admin', '--ttl', '7d'], { env })
  const more = verify(commas.stdout.trim())
  t.equal(more.scope, 'stream:read admin', 'commas separate scopes too, duplicates dropped')
  t.equal(more.exp - more.iat, 7 * 86400)
  const byDefault = verify((await helix(['token', '--sub', 'ops', '--scope', 'admin'], { env })).stdout.trim())
  t.equal(byDefault.exp - byDefault.iat, 3600, 'one hour unless --ttl says otherwise')
})

t.test('command-line mistakes: exit 2, one line naming the problem', async (t) => {
  const env = { HELIX_JWT_SECRET: TEST_SECRET, HELIX_DATA_DIR: tempDir(t) }
  const cases: [string[], RegExp][] = [
    [['token', '--sub', 'alice'], /^helix token: --scope is required, e\.g\. --scope "agents:read stream:read"; known scopes: stream:read .*admin/],
    [['token', '--sub', 'alice', '--scope', ''], /--scope is required/],
    [['token', '--sub', 'alice', '--scope', 'agents:read agents:rule'], /^helix token: unknown scope "agents:rule"; known scopes: /],
    [['token', '--sub', 'alice', '--scope', 'admin', '--ttl', '1'], /^helix token: --ttl "1" has no unit; write 1s, 1m, 1h or 1d/],
    [['token', '--sub', 'alice', '--scope', 'admin', '--ttl', '1w'], /^helix token: --ttl "1w" is not a duration; .* e\.g\. 1h/],
    [['token', '--sub', 'alice', '--scope', 'admin', '--ttl', '0s'], /^helix token: --ttl "0s" is out of range/],
    [['token', '--scope', 'admin'], /^helix token: --sub is required/],
    [['token', '--sub', 'alice', '--scope', 'admin', '--bogus'], /^helix token: unknown option --bogus \(helix token --help\)$/m],
    [['token', '--sub'], /^helix token: --sub needs a value/],
    [['token', 'alice'], /^helix token: unexpected argument "alice"/],
    [['tokens'], /^helix: unknown command "tokens"; the commands are token, migrate, env/],
    [['help', 'tokens'], /^helix: unknown command "tokens"/],
    [['env', '--format', 'yaml'], /^helix env: unknown format "yaml"; expected markdown or example/],
    [['migrate', 'now'], /^helix migrate: unexpected argument "now"/]
  ]
  for (const [args, pattern] of cases) {
    const result = await helix(args, { env })
    t.equal(result.code, 2, args.join(' '))
    assertOneLineError(t, result, pattern)
  }
  const bare = await helix([], { env })
  t.equal(bare.code, 2, 'no command is a usage error')
  t.match(bare.stderr, /^Usage: helix <command>/)
})

t.test('`npm run token --sub alice` (without --): the error says where the options went', async (t) => {
  const result = await helix(['token', 'alice', 'admin'], { env: { HELIX_JWT_SECRET: TEST_SECRET, npm_lifecycle_event: 'helix' } })
  t.equal(result.code, 2)
  assertOneLineError(t, result, /unexpected argument "alice" \(npm keeps the options that come before -- for itself: write npm run <script> -- <options>\)/)
})

t.test('--help and help <command>: exit 0, the usage on stdout', async (t) => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const result = await helix(args)
    t.equal(result.code, 0)
    t.match(result.stdout, /^Usage: helix <command> \[options\]\n\nCommands:\n {2}token .*\n {2}migrate .*\n {2}env /)
  }
  for (const command of ['token', 'migrate', 'env']) {
    for (const args of [[command, '--help'], [command, '-h'], ['help', command], [command, '--bogus', '--help']]) {
      const result = await helix(args)
      t.equal(result.code, 0, args.join(' '))
      t.equal(result.stderr, '')
      t.match(result.stdout, new RegExp(`^Usage: helix ${command}`))
    }
  }
  t.match((await helix(['token', '--help'])).stdout, /--ttl <duration> +how long it is valid, with a unit: 45s, 30m, 1h, 7d/)
})

t.test('the secret: missing, unreadable or damaged is one line and exit 1', async (t) => {
  const missing = tempDir(t)
  const noSecret = await helix(['token', '--sub', 'a', '--scope', 'admin'], { env: { HELIX_DATA_DIR: missing, NODE_ENV: 'development' } })
  t.equal(noSecret.code, 1)
  assertOneLineError(t, noSecret, new RegExp(`^helix token: no HELIX_JWT_SECRET, and no development secret in ${path.join(missing, 'jwt-secret')} yet: start the server once`))

  const production = await helix(['token', '--sub', 'a', '--scope', 'admin'], { env: { NODE_ENV: 'production', HELIX_DATA_DIR: missing } })
  t.equal(production.code, 1)
  assertOneLineError(t, production, /^helix token: Missing HELIX_JWT_SECRET: required when NODE_ENV=production/)

  const damaged = tempDir(t)
  writeFileSync(path.join(damaged, 'jwt-secret'), 'too short\n')
  const bad = await helix(['token', '--sub', 'a', '--scope', 'admin'], { env: { HELIX_DATA_DIR: damaged } })
  t.equal(bad.code, 1)
  assertOneLineError(t, bad, /^helix token: Invalid development secret .*jwt-secret: expected one line of at least 32 characters; delete the file/)

  const unreadable = tempDir(t)
  mkdirSync(path.join(unreadable, 'jwt-secret'))
  const eisdir = await helix(['token', '--sub', 'a', '--scope', 'admin'], { env: { HELIX_DATA_DIR: unreadable } })
  t.equal(eisdir.code, 1)
  assertOneLineError(t, eisdir, /^helix token: Cannot read the development secret .*jwt-secret: EISDIR; fix its permissions or set HELIX_JWT_SECRET/)
})
