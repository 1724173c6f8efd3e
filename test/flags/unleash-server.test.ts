// The real Unleash server helper: the helix.* flags exist with a default strategy, the client token
// reads them, the admin token alone may change them, and a flip through the admin API reaches Helix.
import type { FastifyInstance } from 'fastify'
import t from 'tap'
import { FLAGS } from '../../flags/names.js'
import { bearer, build } from '../helpers/build.js'
import { unleashServer, UNLEASH_ENVIRONMENT } from '../helpers/unleash-server.js'
import { waitFor } from '../helpers/wait.js'

// First use on a machine installs unleash-server and migrates its template database.
t.setTimeout(400_000)

interface ClientFeature { name: string; enabled: boolean; strategies: { name: string }[] }

async function flagRow(app: FastifyInstance, name: string): Promise<{ enabled: boolean; source: string; unleash: boolean | null }> {
  const res = await app.inject({ url: '/admin/flags', headers: bearer(app, ['admin']) })
  return (res.json().flags as { name: string; enabled: boolean; source: string; unleash: boolean | null }[]).find((f) => f.name === name)!
}

t.test('the helper starts unleash-server with the helix flags, tokens and a working admin API', async (t) => {
  const unleash = await unleashServer(t, { initial: { 'helix.voice.google': true } })

  const client = await fetch(`${unleash.url}/client/features`, { headers: { authorization: unleash.clientToken } })
  t.equal(client.status, 200)
  const features = ((await client.json()) as { features: ClientFeature[] }).features
  t.same(features.map((f) => f.name).sort(), Object.keys(FLAGS).sort(), 'every helix.* flag exists')
  for (const f of features) {
    t.equal(f.enabled, f.name === 'helix.voice.google', `${f.name} starts ${f.name === 'helix.voice.google' ? 'on' : 'off'}`)
    t.same(f.strategies.map((s) => s.name), ['default'], `${f.name} has the default strategy`)
  }

  t.equal((await fetch(`${unleash.url}/client/features`)).status, 401, 'no token, no flags')
  const withClientToken = await fetch(`${unleash.url}/admin/projects/default/features/helix.bot.voice/environments/${UNLEASH_ENVIRONMENT}/on`, {
    method: 'POST', headers: { authorization: unleash.clientToken }
  })
  t.equal(withClientToken.status, 403, 'the client token cannot flip')
  await t.rejects(unleash.set('helix.nope', true), /answered 404/, 'an unknown flag is an error, not a silent no-op')
})

t.test('a flip through the admin API reaches a Helix app; after stop() the app keeps the last known flags', async (t) => {
  const unleash = await unleashServer(t, { initial: { 'helix.voice.dedicated': false } })
  const app = await build(t, { UNLEASH_URL: unleash.url, UNLEASH_API_TOKEN: unleash.clientToken, UNLEASH_REFRESH_MS: '200' })
  await waitFor(async () => (await flagRow(app, 'helix.voice.dedicated')).source === 'unleash', 'the first answer from Unleash')
  t.match(await flagRow(app, 'helix.voice.dedicated'), { enabled: false, source: 'unleash', unleash: false })

  for (const enabled of [true, false, true]) {
    const at = Date.now()
    await unleash.set('helix.voice.dedicated', enabled)
    await waitFor(() => app.helix.kernel.flags.isEnabled('helix.voice.dedicated') === enabled, `the flip to ${enabled}`)
    t.comment(`flip to ${enabled} reached the app in ${Date.now() - at} ms`)
    t.match(await flagRow(app, 'helix.voice.dedicated'), { enabled, source: 'unleash', unleash: enabled })
  }

  await unleash.stop()
  await t.rejects(fetch(`${unleash.url}/client/features`), 'nothing listens any more')
  t.match(await flagRow(app, 'helix.voice.dedicated'), { enabled: true, source: 'unleash' }, 'last known value kept')
})
