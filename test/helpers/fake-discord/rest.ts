// The REST side of the fake: the `/api/v10` request cycle (body parsing, the bot token check, scripted
// 429/500 answers, Discord-shaped errors) around a table of routes, recording every call for tests.
import { createHash } from 'node:crypto'
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http'
import { DiscordError, discordErrors } from './errors.js'
import type { UploadedFile } from './messages.js'

/** The REST base discord.js is given; it appends the API version. */
export const API_BASE = '/api'
const API_PREFIX = `${API_BASE}/v10`

export interface RecordedCall {
  /** Position in the fake's `calls`, from 0. */
  index: number
  method: string
  /** The path after the API version, decoded: `/channels/123/messages`. */
  path: string
  /** The route it matched (`POST /channels/:channel/messages`); null when no route matched. */
  route: string | null
  query: Record<string, string>
  headers: IncomingHttpHeaders
  /** The JSON body (for multipart uploads, their `payload_json`); undefined without one. */
  body: any
  files: UploadedFile[]
  status: number
  /** The JSON the fake answered with (the message it created, the error), if any. */
  response: unknown
  at: number
}

export interface RouteRequest {
  params: Record<string, string>
  query: URLSearchParams
  body: any
  files: UploadedFile[]
}

/** What a route answers: no body means `204` with no content type (discord.js fails on a 204 with one). */
export interface Reply {
  status: number
  body?: unknown
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** Segments starting with `:` are parameters: `/channels/:channel/messages`. */
  path: string
  /** Needs `Authorization: Bot <token>`; interaction callbacks and webhook-token routes do not. */
  auth: boolean
  handle(request: RouteRequest): Reply
}

export interface FailureOptions {
  /** For 429: seconds until the retry may come (`Retry-After` and `X-RateLimit-Reset-After`); default 0.2. */
  retryAfter?: number
  /** For 429: a global rate limit (`X-RateLimit-Global`) rather than the route's bucket. */
  global?: boolean
  /** How many matching requests fail in a row (default 1). */
  times?: number
}

interface ScriptedFailure extends Required<FailureOptions> {
  route: string
  status: number
}

export const ok = (body: unknown): Reply => ({ status: 200, body })
export const noContent = (): Reply => ({ status: 204 })

/** Matches `/channels/:channel/messages` against a path; the parameters, or null. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/')
  const got = path.split('/')
  if (want.length !== got.length) return null
  const params: Record<string, string> = {}
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(':')) params[want[i].slice(1)] = got[i]
    else if (want[i] !== got[i]) return null
  }
  return params
}

function parseRoute(route: string): { method: string; pattern: string } {
  const [method, pattern] = route.split(' ')
  if (!pattern?.startsWith('/')) throw new Error(`fake-discord: a route is "METHOD /path", got "${route}"`)
  return { method: method.toUpperCase(), pattern }
}

/**
 * Whether a call matches a route written as `METHOD /path`, where `:name` segments match any value:
 * `POST /channels/:id/messages`, or `PATCH /webhooks/:app/:token/messages/@original`.
 */
export function matchesRoute(route: string, method: string, path: string): boolean {
  const want = parseRoute(route)
  return want.method === method && matchPath(want.pattern, path) !== null
}

async function readBody(req: IncomingMessage): Promise<{ body: any; files: UploadedFile[] }> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const raw = Buffer.concat(chunks)
  const type = req.headers['content-type'] ?? ''
  if (raw.length === 0) return { body: undefined, files: [] }
  if (type.startsWith('multipart/form-data')) {
    const form = await new Response(raw, { headers: { 'content-type': type } }).formData()
    const files: UploadedFile[] = []
    let body: any
    const entries: [string, string | File][] = []
    form.forEach((value, field) => entries.push([field, value]))
    for (const [field, value] of entries) {
      if (typeof value === 'string') {
        if (field === 'payload_json') body = JSON.parse(value)
      } else {
        files.push({ field, name: value.name, contentType: value.type, data: Buffer.from(await value.arrayBuffer()) })
      }
    }
    return { body, files }
  }
  try {
    return { body: JSON.parse(raw.toString('utf8')), files: [] }
  } catch {
    throw discordErrors.invalidJson()
  }
}

function failureReply(failure: ScriptedFailure, res: ServerResponse): unknown {
  if (failure.status !== 429) {
    const body = { message: `${failure.status}: scripted failure`, code: 0 }
    res.writeHead(failure.status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    return body
  }
  const seconds = String(failure.retryAfter)
  const headers: Record<string, string> = { 'content-type': 'application/json', 'retry-after': seconds }
  if (failure.global) {
    Object.assign(headers, { 'x-ratelimit-global': 'true', 'x-ratelimit-scope': 'global' })
  } else {
    Object.assign(headers, {
      'x-ratelimit-limit': '1',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': ((Date.now() / 1000) + failure.retryAfter).toFixed(3),
      'x-ratelimit-reset-after': seconds,
      'x-ratelimit-bucket': createHash('sha1').update(failure.route).digest('hex').slice(0, 16),
      'x-ratelimit-scope': 'user'
    })
  }
  const body = { message: 'You are being rate limited.', retry_after: failure.retryAfter, global: failure.global, code: 0 }
  res.writeHead(429, headers).end(JSON.stringify(body))
  return body
}

export interface RestOptions {
  token: string
  routes: Route[]
  onCall(call: Omit<RecordedCall, 'index'>): void
}

export function createRest({ token, routes, onCall }: RestOptions) {
  const failures: ScriptedFailure[] = []

  function takeFailure(method: string, path: string): ScriptedFailure | undefined {
    const failure = failures.find((f) => matchesRoute(f.route, method, path))
    if (failure && --failure.times === 0) failures.splice(failures.indexOf(failure), 1)
    return failure
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-discord')
    const method = req.method ?? 'GET'
    const versioned = url.pathname.startsWith(`${API_PREFIX}/`)
    // Decoded, so tests and routes read `/messages/@original` rather than `%40original`.
    const path = (versioned ? url.pathname.slice(API_PREFIX.length) : url.pathname).split('/').map(decodeURIComponent).join('/')
    const call = { method, path, route: null as string | null, query: Object.fromEntries(url.searchParams), headers: req.headers, body: undefined as any, files: [] as UploadedFile[], status: 0, response: undefined as unknown, at: Date.now() }
    try {
      Object.assign(call, await readBody(req))
      const found = versioned ? routes.find((r) => r.method === method && matchPath(r.path, path)) : undefined
      if (!found) throw discordErrors.routeNotFound()
      call.route = `${found.method} ${found.path}`
      const authorization = req.headers.authorization
      if ((authorization !== undefined || found.auth) && authorization !== `Bot ${token}`) throw discordErrors.unauthorized()
      const failure = takeFailure(method, path)
      if (failure) {
        call.status = failure.status
        call.response = failureReply(failure, res)
        return
      }
      const reply = found.handle({ params: matchPath(found.path, path)!, query: url.searchParams, body: call.body, files: call.files })
      call.status = reply.status
      call.response = reply.body
      if (reply.body === undefined) res.writeHead(reply.status).end()
      else res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body))
    } catch (err) {
      // A bug in the fake answers 500 with its stack, so the failing test names it.
      const error = err instanceof DiscordError ? err : new DiscordError(500, 0, `fake-discord: ${(err as Error).stack}`)
      call.status = error.status
      call.response = error.body()
      res.writeHead(error.status, { 'content-type': 'application/json' }).end(JSON.stringify(call.response))
    } finally {
      onCall(call)
    }
  }

  return {
    handle,
    /** The next `times` requests matching `route` (`POST /channels/:id/messages`) answer `status`. */
    failNext(route: string, status: number, options: FailureOptions = {}): void {
      parseRoute(route)
      failures.push({ route, status, retryAfter: options.retryAfter ?? 0.2, global: options.global ?? false, times: options.times ?? 1 })
    }
  }
}
