// The fake Discord against the real discord.js 14 client: login through /gateway/bot, READY and
// GUILD_CREATE, interactions and their REST answers, rate limits and errors retried or raised the way
// Discord makes discord.js do, heartbeats, resume with replay, voice state, and session accounting.
import { once } from 'node:events'
import { joinVoiceChannel } from '@discordjs/voice'
import {
  ChannelType,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Routes,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type TextChannel
} from 'discord.js'
import t from 'tap'
import { renderMessageHtml, startFakeDiscord, type FakeDiscordOptions } from '../helpers/fake-discord/index.js'

type Test = { teardown(fn: () => unknown): void }

const intents = [GatewayIntentBits.Guilds, GatewayIntentBits.GuildVoiceStates]

/** A fake Discord and a real client logged in to it, both closed (client first) at teardown. */
async function online(t: Test, options: FakeDiscordOptions = {}) {
  const fake = await startFakeDiscord(options)
  const client = new Client({ intents, rest: { api: fake.restUrl } })
  t.teardown(async () => {
    await client.destroy()
    await fake.close()
  })
  const ready = once(client, Events.ClientReady)
  await client.login(fake.token)
  await ready
  return { fake, client }
}

/** The next interaction of a kind the client emits. */
function nextInteraction<T extends Interaction>(client: Client, accept: (i: Interaction) => i is T): Promise<T> {
  return new Promise((resolve) => {
    const listener = (interaction: Interaction) => {
      if (!accept(interaction)) return
      client.off(Events.InteractionCreate, listener)
      resolve(interaction)
    }
    client.on(Events.InteractionCreate, listener)
  })
}

const agentCommand = {
  name: 'agent',
  description: 'Show an agent profile',
  options: [
    { type: 3, name: 'name', description: 'Agent name', required: true, autocomplete: true },
    { type: 4, name: 'depth', description: 'How much history', required: false }
  ]
}

t.test('the client logs in through /gateway/bot, gets READY and sees the guild from GUILD_CREATE', async (t) => {
  const { fake, client } = await online(t)
  t.equal(client.user?.id, fake.botUser.id)
  t.equal(client.application?.id, fake.applicationId)
  const guild = client.guilds.cache.get(fake.guild.id)
  t.ok(guild, 'the guild is cached')
  t.equal(guild?.name, 'Helix Test')
  t.equal(guild?.channels.cache.get(fake.guild.channels.text.id)?.type, ChannelType.GuildText)
  t.equal(guild?.channels.cache.get(fake.guild.channels.voice.id)?.type, ChannelType.GuildVoice)
  t.ok(guild?.roles.cache.has(fake.guild.roles.operator.id))
  t.same(guild?.members.cache.get(fake.guild.users.admin.id)?.roles.cache.map((r) => r.name).sort(), ['@everyone', 'Admin', 'Operator'])
  t.equal(guild?.voiceStates.cache.get(fake.guild.users.operator.id)?.channelId, fake.guild.channels.voice.id, 'the operator sits in the voice channel')

  const gatewayCall = fake.callsTo('GET /gateway/bot')
  t.equal(gatewayCall.length, 1)
  t.equal(gatewayCall[0].headers.authorization, `Bot ${fake.token}`)
  t.equal(fake.openSessions().length, 1, 'exactly one gateway session')
  t.equal(fake.openSessions()[0].intents, GatewayIntentBits.Guilds | GatewayIntentBits.GuildVoiceStates)
})

t.test('a wrong token gets 401 from REST and opens no session', async (t) => {
  const fake = await startFakeDiscord()
  const client = new Client({ intents, rest: { api: fake.restUrl } })
  t.teardown(async () => {
    await client.destroy()
    await fake.close()
  })
  await t.rejects(client.login('not-the-token'), { code: 'TokenInvalid' })
  t.equal(fake.callsTo('GET /gateway/bot')[0]?.status, 401)
  t.equal(fake.sessions.length, 0)
})

t.test('a slash command arrives with its options; the deferral and the edited embed are recorded', async (t) => {
  const { fake, client } = await online(t)
  await client.application!.commands.set([agentCommand], fake.guild.id)
  t.equal((await fake.waitForCall('PUT /applications/:app/guilds/:guild/commands')).status, 200)
  t.same(fake.commands(fake.guild.id).map((c) => c.name), ['agent'])

  const arriving = nextInteraction(client, (i): i is ChatInputCommandInteraction => i.isChatInputCommand())
  const sent = fake.sendInteraction({ command: 'agent', options: { name: 'kael', depth: 3 } })
  const interaction = await arriving
  t.equal(interaction.id, sent.id)
  t.equal(interaction.commandId, fake.commands(fake.guild.id)[0].id, 'the registered command')
  t.equal(interaction.options.getString('name'), 'kael')
  t.equal(interaction.options.getInteger('depth'), 3, 'typed as the registered option says')
  t.equal(interaction.user.id, fake.guild.users.operator.id)
  t.equal(interaction.channelId, fake.guild.channels.text.id)
  t.ok(interaction.inCachedGuild() && interaction.member.roles.cache.has(fake.guild.roles.operator.id))

  await interaction.deferReply()
  const deferral = await sent.response()
  t.equal(deferral.status, 204)
  t.same(deferral.body, { type: 5, data: { flags: 0 } })
  t.equal(deferral.headers.authorization, undefined, 'interaction callbacks carry no bot token')

  const embed = { title: 'Kael', description: 'Ethical reasoning', color: 0x5865f2, fields: [{ name: 'Status', value: 'active', inline: true }] }
  const edited = await interaction.editReply({ embeds: [embed] })
  const edit = await sent.edit((body) => body.embeds?.[0]?.title === 'Kael')
  t.equal(edit.path, `/webhooks/${fake.applicationId}/${sent.token}/messages/@original`)
  t.match(edit.body.embeds[0], embed)
  t.equal(edited.embeds[0].title, 'Kael', 'discord.js parsed the message the fake returned')
  t.equal(sent.reply()?.flags, 0, 'no longer loading after the edit')
  t.same(fake.messages(fake.guild.channels.text.id).map((m) => m.embeds[0]?.title), ['Kael'])

  const followUp = await interaction.followUp({ content: 'more', flags: MessageFlags.Ephemeral })
  t.equal((await sent.followUp()).body.content, 'more')
  t.equal(followUp.flags.bitfield, MessageFlags.Ephemeral)

  await t.rejects(
    client.rest.post(Routes.interactionCallback(sent.id, sent.token), { body: { type: 4, data: { content: 'again' } }, auth: false }),
    { code: 40060 },
    'a second callback is refused as Discord does'
  )
})

t.test('a 204 goes out with no content type; with_response=true answers the callback resource', async (t) => {
  const { fake } = await online(t)
  const callback = (id: string, token: string, query = '') =>
    fetch(`${fake.restUrl}/v10/interactions/${id}/${token}/callback${query}`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 4, data: { content: 'hi' } })
    })
  const first = fake.sendInteraction({ command: 'status' })
  const plain = await callback(first.id, first.token)
  t.equal(plain.status, 204)
  t.equal(plain.headers.get('content-type'), null, 'discord.js fails on a 204 with a content type')
  t.equal(await plain.text(), '')

  const second = fake.sendInteraction({ command: 'status' })
  const withResponse = await (await callback(second.id, second.token, '?with_response=true')).json()
  t.match(withResponse, { interaction: { id: second.id, response_message_loading: false }, resource: { type: 4, message: { content: 'hi' } } })
  t.equal((await callback(second.id, 'wrong-token')).status, 404, 'unknown interaction')
})

t.test('a member without the role arrives with only @everyone', async (t) => {
  const { fake, client } = await online(t)
  const arriving = nextInteraction(client, (i): i is ChatInputCommandInteraction => i.isChatInputCommand())
  fake.sendInteraction({ command: 'flags', user: fake.guild.users.visitor })
  const interaction = await arriving
  t.ok(interaction.inCachedGuild())
  t.same(interaction.inCachedGuild() && interaction.member.roles.cache.map((r) => r.id), [fake.guild.id])
  t.equal(interaction.memberPermissions?.has('Administrator'), false)
})

t.test('an autocomplete interaction carries the focused option and records the choices', async (t) => {
  const { fake, client } = await online(t)
  const arriving = nextInteraction(client, (i): i is AutocompleteInteraction => i.isAutocomplete())
  const sent = fake.sendAutocomplete({ command: 'agent', options: { name: 'ka' }, focused: 'name' })
  const interaction = await arriving
  t.same(interaction.options.getFocused(true), { name: 'name', type: 3, value: 'ka', focused: true })
  await interaction.respond([{ name: 'Kael', value: 'kael' }, { name: 'Kavach', value: 'kavach' }])
  const response = await sent.response()
  t.same(response.body, { type: 8, data: { choices: [{ name: 'Kael', value: 'kael' }, { name: 'Kavach', value: 'kavach' }] } })
})

t.test('an interaction answered after the deadline is unknown, as Discord says', async (t) => {
  const { fake, client } = await online(t, { ackDeadlineMs: 100 })
  const arriving = nextInteraction(client, (i): i is ChatInputCommandInteraction => i.isChatInputCommand())
  fake.sendInteraction({ command: 'status' })
  const interaction = await arriving
  // A slow bot: the callback goes out after the deadline.
  await new Promise((resolve) => setTimeout(resolve, 150))
  await t.rejects(interaction.deferReply(), { code: 10062 })
})

t.test('a channel send records POST /channels/:id/messages; limits are Discord\'s', async (t) => {
  const { fake, client } = await online(t)
  const channel = client.channels.cache.get(fake.guild.channels.alerts.id) as TextChannel
  const message = await channel.send({ content: 'Alert: UCF harmony low', embeds: [{ title: 'Harmony 0.21' }] })
  const call = await fake.waitForCall('POST /channels/:id/messages')
  t.equal(call.path, `/channels/${fake.guild.channels.alerts.id}/messages`)
  t.equal(call.body.content, 'Alert: UCF harmony low')
  t.equal(call.headers.authorization, `Bot ${fake.token}`)
  t.equal(fake.messages(channel.id)[0].id, message.id)

  const withFile = await channel.send({ content: 'transcript', files: [{ attachment: Buffer.from('helix kael status'), name: 'transcript.txt' }] })
  const upload = fake.callsTo('POST /channels/:id/messages').at(-1)!
  t.equal(upload.body.content, 'transcript', 'multipart payload_json parsed')
  t.match(upload.files, [{ name: 'transcript.txt', data: Buffer.from('helix kael status') }])
  t.equal(withFile.attachments.first()?.name, 'transcript.txt')
  await withFile.delete()

  await message.edit('Alert resolved')
  t.equal(fake.messages(channel.id)[0].content, 'Alert resolved')
  await message.delete()
  t.same(fake.messages(channel.id), [])

  const refused = await channel.send({ embeds: [{ title: 'x'.repeat(257) }] }).catch((err: unknown) => err)
  t.ok(refused instanceof DiscordAPIError && refused.code === 50035, 'an over-long title is refused with 50035')
  t.match((refused as DiscordAPIError).message, /embeds\[0\]\.title\[BASE_TYPE_MAX_LENGTH\]/)
  await t.rejects(client.rest.post(Routes.channelMessages('1'), { body: { content: 'x' } }), { code: 10003 }, 'unknown channel')
})

t.test('a recorded embed renders as Discord-like HTML', async (t) => {
  const { fake, client } = await online(t)
  const channel = client.channels.cache.get(fake.guild.channels.text.id) as TextChannel
  await channel.send({
    content: 'UCF **status**',
    embeds: [{ title: 'Collective <script>', color: 0x00ff88, fields: [{ name: 'Harmony', value: '`█████░░░░░` 0.50', inline: true }], footer: { text: 'phase: EXPANSION' } }]
  })
  const html = renderMessageHtml(fake.messages(channel.id)[0])
  t.match(html, 'UCF <strong>status</strong>')
  t.match(html, 'Collective &lt;script&gt;')
  t.notMatch(html, '<script>')
  t.match(html, 'border-left-color:#00ff88')
  t.match(html, '<div class="field inline"><div class="name">Harmony</div><div class="value"><code>█████░░░░░</code> 0.50</div></div>')
  t.match(html, 'phase: EXPANSION')
})

t.test('a scripted 429 is waited out and retried by discord.js, a 500 retried at once', async (t) => {
  const { fake, client } = await online(t)
  const channel = client.channels.cache.get(fake.guild.channels.text.id) as TextChannel
  const limited: unknown[] = []
  client.rest.on('rateLimited', (info) => limited.push(info))

  fake.failNext('POST /channels/:id/messages', 429, { retryAfter: 0.3 })
  const started = Date.now()
  await channel.send('after the rate limit')
  const elapsed = Date.now() - started
  t.same(fake.callsTo('POST /channels/:id/messages').map((c) => c.status), [429, 200])
  t.ok(elapsed >= 300, `waited out Retry-After (${elapsed} ms)`)
  t.ok(elapsed < 5000, 'within bounded time')
  t.ok(limited.length >= 1, 'discord.js reported the rate limit')

  fake.failNext('POST /channels/:id/messages', 500)
  await channel.send('after a 500')
  t.same(fake.callsTo('POST /channels/:id/messages').map((c) => c.status), [429, 200, 500, 200])

  fake.failNext('POST /channels/:id/messages', 500, { times: 4 })
  await t.rejects(channel.send('never'), { name: 'HTTPError', status: 500 }, 'discord.js gives up after its retries')
})

t.test('a global 429 on an interaction callback is retried', async (t) => {
  const { fake, client } = await online(t)
  const arriving = nextInteraction(client, (i): i is ChatInputCommandInteraction => i.isChatInputCommand())
  fake.failNext('POST /interactions/:id/:token/callback', 429, { retryAfter: 0.1, global: true })
  const sent = fake.sendInteraction({ command: 'status' })
  await (await arriving).reply('ok')
  t.same(fake.callsTo('POST /interactions/:id/:token/callback').map((c) => c.status), [429, 204])
  t.equal(sent.reply()?.content, 'ok')
})

t.test('invalid commands are refused at registration with Discord\'s form errors', async (t) => {
  const { fake, client } = await online(t)
  const put = (body: unknown) => client.rest.put(Routes.applicationGuildCommands(fake.applicationId, fake.guild.id), { body })
  await t.rejects(put([{ name: 'Agent', description: 'upper case' }]), { code: 50035, message: /0\.name\[APPLICATION_COMMAND_INVALID_NAME\]/ })
  await t.rejects(put([{ name: 'agent', description: 'd'.repeat(101) }]), { code: 50035, message: /0\.description/ })
  await t.rejects(put([{ ...agentCommand, options: [...agentCommand.options].reverse() }]), { code: 50035, message: /APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID/ })
  t.same(fake.commands(fake.guild.id), [], 'nothing registered')
})

t.test('heartbeats are acknowledged; a Reconnect resumes the same session and replays what it missed', async (t) => {
  const { fake, client } = await online(t, { heartbeatIntervalMs: 200 })
  const [session] = fake.openSessions()
  await fake.waitForSession((s) => s.heartbeats >= 2)
  t.ok(client.ws.ping >= 0, 'the client measured a heartbeat round trip')

  const resumed = once(client, Events.ShardResume)
  fake.requestReconnect()
  await fake.waitForSession((s) => s.status === 'resumable')
  // Sent while the client is away: it must arrive with the resume.
  const moved = once(client, Events.VoiceStateUpdate)
  fake.dispatch('VOICE_STATE_UPDATE', {
    guild_id: fake.guild.id, channel_id: fake.guild.channels.voice.id, user_id: fake.guild.users.visitor.id, session_id: 'v',
    deaf: false, mute: false, self_deaf: false, self_mute: false, self_video: false, suppress: false, request_to_speak_timestamp: null
  })
  await resumed
  const [, after] = await moved
  t.equal(after.channelId, fake.guild.channels.voice.id)
  t.equal(session.status, 'open')
  t.equal(session.resumes, 1)
  t.equal(fake.sessions.length, 1, 'resumed, not identified again')
})

t.test('joining voice sends a voice state update; the fake answers with the bot\'s new voice state', async (t) => {
  const { fake, client } = await online(t)
  const guild = client.guilds.cache.get(fake.guild.id)!
  const botMoved = new Promise((resolve) => client.on(Events.VoiceStateUpdate, (_, after) => after.id === client.user?.id && resolve(after)))
  const connection = joinVoiceChannel({ guildId: guild.id, channelId: fake.guild.channels.voice.id, adapterCreator: guild.voiceAdapterCreator, selfDeaf: true })
  t.teardown(() => connection.destroy())
  const session = await fake.waitForSession((s) => s.received.some((p) => p.op === 4))
  t.match(session.received.find((p) => p.op === 4)?.d, { guild_id: guild.id, channel_id: fake.guild.channels.voice.id, self_deaf: true })
  await botMoved
  t.equal(guild.members.me?.voice.channelId, fake.guild.channels.voice.id)
})

t.test('client.destroy() ends the session and the fake sees it; interactions then have nowhere to go', async (t) => {
  const { fake, client } = await online(t)
  const [session] = fake.openSessions()
  await client.destroy()
  await fake.waitForSession((s) => s.id === session.id && s.status === 'closed')
  t.equal(session.closeCode, 1000)
  t.equal(fake.openSessions().length, 0)
  t.throws(() => fake.sendInteraction({ command: 'status' }), /no gateway session is open/)
})
