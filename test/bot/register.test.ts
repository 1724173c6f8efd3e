// `helix bot:register` as a user runs it, against the fake Discord: guild commands with
// DISCORD_GUILD_ID, global without (or with --global), and one-line errors for what is missing.
import t from 'tap'
import { SLASH_COMMANDS } from '../../plugins/bot/commands.js'
import { helix } from '../cli/cli.js'
import { startFakeDiscord } from '../helpers/fake-discord/index.js'

t.test('registers the commands in DISCORD_GUILD_ID, or globally', async (t) => {
  const fake = await startFakeDiscord()
  t.teardown(() => fake.close())
  const env = { DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.restUrl }
  const names = SLASH_COMMANDS.map((c) => c.name)

  const guild = await helix(['bot:register'], { env: { ...env, DISCORD_GUILD_ID: fake.guild.id } })
  t.equal(guild.code, 0, guild.stderr)
  t.equal(guild.stdout, `registered ${names.length} commands in guild ${fake.guild.id} for application ${fake.applicationId}: ${names.map((n) => `/${n}`).join(' ')}\n`)
  t.same(fake.commands(fake.guild.id).map((c) => c.name), names, 'accepted by Discord\'s validation')
  t.match(fake.commands(fake.guild.id).find((c) => c.name === 'voice')?.options, [{ name: 'join', type: 1 }, { name: 'leave', type: 1 }])
  t.same(fake.commands(), [], 'nothing global')

  const global = await helix(['bot:register', '--global'], { env: { ...env, DISCORD_GUILD_ID: fake.guild.id, DISCORD_APPLICATION_ID: fake.applicationId } })
  t.equal(global.code, 0, global.stderr)
  t.match(global.stdout, /commands globally \(visible within an hour\)/)
  t.same(fake.commands().map((c) => c.name), names)
  t.equal(fake.callsTo('GET /applications/@me').length, 1, 'the application id was only looked up when not given')
})

t.test('a missing token, a bad guild id, or a refused token: one line and a failing exit code', async (t) => {
  const fake = await startFakeDiscord()
  t.teardown(() => fake.close())
  const missing = await helix(['bot:register'], { env: { DISCORD_API_URL: fake.restUrl } })
  t.equal(missing.code, 1)
  t.match(missing.stderr, /^helix bot:register: DISCORD_TOKEN is not set/)
  const badGuild = await helix(['bot:register', '--guild', 'general'], { env: { DISCORD_TOKEN: fake.token, DISCORD_API_URL: fake.restUrl } })
  t.equal(badGuild.code, 2)
  t.match(badGuild.stderr, /--guild must be a Discord id/)
  const refused = await helix(['bot:register'], { env: { DISCORD_TOKEN: 'x'.repeat(40), DISCORD_API_URL: fake.restUrl } })
  t.equal(refused.code, 1)
  t.match(refused.stderr, /^helix bot:register: .*401/)
})
