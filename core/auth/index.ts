// Access tokens (DESIGN section 7): HS256 JWTs with space-separated scopes. `admin` holds every scope.
// Decorates `app.auth` with verify/sign and `requireScope(scope)`, the preHandler routes use.
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../errors.js'

export const SCOPES = ['stream:read', 'stream:publish', 'agents:read', 'agents:write', 'voice', 'zapier', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

export interface Claims {
  sub: string
  scope: string
  exp: number
  iat?: number
}

export interface Principal {
  sub: string
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
      /** Verifies a raw token; throws a HelixError (401) when it is missing, expired or bad. */
      verify(token: string | undefined): Principal
      sign(claims: { sub: string; scopes: readonly string[]; ttlSeconds: number }): string
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

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (!header) return undefined
  const [kind, token] = header.split(' ')
  return kind?.toLowerCase() === 'bearer' && token ? token : undefined
}

/** Parses `--ttl`-style durations: 90, 90s, 15m, 1h, 7d. */
export function parseTtl(value: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(value.trim())
  if (!match) throw new Error(`Invalid ttl ${JSON.stringify(value)}: expected a number with s, m, h or d, e.g. 1h`)
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as '' | 's' | 'm' | 'h' | 'd']
  return Number(match[1]) * unit
}

export const authPlugin = fp(
  async (app: FastifyInstance, opts: { secret: string }) => {
    await app.register(fastifyJwt, {
      secret: opts.secret,
      sign: { algorithm: 'HS256' },
      verify: { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] }
    })

    function verify(token: string | undefined): Principal {
      if (!token) throw errors.unauthorized()
      let claims: Claims
      try {
        claims = app.jwt.verify<Claims>(token)
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'FAST_JWT_EXPIRED') throw errors.tokenExpired()
        throw errors.unauthorized('The token is not valid')
      }
      if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number') throw errors.unauthorized('The token is not valid')
      const scopes = new Set(typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [])
      return { sub: claims.sub, scopes, expiresAt: claims.exp * 1000 }
    }

    app.decorate('auth', {
      verify,
      sign({ sub, scopes, ttlSeconds }) {
        return app.jwt.sign({ sub, scope: scopes.join(' '), exp: Math.floor(Date.now() / 1000) + ttlSeconds })
      },
      requireScope(scope: Scope): preHandlerAsyncHookHandler {
        return async function checkScope(request) {
          const principal = request.principal ?? verify(bearerToken(request))
          request.principal = principal
          if (!hasScope(principal, scope)) throw errors.forbidden(scope)
        }
      }
    })
  },
  { name: 'helix-auth' }
)
