// How the dashboard's files are served: the page at `/` (revalidated, with a strict CSP), hashed
// assets precompressed and cached for good, and nothing else of the API surface taken over.
import { readdirSync } from 'node:fs'
import t from 'tap'
import dashboardPlugin from '../../plugins/dashboard/index.js'
import { PUBLIC_DIR } from '../../plugins/dashboard/routes.js'
import { build } from '../helpers/build.js'
import { ensureBundle } from './page.js'

ensureBundle()
const app = await build(t, {}, { plugins: [dashboardPlugin] })
const script = readdirSync(PUBLIC_DIR).find((f) => /^app-.*\.js$/.test(f))!

t.test('GET / is the page, revalidated on every visit, with a content security policy', async (t) => {
  const res = await app.inject({ url: '/', headers: { 'accept-encoding': 'identity' } })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  t.equal(res.headers['cache-control'], 'no-cache')
  t.match(res.headers['content-security-policy'], /default-src 'self'/)
  t.match(res.body, new RegExp(`<script type="module" src="/${script}">`))
  const withToken = await app.inject({ url: '/?token=abc', headers: { 'accept-encoding': 'br' } })
  t.equal(withToken.statusCode, 200, 'the start-up link (/?token=...) opens the page')
  t.equal(withToken.headers['content-encoding'], 'br')
  t.equal(withToken.headers['cache-control'], 'no-cache')
})

t.test('the bundle is served precompressed and cached immutably', async (t) => {
  const plain = await app.inject({ url: `/${script}`, headers: { 'accept-encoding': 'identity' } })
  t.equal(plain.statusCode, 200)
  t.match(plain.headers['content-type'], /javascript/)
  t.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable')
  for (const encoding of ['br', 'gzip']) {
    const res = await app.inject({ url: `/${script}`, headers: { 'accept-encoding': encoding } })
    t.equal(res.headers['content-encoding'], encoding)
    t.ok(res.rawPayload.length < plain.rawPayload.length / 2, `${encoding} is less than half the size`)
  }
})

t.test('the dashboard claims only its own files: unknown paths are still JSON 404s', async (t) => {
  const res = await app.inject('/nope')
  t.equal(res.statusCode, 404)
  t.same(res.json(), { error: 'not_found', message: 'Route GET /nope not found' })
  t.equal((await app.inject('/index.html.br')).statusCode, 404)
})
