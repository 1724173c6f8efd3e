// Every error Helix sends has the documented shape {"error":"<code>","message":"..."} (issue 10,
// finding 8), including the framework's (bad percent-encoding, content-type parsing, 404, overlong
// parameters) and Node's HTTP parser's (414, 431, bad chunking), against a real listening process,
// byte for byte over a raw socket.
import net from 'node:net'
import t from 'tap'
import { signTestToken, tempDir } from '../helpers/build.js'
import { startHelix } from '../helpers/process.js'
import { waitFor } from '../helpers/wait.js'

interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** Sends `text` as is and reads the one response (the server closes or answers with a length). */
function raw(port: number, text: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text))
    let received = Buffer.alloc(0)
    const done = () => {
      const textOut = received.toString('utf8')
      const headEnd = textOut.indexOf('\r\n\r\n')
      if (headEnd === -1) return false
      const [statusLine, ...lines] = textOut.slice(0, headEnd).split('\r\n')
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
      const body = textOut.slice(headEnd + 4)
      if (headers['content-length'] !== undefined && Buffer.byteLength(body) < Number(headers['content-length'])) return false
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body })
      socket.destroy()
      return true
    }
    socket.on('data', (d: Buffer) => {
      received = Buffer.concat([received, d])
      done()
    })
    socket.on('close', () => done() || reject(new Error(`closed without a full response: ${JSON.stringify(received.toString().slice(0, 200))}`)))
    socket.on('error', () => undefined)
  })
}

t.test('framework and parser errors in the documented shape', async (t) => {
  const helix = await startHelix(t, { env: { HELIX_DATA_DIR: tempDir(t), HELIX_BODY_LIMIT: '4096' } })
  const auth = `Authorization: Bearer ${signTestToken(['admin'])}\r\n`
  const json = 'Content-Type: application/json\r\n'
  const request = (line: string, headers = '', body = '') =>
    `${line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n${auth}${headers}${body && !/transfer-encoding/i.test(headers) ? `Content-Length: ${Buffer.byteLength(body)}\r\n` : ''}\r\n${body}`

  const cases: [name: string, text: string, status: number, code: string][] = [
    ['bad percent-encoding in the path', request('GET /api/agents/%E0%A4%A HTTP/1.1'), 400, 'bad_request'],
    ['an overlong path parameter', request(`GET /api/agents/${'a'.repeat(600)} HTTP/1.1`), 414, 'uri_too_long'],
    ['a URL past the header limit', request(`GET /api/agents?q=${'a'.repeat(20_000)} HTTP/1.1`), 414, 'uri_too_long'],
    ['headers past the limit', request('GET /api/agents HTTP/1.1', `X-Padding: ${'a'.repeat(20_000)}\r\n`), 431, 'headers_too_large'],
    ['a malformed chunk size', request('POST /api/agents HTTP/1.1', `${json}Transfer-Encoding: chunked\r\n`, 'zz\r\n{}\r\n0\r\n\r\n'), 400, 'bad_request'],
    ['GET with a chunked body and a Content-Length', request('GET /api/agents HTTP/1.1', `${json}Transfer-Encoding: chunked\r\nContent-Length: 2\r\n`, '2\r\n{}\r\n0\r\n\r\n'), 400, 'bad_request'],
    ['DELETE with a chunked body of no type', request('DELETE /api/agents/kael HTTP/1.1', 'Transfer-Encoding: chunked\r\n', '2\r\n{}\r\n0\r\n\r\n'), 415, 'unsupported_media_type'],
    ['DELETE with a chunked body that is not JSON', request('DELETE /api/agents/kael HTTP/1.1', `${json}Transfer-Encoding: chunked\r\n`, '3\r\n{{{\r\n0\r\n\r\n'), 400, 'invalid_json'],
    ['not HTTP at all', 'HELLO THERE\r\n\r\n', 400, 'bad_request'],
    ['a content type Helix does not parse', request('POST /api/agents HTTP/1.1', 'Content-Type: application/xml\r\n', '<a/>'), 415, 'unsupported_media_type'],
    ['an empty JSON body', request('POST /api/agents HTTP/1.1', `${json}Content-Length: 0\r\n`), 400, 'invalid_json'],
    ['a body over HELIX_BODY_LIMIT', request('POST /api/agents HTTP/1.1', json, JSON.stringify({ name: 'x'.repeat(8000) })), 413, 'payload_too_large'],
    ['a route that does not exist', request('GET /api/nothing HTTP/1.1'), 404, 'not_found'],
    ['a method the path does not take', request('PUT /api/agents HTTP/1.1', json, '{}'), 404, 'not_found'],
    ['GET /ws without Upgrade', request('GET /ws HTTP/1.1'), 426, 'upgrade_required'],
    ['an unknown query parameter', request('GET /api/agents?colour=red HTTP/1.1'), 400, 'validation_failed'],
    ['a NUL in the path', request('GET /api/agents/kael%00 HTTP/1.1'), 400, 'invalid_character'],
    ['a body nested past 32 levels', request('POST /api/stream/publish HTTP/1.1', json, `{"channel":"ucf","type":"chat.message","data":${'['.repeat(1500)}${']'.repeat(1500)}}`), 400, 'too_deep']
  ]
  for (const [name, text, status, code] of cases) {
    const res = await raw(helix.port, text)
    t.equal(res.status, status, `${name}: status`)
    t.match(res.headers['content-type'], /^application\/json/, `${name}: JSON`)
    let body: unknown
    t.doesNotThrow(() => (body = JSON.parse(res.body)), `${name}: a JSON body`)
    t.match(body, { error: code, message: String }, `${name}: ${res.body.slice(0, 200)}`)
    t.notOk((body as Record<string, unknown>).statusCode, `${name}: not Fastify's own body`)
  }
  const upgrade = await raw(helix.port, request('GET /ws HTTP/1.1'))
  t.equal(upgrade.headers.upgrade, 'websocket', '426 names the protocol to upgrade to')
  t.equal((await fetch(`${helix.url}/health/live`)).status, 200, 'still serving')
})

t.test('a request on a kept-alive connection while the server closes: 503 unavailable in the shape', async (t) => {
  const helix = await startHelix(t, { entry: 'test/fixtures/probe-server.ts', env: { HELIX_DATA_DIR: tempDir(t) } })
  const socket = net.connect(helix.port, '127.0.0.1')
  let received = ''
  socket.on('data', (d: Buffer) => (received += d.toString()))
  socket.on('error', () => undefined)
  // The first request keeps the server closing (and this connection open) for a second.
  socket.write('GET /api/probe/slow?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => /"url":"\/api\/probe\/slow/.test(helix.output()), 'the slow request to arrive')
  helix.child.kill('SIGTERM')
  await waitFor(() => /shutting down/.test(helix.output()), 'the shutdown to begin')
  socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n')
  await new Promise((resolve) => socket.once('close', resolve))
  const responses = received.split(/(?=HTTP\/1\.1 )/)
  t.match(responses[0], /^HTTP\/1\.1 200 /, 'the request in flight finished')
  t.match(responses[1], /^HTTP\/1\.1 503 /, 'the next one is refused')
  t.match(responses[1], /retry-after: \d+/i)
  t.match(JSON.parse(responses[1]!.slice(responses[1]!.indexOf('\r\n\r\n') + 4)), { error: 'unavailable', message: String })
  t.same(await helix.exited, { code: 0, signal: null })
})
