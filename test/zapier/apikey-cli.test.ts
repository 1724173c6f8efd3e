// `helix apikey create|list|revoke` on the compiled CLI against real PostgreSQL: the key it prints
// works as X-API-Key on a server using the same database, the list never shows it, revoke ends it.
import t from 'tap'
import { zapierPlugin } from '../../plugins/zapier/index.js'
import { helix } from '../cli/cli.js'
import { build } from '../helpers/build.js'
import { realEnv } from './helpers.js'

t.test('create, list, revoke', async (t) => {
  const env = await realEnv(t, 'zap_cli')
  const cliEnv = { DATABASE_URL: env.DATABASE_URL, HELIX_JWT_SECRET: 'cli-secret-0123456789abcdef0123456789', NODE_ENV: 'test' }
  const created = await helix(['apikey', 'create', '--name', 'zapier-prod', '--json'], { env: cliEnv })
  t.equal(created.code, 0, created.stderr)
  const { id, key } = JSON.parse(created.stdout) as { id: string; key: string }
  t.match(key, /^hzk_/)

  const app = await build(t, env, { plugins: [zapierPlugin] })
  const me = await app.inject({ url: '/api/zapier/me', headers: { 'x-api-key': key } })
  t.equal(me.statusCode, 200)
  t.equal(me.json().name, 'zapier-prod')

  const list = await helix(['apikey', 'list'], { env: cliEnv })
  t.equal(list.code, 0)
  t.match(list.stdout, id)
  t.notMatch(list.stdout, key, 'the key is not listed')

  t.equal((await helix(['apikey', 'revoke', '--id', id], { env: cliEnv })).code, 0)
  t.equal((await app.inject({ url: '/api/zapier/me', headers: { 'x-api-key': key } })).statusCode, 401, 'revoked')

  const usage = await helix(['apikey', 'create'], { env: cliEnv })
  t.equal(usage.code, 2, 'a missing --name is a usage error')
  t.match(usage.stderr, /--name/)
  t.equal((await helix(['apikey', 'rotate'], { env: cliEnv })).code, 2, 'an unknown action')
})
