// The dashboard's voice panel in headless Chromium: type a line, pick an agent, hear it (the audio
// plays from a blob: URL the page's CSP allows); a token without `voice` does not see the panel.
import t from 'tap'
import dashboardPlugin from '../../plugins/dashboard/index.js'
import { orchestratorPlugin } from '../../plugins/orchestrator/index.js'
import { streamPlugin } from '../../plugins/stream/index.js'
import { voicePlugin } from '../../plugins/voice/index.js'
import { build, tokenFor } from '../helpers/build.js'
import { freePort } from '../helpers/net.js'
import { ensureBundle, launchBrowser } from '../dashboard/page.js'

t.setTimeout(180_000)
ensureBundle()
const browser = await launchBrowser(t)
const port = await freePort()
const url = `http://127.0.0.1:${port}`
const app = await build(t, { PORT: String(port), HELIX_PUBLIC_URL: url, VOICE_PROVIDER: 'local' }, { plugins: [streamPlugin, orchestratorPlugin, voicePlugin, dashboardPlugin] })
await app.listen({ port, host: '127.0.0.1' })

t.test('type text, pick an agent, hear it', async (t) => {
  const page = await browser.newPage()
  t.teardown(() => page.close())
  const violations: string[] = []
  page.on('console', (m) => m.text().includes('Content Security Policy') && violations.push(m.text()))
  await page.goto(`${url}/?token=${encodeURIComponent(tokenFor(app, ['agents:read', 'stream:read', 'voice']))}`)
  await page.waitForSelector('#voice-form:not([hidden])')
  await page.waitForFunction(() => document.querySelectorAll('#voice-agent option').length === 14)
  await page.fill('#voice-text', 'Kael keeps the harmony')
  await page.selectOption('#voice-agent', 'kael')
  await page.click('#voice-form button[type="submit"]')
  await page.waitForSelector('#voice-status[data-tone="ok"]')
  t.match(await page.textContent('#voice-status'), /Spoken by local/)
  t.match(await page.getAttribute('#voice-player', 'src'), /^blob:/)
  const duration = await page.waitForFunction(() => {
    const audio = document.querySelector<HTMLAudioElement>('#voice-player')!
    return audio.duration > 0 && audio.duration
  })
  t.ok(Number(await duration.jsonValue()) > 0.5, 'the browser decoded the audio')
  t.same(violations, [], 'no CSP violation')
})

t.test('without the voice scope the panel stays hidden', async (t) => {
  const page = await browser.newPage()
  t.teardown(() => page.close())
  await page.goto(`${url}/?token=${encodeURIComponent(tokenFor(app, ['agents:read', 'stream:read']))}`)
  await page.waitForFunction(() => document.querySelectorAll('#roster [data-agent]').length === 14)
  t.equal(await page.isHidden('#voice-form'), true)
})
