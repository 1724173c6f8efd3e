// Access tokens (DESIGN section 7): HS256 JWTs with space-separated scopes. `admin` holds every scope.
// Decorates `app.auth` with verify/sign/revoke and `requireScope(scope)`, the preHandler routes use.
// HELIX_JWT_SECRET may hold two secrets while it rotates: the first signs, either verifies.
import { randomUUID } from 'node:crypto'
import fastifyJwt from '@fastify/jwt'
import { createVerifier } from 'fast-jwt'
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../errors.js'
import type { RevocationList } from './revocations.js'

export const SCOPES = ['stream:read', 'stream:publish', 'agents:read', 'agents:write', 'voice', 'zapier', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

export interface Claims {
  sub: string
  scope: string
  exp: number
  iat?: number
  /** The token's id, by which it can be revoked (POST /admin/tokens/revoke). */
  jti?: string
}

export interface Principal {
  sub: string
  /**
   * Who the request is for: the `X-Helix-On-Behalf-Of` subject of a service token (a plugin calling
   * another for `discord:<userId>`), otherwise `sub`. Idempotency, rate limits and audit key on it.
   */
  actor: string
  scopes: ReadonlySet<string>
  /** Expiry, epoch milliseconds. */
  expiresAt: number
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: Claims
    user: Claims
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    auth: {
      /** Verifies a raw token; throws a HelixError (401) when it is missing, expired, revoked or bad. Synchronous. */
      verify(token: string | undefined): Principal
      /** Signs with the first secret; every token gets a `jti`. */
      sign(claims: { sub: string; scopes: readonly string[]; ttlSeconds: number }): string
      /** Revokes a token id on every replica until `expiresAtMs`. */
      revoke(jti: string, expiresAtMs: number): Promise<void>
      /** Authenticates the bearer token and checks a scope (401/403 with coded bodies). */
      requireScope(scope: Scope): preHandlerAsyncHookHandler
    }
  }
  interface FastifyRequest {
    principal?: Principal
  }
}

export function hasScope(principal: Principal, scope: string): boolean {
  return principal.scopes.has(scope) || principal.scopes.has('admin')
}

/** Sent by a service token to name the subject it acts for (DESIGN section 7). */
export const ON_BEHALF_OF_HEADER = 'x-helix-on-behalf-of'

/** Only services act for someone else; the subject they name must look like one. */
const SERVICE_PREFIX = 'service:'
const SUBJECT = /^[\x21-\x7e]{1,200}$/

export function actingFor(principal: Principal, onBehalfOf: string | string[] | undefined): Principal {
  if (onBehalfOf === undefined) return principal
  if (!principal.sub.startsWith(SERVICE_PREFIX)) throw errors.forbiddenMessage(`Only service tokens may send ${ON_BEHALF_OF_HEADER}`)
  if (typeof onBehalfOf !== 'string' || !SUBJECT.test(onBehalfOf)) throw errors.validation(`${ON_BEHALF_OF_HEADER} must be one subject of 1 to 200 visible characters`)
  return { ...principal, actor: onBehalfOf }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (!header) return undefined
  const [kind, token] = header.split(' ')
  return kind?.toLowerCase() === 'bearer' && token ? token : undefined
}

const DURATION_UNITS = { s: 1, m: 60, h: 3600, d: 86400 } as const

/**
 * Parses a token lifetime with its unit (45s, 30m, 1h, 7d) into seconds. A bare number is refused:
 * `--ttl 1` silently meaning one second surprised users.
 */
export function parseTtl(value: string): number {
  const text = value.trim()
  if (/^\d+$/.test(text)) throw new Error(`${JSON.stringify(value)} has no unit; write ${text}s, ${text}m, ${text}h or ${text}d`)
  const match = /^(\d+)([smhd])$/.exec(text)
  if (!match) throw new Error(`${JSON.stringify(value)} is not a duration; expected a whole number with a unit s, m, h or d, e.g. 1h`)
  const seconds = Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS]
  if (seconds === 0 || !Number.isSafeInteger(seconds)) throw new Error(`${JSON.stringify(value)} is out of range; expected from 1s to a few years, e.g. 1h`)
  return seconds
}

export const authPlugin = fp(
  async (app: FastifyInstance, opts: { secrets: readonly [string, ...string[]]; revocations: RevocationList }) => {
    const { revocations } = opts
    await app.register(fastifyJwt, { secret: opts.secrets[0], sign: { algorithm: 'HS256' } })
    const verifiers = opts.secrets.map((key) => createVerifier({ key, algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] }))

    /** The claims of a token signed with any of the secrets; only a signature mismatch tries the next one. */
    function claimsOf(token: string): Claims {
      let failure: unknown
      for (const verifier of verifiers) {
        try {
          return verifier(token) as Claims
        } catch (err) {
          failure = err
          if ((err as { code?: string }).code !== 'FAST_JWT_INVALID_SIGNATURE') break
        }
      }
      if ((failure as { code?: string }).code === 'FAST_JWT_EXPIRED') throw errors.tokenExpired()
      throw errors.unauthorized('The token is not valid')
    }

    function verify(token: string | undefined): Principal {
      if (!token) throw errors.unauthorized()
      const claims = claimsOf(token)
      if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') throw errors.unauthorized('The token is not valid')
      if (typeof claims.jti === 'string' && revocations.has(claims.jti)) throw errors.tokenRevoked()
      const scopes = new Set(typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [])
      return { sub: claims.sub, actor: claims.sub, scopes, expiresAt: claims.exp * 1000 }
    }

    app.decorate('auth', {
      verify,
      sign({ sub, scopes, ttlSeconds }) {
        return app.jwt.sign({ sub, scope: scopes.join(' '), exp: Math.floor(Date.now() / 1000) + ttlSeconds, jti: randomUUID() })
      },
      revoke: (jti, expiresAtMs) => revocations.revoke(jti, expiresAtMs),
      requireScope(scope: Scope): preHandlerAsyncHookHandler {
        return async function checkScope(request) {
          const principal = request.principal ?? actingFor(verify(bearerToken(request)), request.headers[ON_BEHALF_OF_HEADER])
          request.principal = principal
          if (!hasScope(principal, scope)) throw errors.forbidden(scope)
        }
      }
    })
  },
  { name: 'helix-auth' }
)
