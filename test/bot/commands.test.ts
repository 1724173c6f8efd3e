// Each slash command end to end: the fake Discord sends the interaction to the real discord.js client
// of the bot plugin, which acts through the real orchestrator (PostgreSQL, Redis, the bus); the tests
// check the deferral, the edits and the embeds against Helix's live state, and who the calls were for.
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { bearer } from '../helpers/build.js'
import { waitFor } from '../helpers/wait.js'
import { registerInFake, startBotApp } from './bot-app.js'

const EPHEMERAL = 64

async function online(t: Parameters<typeof startBotApp>[0]) {
  const bot = await startBotApp(t)
  await registerInFake(bot.fake)
  await waitFor(() => bot.app.helix.workers.isRunning('bot'), 'the gateway worker to run')
  return bot
}

/** The subjects the bot's service calls were made for. */
function recordActors(app: FastifyInstance): string[] {
  const actors: string[] = []
  const transport = app.helix.kernel.clients.transport
  const call = transport.call.bind(transport)
  transport.call = (plugin, request) => {
    actors.push(request.onBehalfOf)
    return call(plugin, request)
  }
  return actors
}

const get = (app: FastifyInstance, url: string) => app.inject({ url, headers: bearer(app, ['agents:read']) }).then((r) => r.json())

t.test('/status: a deferral, then the UCF embed with the six metrics as bars, phase, level and agents active', async (t) => {
  const { fake, app } = await online(t)
  const actors = recordActors(app)
  const sent = fake.sendInteraction({ command: 'status' })
  t.same((await sent.response()).body, { type: 5, data: { flags: 0 } }, 'deferred at once')
  const edit = await sent.edit()
  const embed = edit.body.embeds[0]
  const ucf = await get(app, '/api/ucf')
  const summary = await get(app, '/api/agents/status')
  t.equal(embed.title, 'Helix collective status')
  t.same(embed.fields.slice(0, 6).map((f: { name: string }) => f.name), ['Harmony', 'Resilience', 'Prana', 'Drishti', 'Klesha', 'Zoom'])
  t.match(embed.fields[0].value, new RegExp(`^\`[█░]{10}\` ${ucf.metrics.harmony.toFixed(2)}$`))
  t.same(embed.fields[6], { name: 'Phase', value: ucf.phase, inline: true })
  t.equal(embed.fields[7].value, ucf.consciousnessLevel.toFixed(2))
  t.equal(embed.fields[8].value, `${(summary.byStatus.active ?? 0) + (summary.byStatus.busy ?? 0)} / ${summary.total}`)
  t.ok(actors.length >= 2 && actors.every((a) => a === `discord:${fake.guild.users.operator.id}`), 'every call on behalf of the member')
})

t.test('/agents lists the roster with statuses; /agent shows a profile', async (t) => {
  const { fake, app } = await online(t)
  const agents = (await get(app, '/api/agents?limit=100')).items as { name: string; status: string; slug: string }[]
  const roster = fake.sendInteraction({ command: 'agents' })
  const embed = (await roster.edit()).body.embeds[0]
  t.equal(embed.title, `Agents (${agents.length})`)
  for (const agent of agents) t.match(embed.description, `**${agent.name}** · ${agent.status}`)

  const profile = fake.sendInteraction({ command: 'agent', options: { name: 'kael' } })
  const kael = (await profile.edit()).body.embeds[0]
  t.match(kael.title, /Kael/)
  t.match(kael.fields.find((f: { name: string }) => f.name === 'Commands').value, 'STATUS')
})

t.test('/agent with an unknown name: the deferred reply is replaced by an ephemeral "not found"', async (t) => {
  const { fake } = await online(t)
  const sent = fake.sendInteraction({ command: 'agent', options: { name: 'nobody' } })
  const followUp = await sent.followUp()
  t.match(followUp.body.content, /^Not found: Agent "nobody" not found/)
  t.equal(followUp.body.flags, EPHEMERAL)
  await fake.waitForCall((c) => c.method === 'DELETE' && c.path.includes(sent.token) && c.path.endsWith('/@original'))
})

t.test('/command replies at once, then edits the reply when command.updated says it ended', async (t) => {
  const { fake, app } = await online(t)
  const actors = recordActors(app)
  const sent = fake.sendInteraction({ command: 'command', options: { agent: 'kael', command: 'status' } })
  t.equal((await sent.response()).body.type, 5)
  // A failure would come as an ephemeral follow-up: fail with its text rather than a timeout.
  const first = await Promise.race([sent.edit(), sent.followUp().then((f) => Promise.reject(new Error(f.body.content)))])
  t.match(first.body.embeds[0].title, /STATUS → kael: (queued|running|succeeded)/)
  const final = await sent.edit((b) => /succeeded/.test(b.embeds?.[0]?.title), 15_000)
  const id = final.body.embeds[0].footer.text.replace('command ', '')
  const stored = await get(app, `/api/commands/${id}`)
  t.equal(stored.status, 'succeeded')
  t.equal(stored.command, 'STATUS')
  t.equal(stored.requestedBy, `discord:${fake.guild.users.operator.id}`, 'the command records which Discord user asked')
  t.match(final.body.embeds[0].fields[0].value, '```json')
  t.ok(actors.includes(`discord:${fake.guild.users.operator.id}`))
})

t.test('/command bad input: unknown command, unknown agent, args that are not JSON: friendly ephemeral replies', async (t) => {
  const { fake } = await online(t)
  const cases: [Record<string, string>, RegExp][] = [
    [{ agent: 'kael', command: 'DANCE' }, /^That did not work: .*/],
    [{ agent: 'nobody', command: 'STATUS' }, /^Not found: Agent "nobody"/],
    [{ agent: 'kael', command: 'STATUS', args: '{oops' }, /args` must be a JSON object/]
  ]
  for (const [options, expected] of cases) {
    const sent = fake.sendInteraction({ command: 'command', options })
    const followUp = await sent.followUp()
    t.match(followUp.body.content, expected, JSON.stringify(options))
    t.equal(followUp.body.flags, EPHEMERAL)
  }
})

t.test('/ritual: progress edits, then the deltas', async (t) => {
  const { fake, app } = await online(t)
  const sent = fake.sendInteraction({ command: 'ritual', options: { name: 'z88', steps: 24 } })
  const first = await sent.edit()
  t.match(first.body.embeds[0], { title: '🔮 Ritual z88', description: /step 0 \/ 24/ })
  await sent.edit((b) => /step (1?[1-9]|2[0-3]) \/ 24/.test(b.embeds?.[0]?.description))
  const done = await sent.edit((b) => /completed/.test(b.embeds?.[0]?.title), 20_000)
  const id = done.body.embeds[0].footer.text.split('ritual ')[1]
  const ritual = await get(app, `/api/rituals/${id}`)
  t.equal(ritual.status, 'completed')
  const deltas = done.body.embeds[0].fields[0].value as string
  for (const [metric, value] of Object.entries(ritual.deltas as Record<string, number>)) t.match(deltas, `${metric.charAt(0).toUpperCase()}${metric.slice(1)} ${value >= 0 ? '+' : ''}${value.toFixed(3)}`)
})

t.test('permissions: a member without the operator role is refused /command and /ritual; only admins see /flags', async (t) => {
  const { fake } = await online(t)
  for (const command of ['command', 'ritual']) {
    const options: Record<string, string> = command === 'command' ? { agent: 'kael', command: 'STATUS' } : { name: 'hymn' }
    const sent = fake.sendInteraction({ command, options, user: fake.guild.users.visitor })
    const response = await sent.response()
    t.equal(response.body.type, 4, 'answered, not deferred')
    t.equal(response.body.data.flags, EPHEMERAL)
    t.equal(response.body.data.content, `/${command} needs the <@&${fake.guild.roles.operator.id}> role.`)
  }
  const denied = fake.sendInteraction({ command: 'flags' })
  t.match((await denied.response()).body.data.content, /needs the <@&\d+> role/, 'the operator is no admin')

  const allowed = fake.sendInteraction({ command: 'flags', user: fake.guild.users.admin })
  t.same((await allowed.response()).body, { type: 5, data: { flags: EPHEMERAL } })
  const embed = (await allowed.edit()).body.embeds[0]
  t.equal(embed.title, 'Flags')
  t.match(embed.description, /`helix.bot.dedicated` off · \w+/)
  t.match(embed.description, '`helix.orchestrator.dedicated`')
  t.match(embed.fields, [{ name: 'Owners', value: /orchestrator: monolith\n.*bot: monolith/s }])
})

t.test('autocomplete: agents, the chosen agent\'s commands from the catalog, rituals', async (t) => {
  const { fake } = await online(t)
  const agents = fake.sendAutocomplete({ command: 'agent', options: { name: 'ka' }, focused: 'name' })
  const agentChoices = (await agents.response()).body.data.choices as { name: string; value: string }[]
  t.ok(agentChoices.some((c) => c.value === 'kael'), 'kael offered for "ka"')
  t.ok(agentChoices.every((c) => /ka/i.test(c.name + c.value)))

  const commands = fake.sendAutocomplete({ command: 'command', options: { agent: 'kael', command: 'st' }, focused: 'command' })
  const commandChoices = (await commands.response()).body.data.choices as { value: string }[]
  t.same(commandChoices.map((c) => c.value), ['STATUS'])

  const speak = fake.sendAutocomplete({ command: 'speak', options: { text: 'hi', agent: 'lum' }, focused: 'agent' })
  t.ok(((await speak.response()).body.data.choices as { value: string }[]).length > 0, 'agents for /speak too')
})

t.test('Discord answering 429 and 500 on the callback and the edit: retried by discord.js, the reply still arrives', async (t) => {
  const { fake } = await online(t)
  fake.failNext('POST /interactions/:id/:token/callback', 429, { retryAfter: 0.2 })
  fake.failNext('PATCH /webhooks/:app/:token/messages/@original', 500)
  const sent = fake.sendInteraction({ command: 'status' })
  const edit = await sent.edit(undefined, 15_000)
  t.equal(edit.body.embeds[0].title, 'Helix collective status')
  t.same(fake.callsTo('POST /interactions/:id/:token/callback').map((c) => c.status), [429, 204])
  t.same(fake.callsTo('PATCH /webhooks/:app/:token/messages/@original').map((c) => c.status), [500, 200])
})

t.test('the orchestrator down: a friendly reply, the bot stays up', async (t) => {
  const { fake } = await startBotApp(t, { orchestrator: false })
  await waitFor(() => fake.openSessions().length === 1, 'a session')
  await registerInFake(fake)
  const sent = fake.sendInteraction({ command: 'status' })
  const followUp = await sent.followUp(undefined, 15_000)
  t.equal(followUp.body.content, 'The orchestrator service is unavailable right now; try again in a moment.')
  t.equal(followUp.body.flags, EPHEMERAL)
  const again = fake.sendInteraction({ command: 'agents' })
  t.match((await again.followUp()).body.content, /unavailable/, 'still answering')
})
