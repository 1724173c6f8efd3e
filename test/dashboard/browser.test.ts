// The dashboard in headless Chromium against the real stream and orchestrator: what a person sees
// on load, live updates without reloads, recovery after the server drops the sockets, bad tokens.
import { createHmac } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import type { Socket } from 'node:net'
import path from 'node:path'
import t from 'tap'
import type { Page } from 'playwright-core'
import { projectRoot } from '../../core/paths.js'
import { tokenFor } from '../helpers/build.js'
import { launchBrowser, serveDashboard } from './page.js'

// One Helix and one Chromium for every test below: booting them dominates the run.
t.setTimeout(240_000)

const SHOTS = path.join(projectRoot, 'test-output/dashboard')
mkdirSync(SHOTS, { recursive: true })

const browser = await launchBrowser(t)
const { app, url } = await serveDashboard(t)
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

t.test('an admin flips stream ownership from the page: 1012, then back, and nothing is lost or doubled', async (t) => {
  const page = await openPage(t, admin)
  await page.waitForSelector('#connection[data-state="open"]')
  const toggle = '[data-flag="helix.stream.dedicated"]'
  await page.waitForSelector(toggle)
  t.notOk(await page.isChecked(toggle))
  const bus = app.helix.kernel.bus
  const ids = [(await bus.publish('alerts', 'alert.raised', { severity: 'high', message: 'before the flip' })).id]
  await page.click(toggle)
  await page.waitForSelector('#flags-status[data-tone="ok"]')
  // The monolith gave streaming away; with no dedicated service up the page keeps trying.
  await page.waitForSelector('#connection[data-state="reconnecting"]')
  for (let i = 0; i < 5; i++) ids.push((await bus.publish('alerts', 'alert.raised', { severity: 'high', message: `during the flip ${i}` })).id)
  const back = await app.inject({ method: 'PUT', url: '/admin/flags/helix.stream.dedicated', headers: { authorization: `Bearer ${admin}` }, payload: { enabled: false } })
  t.equal(back.statusCode, 200, back.body)
  await page.waitForSelector('#connection[data-state="open"]', { timeout: 60_000 })
  ids.push((await bus.publish('alerts', 'alert.raised', { severity: 'high', message: 'after the flip' })).id)
  await page.waitForFunction((n) => document.querySelectorAll('#feed [data-type="alert.raised"]').length >= n, ids.length)
  const shown = await page.$$eval('#feed [data-type="alert.raised"]', (rows) => rows.map((r) => (r as HTMLElement).dataset.eventId!))
  t.same(shown, ids.map((id) => `alerts:${id}`).reverse())
  await page.waitForFunction((sel) => !document.querySelector<HTMLInputElement>(sel)!.checked, toggle)
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
  await app.inject({ method: 'POST', url: '/api/ucf/rituals', headers, payload: { name: 'neti_neti' } })
  await app.inject({ method: 'POST', url: '/api/ucf/rituals', headers, payload: { name: 'z88', steps: 108 } })
  for (const agent of ['lumina', 'vega', 'claude']) {
    await app.inject({ method: 'POST', url: `/api/agents/${agent}/commands`, headers, payload: { command: 'REFLECT', args: {} } })
  }
  await app.helix.kernel.bus.publish('zapier', 'zapier.received', { type: 'discord_notification', source: 'zapier' })
  for (const [i, [name, viewport]] of Object.entries(views).entries()) {
    const page = pages[i]
    await page.waitForFunction(() => document.querySelectorAll('#feed [data-type="ritual.completed"]').length === 2, undefined, { timeout: 60_000 })
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    t.ok(width <= viewport.width, `${name}: no sideways scrolling (${width}px)`)
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true })
  }
})
