// A fake Unleash server (plain node:http on loopback) that the real unleash-client polls: client
// features with ETag / If-None-Match, register and metrics. Tests flip features, stop and restart it,
// or make it answer garbage.
import { createHash } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'

type Test = { teardown(fn: () => unknown): void }

export interface FakeUnleash {
  /** The API URL to give UNLEASH_URL (`http://127.0.0.1:<port>/api`). */
  url: string
  port: number
  /** Sets a feature on (default strategy) or off; other features keep their values. */
  set(name: string, enabled: boolean): void
  /** Answers /api/client/features with a body that is not JSON. */
  garbage(on: boolean): void
  /** Feature polls answered (200 and 304). */
  polls(): number
  stop(): Promise<void>
  start(): Promise<void>
}

export async function fakeUnleash(t: Test, features: Record<string, boolean> = {}, port = 0): Promise<FakeUnleash> {
  const state = new Map(Object.entries(features))
  let broken = false
  let polls = 0

  function body(): { json: string; etag: string } {
    const json = JSON.stringify({
      version: 2,
      features: [...state].map(([name, enabled]) => ({ name, enabled, strategies: [{ name: 'default' }] }))
    })
    return { json, etag: `"${createHash('sha1').update(json).digest('hex').slice(0, 16)}"` }
  }

  const server = http.createServer((req, res) => {
    const path = req.url?.split('?')[0]
    req.resume()
    if (req.method === 'GET' && path === '/api/client/features') {
      polls++
      if (broken) {
        res.writeHead(200, { 'content-type': 'application/json' }).end('<html>not json')
        return
      }
      const { json, etag } = body()
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag }).end()
        return
      }
      res.writeHead(200, { 'content-type': 'application/json', etag }).end(json)
      return
    }
    if (req.method === 'POST' && (path === '/api/client/register' || path === '/api/client/metrics')) {
      res.writeHead(202).end()
      return
    }
    res.writeHead(404).end()
  })

  const listen = (p: number) => new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(p, '127.0.0.1', () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
  const actualPort = await listen(port)

  const fake: FakeUnleash = {
    url: `http://127.0.0.1:${actualPort}/api`,
    port: actualPort,
    set: (name, enabled) => void state.set(name, enabled),
    garbage: (on) => void (broken = on),
    polls: () => polls,
    async stop() {
      if (!server.listening) return
      const closed = new Promise((resolve) => server.close(resolve))
      server.closeAllConnections()
      await closed
    },
    async start() {
      if (!server.listening) await listen(actualPort)
    }
  }
  t.teardown(() => fake.stop())
  return fake
}
