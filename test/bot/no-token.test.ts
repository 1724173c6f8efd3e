// Without DISCORD_TOKEN the bot plugin logs one line and runs nothing: no worker, no session.
import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { buildApp } from '../../core/app.js'
import { createBotPlugin } from '../../plugins/bot/index.js'
import { testConfig } from '../helpers/build.js'

t.test('without DISCORD_TOKEN: one log line, no worker, no session', async (t) => {
  const lines: { msg: string; plugin?: string }[] = []
  const logger = pino({ level: 'info' }, new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done() } }))
  const plugins = [createBotPlugin()]
  const app = await buildApp(testConfig(t, {}, plugins), { plugins, logger })
  t.teardown(() => app.close())
  await app.ready()
  t.same(lines.filter((l) => l.plugin === 'bot').map((l) => l.msg), ['DISCORD_TOKEN is not set: the Discord bot stays off'])
  t.equal(app.helix.workers.isRunning('bot'), false)
  t.same(app.helix.plugins.find((p) => p.descriptor.name === 'bot')?.instance.workers, undefined)
})
