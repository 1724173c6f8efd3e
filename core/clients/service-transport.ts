// How one plugin calls another's public REST API (DESIGN sections 2 and 7): in-process through
// `app.inject` when this process owns the callee, over HTTP to the owner's service URL when another
// service does, decided per call so it follows ownership live. Every call carries a short-lived
// service token (`sub` `service:<role>`, only the scopes it needs) and `X-Helix-On-Behalf-Of`.
import type { FastifyInstance } from 'fastify'
import { Agent, request as undiciRequest } from 'undici'
import type { Config } from '../../config/index.js'
import type { PluginName } from '../../config/roles.js'
import { ON_BEHALF_OF_HEADER, type Scope } from '../auth/index.js'
import { HelixError } from '../errors.js'
import type { OwnershipGate } from '../ownership/index.js'

export interface ServiceRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE'
  /** Path under the callee's routes, e.g. `/api/agents/kael`. */
  path: string
  query?: Record<string, string | number | boolean | undefined>
  /** A JSON body, or raw bytes with their content type. */
  body?: unknown
  raw?: { bytes: Buffer; contentType: string }
  headers?: Record<string, string>
  /** The scopes the service token carries for this call. */
  scopes: readonly Scope[]
  /** The real subject: `discord:<userId>`, `zapier:<source>`, or the original token's `sub`. */
  onBehalfOf: string
}

export interface ServiceResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
  /** How the call travelled: in this process or over HTTP to the owner. */
  via: 'in-process' | 'http'
}

/** A non-2xx answer from the callee, carrying its status, code and message as they were. */
export class ServiceCallError extends HelixError {
  override name = 'ServiceCallError'
}

/** The service token is re-signed this long before it would expire. */
const TOKEN_TTL_S = 300
const TOKEN_RENEW_MS = 60_000
const TIMEOUT_MS = 30_000

export interface ServiceTransportDeps {
  app: FastifyInstance
  config: Config
  gate: OwnershipGate
  /** Plugins loaded by this process: only these can be called in-process. */
  loaded(): ReadonlySet<string>
}

export class ServiceTransport {
  private readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 64, headersTimeout: TIMEOUT_MS, bodyTimeout: TIMEOUT_MS })
  private readonly tokens = new Map<string, { token: string; renewAt: number }>()
  private readonly sub: string

  constructor(private readonly deps: ServiceTransportDeps) {
    this.sub = `service:${deps.config.roles.join(',')}`
  }

  /** Calls `plugin`; a `not_owner` answer (a flip under way: nothing was stored) is retried once on the new owner. */
  async call(plugin: PluginName, request: ServiceRequest): Promise<ServiceResponse> {
    const first = await this.send(plugin, request)
    if (first.status !== 503 || !isNotOwner(first.body)) return first
    return this.send(plugin, request)
  }

  /** Calls and parses a JSON answer; a non-2xx answer throws a ServiceCallError with the callee's code. */
  async json<T>(plugin: PluginName, request: ServiceRequest): Promise<T> {
    const res = await this.call(plugin, request)
    if (res.status >= 200 && res.status < 300) return (res.body.length === 0 ? undefined : JSON.parse(res.body.toString('utf8'))) as T
    throw serviceError(plugin, res)
  }

  async close(): Promise<void> {
    await this.agent.close()
  }

  private send(plugin: PluginName, request: ServiceRequest): Promise<ServiceResponse> {
    const { gate, loaded } = this.deps
    if (loaded().has(plugin) && gate.ownsPlugin(plugin)) return this.inject(request)
    const url = this.ownerUrl(plugin)
    if (!url) throw new ServiceCallError(503, 'unavailable', `No service URL for the ${plugin} service (HELIX_SERVICE_URLS)`, { plugin }, { 'retry-after': '1' })
    return this.http(url, request)
  }

  /** The owner's internal URL: the dedicated service's, or the monolith's (`all=`) when it owns the plugin. */
  private ownerUrl(plugin: PluginName): string | null {
    const urls = this.deps.config.serviceUrls
    return this.deps.gate.ownerOfPlugin(plugin) === 'dedicated' ? (urls[plugin] ?? urls.all ?? null) : (urls.all ?? null)
  }

  private headers(request: ServiceRequest): Record<string, string> {
    const headers: Record<string, string> = {
      ...request.headers,
      authorization: `Bearer ${this.token(request.scopes)}`,
      [ON_BEHALF_OF_HEADER]: request.onBehalfOf
    }
    if (request.raw) headers['content-type'] = request.raw.contentType
    else if (request.body !== undefined) headers['content-type'] = 'application/json'
    return headers
  }

  private payload(request: ServiceRequest): string | Buffer | undefined {
    if (request.raw) return request.raw.bytes
    return request.body === undefined ? undefined : JSON.stringify(request.body)
  }

  private async inject(request: ServiceRequest): Promise<ServiceResponse> {
    const res = await this.deps.app.inject({
      method: request.method,
      url: request.path,
      query: stringQuery(request.query),
      headers: this.headers(request),
      payload: this.payload(request)
    })
    return { status: res.statusCode, headers: res.headers as ServiceResponse['headers'], body: res.rawPayload, via: 'in-process' }
  }

  private async http(base: string, request: ServiceRequest): Promise<ServiceResponse> {
    const url = new URL(request.path, base)
    for (const [k, v] of Object.entries(stringQuery(request.query))) url.searchParams.set(k, v)
    try {
      const res = await undiciRequest(url, {
        method: request.method,
        headers: this.headers(request),
        body: this.payload(request),
        dispatcher: this.agent,
        signal: AbortSignal.timeout(TIMEOUT_MS)
      })
      const body = Buffer.from(await res.body.arrayBuffer())
      return { status: res.statusCode, headers: res.headers, body, via: 'http' }
    } catch (err) {
      throw new ServiceCallError(503, 'unavailable', `The service at ${url.origin} is unreachable: ${(err as Error).message}`, undefined, { 'retry-after': '1' })
    }
  }

  /** One token per scope set, signed once and reused until close to its expiry. */
  private token(scopes: readonly Scope[]): string {
    const key = [...scopes].sort().join(' ')
    const now = Date.now()
    const cached = this.tokens.get(key)
    if (cached && cached.renewAt > now) return cached.token
    const token = this.deps.app.auth.sign({ sub: this.sub, scopes: [...scopes], ttlSeconds: TOKEN_TTL_S })
    this.tokens.set(key, { token, renewAt: now + TOKEN_TTL_S * 1000 - TOKEN_RENEW_MS })
    return token
  }
}

function stringQuery(query: ServiceRequest['query']): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) out[k] = String(v)
  return out
}

function isNotOwner(body: Buffer): boolean {
  return body.length < 4096 && body.includes('"not_owner"')
}

/** The callee's error answer as a ServiceCallError: its status, code, message and Retry-After. */
export function serviceError(plugin: string, res: ServiceResponse): ServiceCallError {
  let parsed: { error?: unknown; message?: unknown } = {}
  try {
    parsed = JSON.parse(res.body.toString('utf8')) as typeof parsed
  } catch {
    // Not our error shape (a proxy's page): the status says enough.
  }
  const code = typeof parsed.error === 'string' ? parsed.error : 'upstream_error'
  const message = typeof parsed.message === 'string' ? parsed.message : `The ${plugin} service answered ${res.status}`
  const retryAfter = res.headers['retry-after']
  const headers = typeof retryAfter === 'string' ? { 'retry-after': retryAfter } : undefined
  const { error: _e, message: _m, ...details } = parsed as Record<string, unknown>
  return new ServiceCallError(res.status, code, message, Object.keys(details).length > 0 ? details : undefined, headers)
}
