// Prometheus metrics: a registry per app (plugins add to `app.metrics`), process metrics, the HTTP
// request duration histogram, and GET /metrics (optionally behind HELIX_METRICS_TOKEN).
import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client'
import { bearerToken } from './auth/index.js'
import { errors } from './errors.js'

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Registry
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest()

/** Constant-time comparison of two secrets of any length. */
export function secretEquals(given: string | undefined, expected: string): boolean {
  return given !== undefined && timingSafeEqual(digest(given), digest(expected))
}

export const metricsPlugin = fp(
  async (app: FastifyInstance, opts: { registry: Registry; token: string | null }) => {
    const registry = opts.registry
    collectDefaultMetrics({ register: registry })
    const duration = new Histogram({
      name: 'helix_http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry]
    })
    app.decorate('metrics', registry)

    app.addHook('onResponse', async (request, reply) => {
      duration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
        reply.elapsedTime / 1000
      )
    })

    app.get('/metrics', { logLevel: 'warn', schema: { hide: true } }, async (request, reply) => {
      if (opts.token && !secretEquals(bearerToken(request), opts.token)) throw errors.unauthorized('The metrics token is required')
      return reply.type(registry.contentType).send(await registry.metrics())
    })
  },
  { name: 'helix-metrics' }
)
