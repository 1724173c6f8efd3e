// The dashboard in headless Chromium against the real stream and orchestrator: what a person sees
// on load, live updates without reloads, recovery after the server drops the sockets, ownership flips
// (confirmed, with a TTL, refused with no ready owner), the command form for every command, the
// feed's history, bad tokens.
import { createHmac } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import type { Socket } from 'node:net'
import path from 'node:path'
import t from 'tap'
import type { Page } from 'playwright-core'
import { projectRoot } from '../../core/paths.js'
import { streamPlugin } from '../../plugins/stream/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { freePort } from '../helpers/net.js'
import { sharedRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'
import { launchBrowser, serveDashboard } from './page.js'

// One Helix and one Chromium for every test below: booting them dominates the run.
t.setTimeout(420_000)

const SHOTS = path.join(projectRoot, 'test-output/dashboard')
mkdirSync(SHOTS, { recursive: true })

const browser = await launchBrowser(t)
// A dedicated stream replica joins one test; the monolith proxies to it while it owns streaming.
const dedicatedPort = await freePort()
const dedicatedUrl = `http://127.0.0.1:${dedicatedPort}`
const served = await serveDashboard(t, { HELIX_SERVICE_URLS: `stream=${dedicatedUrl}` })
const { app, url } = served
const admin = tokenFor(app, ['admin'])

type Test = { teardown(fn: () => unknown): void }

async function openPage(t: Test, token: string, viewport = { width: 1440, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport })
  t.teardown(() => page.close())
  await page.goto(`${url}/?token=${encodeURIComponent(token)}`)
  return page
}

async function ucf() {
  return (await app.inject({ url: '/api/ucf', headers: { authorization: `Bearer ${admin}` } })).json()
}

async function gaugeValues(page: Page): Promise<Record<string, number>> {
  return page.$$eval('[data-metric][data-value]', (nodes) =>
    Object.fromEntries(nodes.map((n) => [(n as HTMLElement).dataset.metric, Number((n as HTMLElement).dataset.value)])))
}

t.test('with a token the page shows the 14 agents and six gauges equal to GET /api/ucf', async (t) => {
  const page = await openPage(t, admin)
  await page.waitForFunction(() => document.querySelectorAll('#roster [data-agent]').length === 14)
  await page.waitForSelector('#connection[data-state="open"]')
  const state = await ucf()
  t.same(await gaugeValues(page), state.metrics)
  t.equal(await page.textContent('#phase'), state.phase)
  t.equal(Number(await page.getAttribute('#consciousness-level', 'data-value')), state.consciousnessLevel)
  const slugs = await page.$$eval('#roster [data-agent]', (cards) => cards.map((c) => (c as HTMLElement).dataset.agent).sort())
  t.same(slugs, ['agni', 'claude', 'discordbridge', 'echo', 'gemini', 'kael', 'kavach', 'lumina', 'manus', 'oracle', 'phoenix', 'sanghacore', 'shadow', 'vega'])
  t.notMatch(page.url(), /token=/, 'the token is removed from the address bar')
  const icons = await page.$$eval('#roster [data-agent]', (cards) => cards.map((c) => ({
    svg: c.querySelector('svg.agent-icon')?.getAttribute('data-icon'),
    glyph: c.querySelector('svg.agent-icon text')?.textContent,
    pictographs: /\p{Extended_Pictographic}/u.test(c.textContent ?? '')
  })))
  t.same(icons.map((i) => i.svg).sort(), slugs, 'every agent has an SVG icon')
  t.ok(icons.every((i) => i.glyph && /^[A-Z]$/.test(i.glyph) && !i.pictographs), 'a letter glyph, no emoji that needs a colour font')
  t.equal(await page.$$eval('[role="meter"]', (m) => m.length), 6)
})

t.test('a ritual run through the API moves the gauges and adds feed entries without a reload', async (t) => {
  const page = await openPage(t, admin)
  await page.waitForSelector('#connection[data-state="open"]')
  const before = await ucf()
  await page.evaluate(() => ((window as any).__loaded = true))
  const res = await app.inject({ method: 'POST', url: '/api/ucf/rituals', headers: { authorization: `Bearer ${admin}` }, payload: { name: 'hymn' } })
  t.equal(res.statusCode, 202, res.body)
  await page.waitForSelector(`#feed [data-type="ritual.completed"]`)
  const after = await ucf()
  t.not(after.metrics.harmony, before.metrics.harmony, 'the ritual changed harmony')
  await page.waitForFunction((h) => Number(document.querySelector<HTMLElement>('[data-metric="harmony"]')!.dataset.value) === h, after.metrics.harmony)
  t.same(await gaugeValues(page), after.metrics)
  t.equal(await page.textContent('#phase'), after.phase)
  t.ok(await page.evaluate(() => (window as any).__loaded), 'same document: no reload')
  t.match(await page.textContent(`#feed [data-type="ritual.completed"]`), /hymn/)
})

t.test('a command sent from the page turns its agent badge busy, then idle', async (t) => {
  const page = await openPage(t, admin)
  await page.waitForSelector('#connection[data-state="open"]')
  await page.waitForSelector('#roster [data-agent="kael"][data-status="idle"]')
  await page.evaluate(() => {
    const card = document.querySelector('#roster [data-agent="kael"]')!
    const seen: string[] = (window as any).__kael = []
    new MutationObserver(() => {
      const status = (card as HTMLElement).dataset.status!
      if (seen.at(-1) !== status) seen.push(status)
    }).observe(card, { attributes: true, attributeFilter: ['data-status'] })
  })
  await page.click('#roster [data-agent="kael"]')
  t.equal(await page.inputValue('#command-agent'), 'kael', 'choosing a card picks the agent')
  await page.selectOption('#command-name', 'STATUS')
  await page.click('#command-form button[type="submit"]')
  await page.waitForSelector('#command-status[data-tone="ok"]')
  await page.waitForFunction(() => ((window as any).__kael as string[]).includes('idle'))
  t.same(await page.evaluate(() => (window as any).__kael), ['busy', 'idle'])
  await page.waitForSelector('#feed [data-type="command.updated"]')
  t.match(await page.textContent('#feed [data-type="command.updated"]'), /STATUS → Kael/)
  t.match(await page.textContent('#feed [data-type="command.updated"]'), /succeeded/)
})

t.test('after the server drops every socket mid-stream the page shows each event exactly once', async (t) => {
  const sockets = new Set<Socket>()
  const track = (_req: unknown, socket: Socket) => sockets.add(socket)
  app.server.on('upgrade', track)
  t.teardown(() => app.server.off('upgrade', track))

  const page = await openPage(t, admin)
  await page.waitForSelector('#connection[data-state="open"]')
  await page.evaluate(() => {
    const states: string[] = (window as any).__states = []
    const node = document.getElementById('connection')!
    new MutationObserver(() => states.push(node.dataset.state!)).observe(node, { attributes: true, attributeFilter: ['data-state'] })
  })
  const bus = app.helix.kernel.bus
  const ids: string[] = []
  for (let i = 0; i < 60; i++) {
    ids.push((await bus.publish('zapier', 'zapier.received', { n: i, type: 'ucf_update' })).id)
    if (i === 20 || i === 40) {
      // What a crash looks like from the browser: TCP connections gone, no close frame.
      for (const s of sockets) s.destroy()
      sockets.clear()
    }
    await new Promise((r) => setTimeout(r, 10))
  }
  await page.waitForFunction((n) => document.querySelectorAll('#feed [data-type="zapier.received"]').length >= n, ids.length, { timeout: 20_000 })
  await page.waitForSelector('#connection[data-state="open"]')
  const shown = await page.$$eval('#feed [data-type="zapier.received"]', (rows) => rows.map((r) => (r as HTMLElement).dataset.eventId!))
  t.same(shown.slice().sort(), ids.map((id) => `zapier:${id}`).sort(), 'every event, none twice')
  t.same(shown, ids.map((id) => `zapier:${id}`).reverse(), 'newest first, in order')
  const states: string[] = await page.evaluate(() => (window as any).__states)
  t.ok(states.includes('reconnecting'), `went offline and back: ${states.join(',')}`)
})

t.test('with no helix-stream replica ready the stream toggle is disabled and says why', async (t) => {
  const page = await openPage(t, admin)
  const toggle = '[data-flag="helix.stream.dedicated"]'
  await page.waitForSelector(`${toggle}:disabled`)
  t.match(await page.textContent('[data-flag-reason="helix.stream.dedicated"]'), /No helix-stream replica is ready: turning this on would hand streaming to nobody/)
  t.equal(await page.getAttribute(toggle, 'aria-describedby'), 'flag-helix-stream-dedicated-state flag-helix-stream-dedicated-reason', 'the reason is read out with the switch')
  t.match(await page.textContent('[data-flag-state="helix.stream.dedicated"]'), /^off · bootstrap/)
  await page.waitForSelector('[data-flag-owner="helix.stream.dedicated"]:has-text("owned by the monolith · ready: 1 monolith process, 0 helix-stream replicas")', { timeout: 20_000 })
  t.notOk(await page.isDisabled('[data-flag="helix.voice.google"]'), 'kill switches are not ownership flips')
  await page.waitForSelector('#owners-list [data-owner][data-ready="true"]')
  t.match(await page.textContent('#owners-list'), /this process/, 'the live owners are listed')
  await page.click(toggle, { force: true })
  t.notOk(await page.isVisible('#flag-confirm'), 'a disabled switch asks nothing')
  t.notOk(app.helix.kernel.flags.isEnabled('helix.stream.dedicated'), 'and flips nothing')
})

t.test('flipping stream ownership asks first, names the consequence, sends a one-hour TTL, and loses no event', async (t) => {
  const replica = await build(t, {
    HELIX_ROLE: 'stream',
    PORT: String(dedicatedPort),
    HELIX_PUBLIC_URL: dedicatedUrl,
    REDIS_URL: sharedRedisUrl,
    HELIX_REDIS_PREFIX: served.redisPrefix
  }, { plugins: [streamPlugin] })
  await replica.listen({ port: dedicatedPort, host: '127.0.0.1' })
  t.teardown(async () => {
    await app.inject({ method: 'DELETE', url: '/admin/flags/helix.stream.dedicated', headers: { authorization: `Bearer ${admin}` } })
  })

  const page = await openPage(t, admin)
  const puts: unknown[] = []
  page.on('request', (req) => {
    if (req.method() === 'PUT' && req.url().includes('/admin/flags/')) puts.push(req.postDataJSON())
  })
  await page.waitForSelector('#connection[data-state="open"]')
  const toggle = '[data-flag="helix.stream.dedicated"]'
  // The card polls every 5 s: the replica's announcement shows up without a reload.
  await page.waitForSelector(`${toggle}:not(:disabled)`, { timeout: 20_000 })
  t.equal(await page.inputValue('#flag-ttl'), '3600', 'one hour unless chosen otherwise')

  await page.click(toggle)
  await page.waitForSelector('#flag-confirm[open]')
  t.equal(await page.textContent('#flag-confirm-text'), 'Streaming moves to helix-stream: 1 ready replica.')
  t.match(await page.textContent('#flag-confirm-ttl'), /lasts 1 hour/)
  await page.click('#flag-confirm button[value="cancel"]')
  // Closed: no open dialog left (a closed one is hidden, so waiting for it to be visible would never end).
  await page.waitForSelector('#flag-confirm[open]', { state: 'detached' })
  t.notOk(await page.isChecked(toggle), 'cancelled: the switch did not move')
  t.same(puts, [], 'cancelled: nothing was sent')
  t.notOk(app.helix.kernel.flags.isEnabled('helix.stream.dedicated'), 'cancelled: the flag is as it was')

  const bus = app.helix.kernel.bus
  const ids = [(await bus.publish('alerts', 'alert.raised', { severity: 'high', message: 'before the flip' })).id]
  await page.click(toggle)
  await page.waitForSelector('#flag-confirm[open]')
  await page.click('#flag-confirm button[value="confirm"]')
  await page.waitForSelector('#flags-status[data-tone="ok"]')
  t.same(puts, [{ enabled: true, ttlSeconds: 3600 }], 'confirmed: the flip was sent with the default TTL')
  await waitFor(() => app.helix.kernel.flags.isEnabled('helix.stream.dedicated'), 'the flag to be on')
  t.ok(await page.isChecked(toggle))
  t.match(await page.textContent('[data-flag-state="helix.stream.dedicated"]'), /^on · override · expires in 59 min$/)
  t.ok(await page.isVisible('[data-remove-override="helix.stream.dedicated"]'), 'the override can be removed from the card')
  await page.waitForSelector('[data-flag-owner="helix.stream.dedicated"]:has-text("owned by helix-stream")', { timeout: 20_000 })

  // The page's socket is handed to the replica (1012, reconnect); events keep arriving once each.
  for (let i = 0; i < 5; i++) ids.push((await bus.publish('alerts', 'alert.raised', { severity: 'high', message: `during the flip ${i}` })).id)
  await page.waitForSelector('#connection[data-state="open"]', { timeout: 30_000 })

  await page.selectOption('#flag-ttl', '')
  await page.click(toggle)
  await page.waitForSelector('#flag-confirm[open]')
  t.equal(await page.textContent('#flag-confirm-text'), 'Streaming moves back to the monolith.')
  t.match(await page.textContent('#flag-confirm-ttl'), /until it is removed/)
  await page.click('#flag-confirm button[value="confirm"]')
  await page.waitForFunction((sel) => !document.querySelector<HTMLInputElement>(sel)!.checked, toggle)
  t.same(puts.at(-1), { enabled: false }, '"until removed" sends no TTL')
  t.match(await page.textContent('[data-flag-state="helix.stream.dedicated"]'), /^off · override · until removed$/)

  await page.waitForSelector('#connection[data-state="open"]', { timeout: 30_000 })
  ids.push((await bus.publish('alerts', 'alert.raised', { severity: 'high', message: 'after the flip' })).id)
  await page.waitForFunction((n) => document.querySelectorAll('#feed [data-type="alert.raised"]').length >= n, ids.length, { timeout: 30_000 })
  const shown = await page.$$eval('#feed [data-type="alert.raised"]', (rows) => rows.map((r) => (r as HTMLElement).dataset.eventId!))
  t.same(shown, ids.map((id) => `alerts:${id}`).reverse(), 'every event once, newest first')

  await page.click('[data-remove-override="helix.stream.dedicated"]')
  await page.waitForSelector('[data-flag-row="helix.stream.dedicated"][data-source="bootstrap"]')
  t.ok(await page.isHidden('[data-remove-override="helix.stream.dedicated"]'))
})

/** A value the field's schema accepts, for the commands whose args the test has no better idea about. */
const SAMPLE_ARGS: Record<string, Record<string, string>> = {
  MEMORY_APPEND: { content: 'The collective remembers the test.', kind: 'note' },
  REFLECT: { limit: '5' },
  GENERATE: { prompt: 'a line about tests' },
  HARMONY_PULSE: { amount: '0.01' },
  INSIGHT: { topic: 'browsers' },
  EXECUTE_TASK: { plan: '[{"command":"STATUS"},{"command":"MEMORY_APPEND","args":{"content":"planned"}}]' }
}

t.test('the command form sends every command in the catalog, with the args its schema asks for', async (t) => {
  const headers = { authorization: `Bearer ${admin}` }
  const catalog: { items: { command: string; agents: string[] | null; args: { required?: string[]; properties?: Record<string, { type?: string }> } }[] } =
    (await app.inject({ url: '/api/commands/catalog', headers })).json()
  t.ok(catalog.items.length >= 9, `${catalog.items.length} commands`)
  const page = await openPage(t, admin)
  await page.waitForSelector('#connection[data-state="open"]')
  await page.waitForSelector('#command-form[data-catalog="loaded"]')
  await page.waitForFunction(() => document.querySelectorAll('#command-agent option').length === 14)
  for (const entry of catalog.items) {
    const agent = entry.agents?.[0] ?? 'lumina'
    await page.selectOption('#command-agent', agent)
    await page.selectOption('#command-name', entry.command)
    await page.waitForSelector(`#command-form[data-command="${entry.command}"]`)
    const fields = await page.$$eval('#command-args [data-arg]', (inputs) => inputs.map((i) => (i as HTMLElement).dataset.arg!))
    t.same(fields.sort(), Object.keys(entry.args.properties ?? {}).sort(), `${entry.command}: one field per arg`)
    for (const name of entry.args.required ?? []) {
      t.ok(SAMPLE_ARGS[entry.command]?.[name], `${entry.command}: the test knows a value for required ${name}`)
    }
    for (const [name, value] of Object.entries(SAMPLE_ARGS[entry.command] ?? {})) await page.fill(`#command-args [data-arg="${name}"]`, value)
    if (entry.command === 'ARCHIVE') await page.fill('#command-args [data-arg="before"]', '2020-01-02T03:04:05')
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`/api/agents/${agent}/commands`)),
      page.click('#command-form button[type="submit"]')
    ])
    t.equal(response.status(), 202, `${entry.command}: 202 ${await response.text()}`)
    const sent = await response.json()
    t.equal(sent.command, entry.command)
    if (entry.command === 'ARCHIVE') t.equal(sent.args.before, new Date('2020-01-02T03:04:05').toISOString(), 'a date-time field sends ISO')
    if (entry.command === 'REFLECT') t.same(sent.args, { limit: 5 }, 'a number field sends a number')
    if (entry.command === 'EXECUTE_TASK') t.equal(sent.args.plan.length, 2, 'a JSON field sends its value')
    await page.waitForSelector(`#command-status[data-command-id="${sent.id}"][data-tone="ok"]`)
    await page.waitForSelector(`#feed [data-key="command:${sent.id}"]`)
    t.match(await page.textContent(`#feed [data-key="command:${sent.id}"]`), new RegExp(`^${entry.command} → `), `${entry.command}: the command appears in the feed`)
  }
})

t.test('the command form checks required args before sending and shows the server\'s 400 message', async (t) => {
  const page = await openPage(t, admin)
  await page.waitForSelector('#command-form[data-catalog="loaded"]')
  await page.waitForFunction(() => document.querySelectorAll('#command-agent option').length === 14)
  const posts: string[] = []
  page.on('request', (req) => {
    if (req.method() === 'POST' && req.url().includes('/commands')) posts.push(req.url())
  })
  await page.selectOption('#command-agent', 'lumina')
  await page.selectOption('#command-name', 'MEMORY_APPEND')
  await page.click('#command-form button[type="submit"]')
  await page.waitForSelector('#command-status[data-tone="bad"]')
  t.equal(await page.textContent('#command-status'), 'content is required')
  t.equal(await page.getAttribute('#command-args [data-arg="content"]', 'aria-invalid'), 'true')
  await page.fill('#command-args [data-arg="content"]', 'x')
  await page.fill('#command-args [data-arg="kind"]', 'Not A Kind')
  await page.click('#command-form button[type="submit"]')
  t.match(await page.textContent('#command-status'), /kind must match/)
  t.same(posts, [], 'nothing was sent')

  await page.selectOption('#command-agent', 'manus')
  await page.selectOption('#command-name', 'EXECUTE_TASK')
  await page.fill('#command-args [data-arg="plan"]', '{"not":"a list"}')
  await page.click('#command-form button[type="submit"]')
  t.equal(await page.textContent('#command-status'), 'plan must be a JSON array')
  // Deeper than the form checks: the server's own message is shown.
  await page.fill('#command-args [data-arg="plan"]', '[{"command":"lowercase"}]')
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/agents/manus/commands')),
    page.click('#command-form button[type="submit"]')
  ])
  t.equal(response.status(), 400)
  const { message } = await response.json()
  await page.waitForFunction((m) => document.getElementById('command-status')!.textContent === m, message)
  t.match(message, /plan/)
})

t.test('the feed starts with the events published before the page opened, in time order, each once', async (t) => {
  const bus = app.helix.kernel.bus
  const before: string[] = []
  for (let i = 0; i < 6; i++) {
    const channel = i % 2 ? 'zapier' : 'voice'
    const event = await bus.publish(channel, `${channel}.history_test`, { message: `earlier ${i}` })
    before.push(`${channel}:${event.id}`)
    // Across channels, time order is only as fine as a millisecond (Redis ids): let the clock move on
    // (Redis runs on this machine) so that the order is the publish order, not a tie.
    await waitFor(() => Date.now() > event.ts, 'the next millisecond', 10_000, 1)
  }
  const page = await openPage(t, admin)
  await page.waitForSelector('#connection[data-state="open"]')
  const rows = () => page.$$eval('#feed [data-type$=".history_test"]', (r) => r.map((row) => (row as HTMLElement).dataset.eventId!))
  await page.waitForFunction(() => document.querySelectorAll('#feed [data-type$=".history_test"]').length >= 6)
  t.same(await rows(), [...before].reverse(), 'newest first, as the live feed shows them')
  const live = `zapier:${(await bus.publish('zapier', 'zapier.history_test', { message: 'live' })).id}`
  await page.waitForFunction(() => document.querySelectorAll('#feed [data-type$=".history_test"]').length >= 7)
  t.same(await rows(), [live, ...[...before].reverse()], 'the live event on top, the history not repeated')
})

t.test('a bad token gets a clear message and the sign-in form, not a blank page', async (t) => {
  const forged = (() => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
    const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: 'mallory', scope: 'admin', exp: Math.floor(Date.now() / 1000) + 3600 })}`
    return `${body}.${createHmac('sha256', 'not-the-server-secret-0123456789abcdef').update(body).digest('base64url')}`
  })()
  const page = await openPage(t, forged)
  await page.waitForSelector('#login-error:not([hidden])')
  t.match(await page.textContent('#login-error'), /rejected this token/)
  t.ok(await page.isVisible('#login-token'), 'the sign-in form is offered')
  t.notOk(await page.isVisible('#main'), 'no half-empty dashboard')

  const garbage = await openPage(t, 'not-a-token')
  await garbage.waitForSelector('#login-error:not([hidden])')
  t.match(await garbage.textContent('#login-error'), /not a Helix access token/)

  const expired = await openPage(t, tokenFor(app, ['admin'], -10))
  await expired.waitForSelector('#login-error:not([hidden])')
  t.match(await expired.textContent('#login-error'), /expired/)

  await garbage.fill('#login-token', admin)
  await garbage.click('#login-form button[type="submit"]')
  await garbage.waitForFunction(() => document.querySelectorAll('#roster [data-agent]').length === 14)
  t.notOk(await garbage.isVisible('#login'), 'a good token pasted into the form opens the dashboard')
})

t.test('screenshots at desktop and phone width', async (t) => {
  const views = { desktop: { width: 1440, height: 900 }, phone: { width: 390, height: 844 } }
  const pages = await Promise.all(Object.values(views).map(async (viewport) => {
    const page = await openPage(t, admin, viewport)
    await page.waitForSelector('#connection[data-state="open"]')
    return page
  }))
  const headers = { authorization: `Bearer ${admin}` }
  const rituals = [
    await app.inject({ method: 'POST', url: '/api/ucf/rituals', headers, payload: { name: 'neti_neti' } }),
    await app.inject({ method: 'POST', url: '/api/ucf/rituals', headers, payload: { name: 'z88', steps: 108 } })
  ].map((res) => `ritual:${res.json().id}`)
  for (const agent of ['lumina', 'vega', 'claude']) {
    await app.inject({ method: 'POST', url: `/api/agents/${agent}/commands`, headers, payload: { command: 'REFLECT', args: {} } })
  }
  await app.helix.kernel.bus.publish('zapier', 'zapier.received', { type: 'discord_notification', source: 'zapier' })
  for (const [i, [name, viewport]] of Object.entries(views).entries()) {
    const page = pages[i]
    await page.waitForFunction((keys) => keys.every((k) => document.querySelector(`#feed [data-key="${k}"][data-type="ritual.completed"]`)), rituals, { timeout: 60_000 })
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    t.ok(width <= viewport.width, `${name}: no sideways scrolling (${width}px)`)
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })
  }
})
