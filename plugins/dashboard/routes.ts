// Static files of the dashboard bundle, served precompressed (brotli/gzip written by build.mjs).
// Hashed assets are cached for a year; the page itself is revalidated so a deploy shows at once.
import { existsSync } from 'node:fs'
import path from 'node:path'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'
import type { Logger } from 'pino'
import { Type } from 'typebox'
import { fromRoot } from '../../core/paths.js'
import { errors } from '../../core/errors.js'

export const PUBLIC_DIR = fromRoot('plugins/dashboard/public')

/** The start-up log's admin link opens the page with `?token=`; the page keeps it and drops it from the URL. */
const PageQuery = Type.Object({ token: Type.Optional(Type.String({ description: 'Access token to sign the page in with' })) })

/**
 * The stream may live on another origin in a split deployment (discovery), so connect-src allows
 * any http(s)/ws(s) URL; everything else is this origin only.
 */
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "connect-src 'self' http: https: ws: wss:",
  "img-src 'self' data:",
  // The voice panel plays synthesized speech from a blob: URL.
  "media-src 'self' blob:",
  "style-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'"
].join('; ')

export function dashboardRoutes(log: Logger): FastifyPluginAsync {
  return async function routes(app) {
    if (!existsSync(path.join(PUBLIC_DIR, 'index.html'))) {
      log.warn({ dir: PUBLIC_DIR }, 'dashboard bundle missing: run `npm run build` to serve the page at /')
      app.get('/', {
        schema: { hide: true, querystring: PageQuery, response: { 503: Type.Object({ error: Type.String(), message: Type.String() }) } }
      }, async () => {
        throw errors.unavailable('The dashboard is not built: run `npm run build`', 60)
      })
      return
    }
    await app.register(fastifyStatic, {
      root: PUBLIC_DIR,
      prefix: '/',
      wildcard: false,
      // The .br/.gz siblings are served through preCompressed, never as routes of their own.
      globIgnore: ['**/*.br', '**/*.gz'],
      // The page at `/` is routed below: the index lookup misses the precompressed copies.
      index: false,
      preCompressed: true,
      cacheControl: false,
      schemaHide: true,
      setHeaders(reply, filePath) {
        const page = /\.html(\.br|\.gz)?$/.test(filePath)
        reply.header('cache-control', page ? 'no-cache' : 'public, max-age=31536000, immutable')
        if (page) {
          reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
          reply.header('referrer-policy', 'no-referrer')
          reply.header('x-content-type-options', 'nosniff')
        }
      }
    })
    app.get('/', { schema: { hide: true, querystring: PageQuery } }, (_request, reply) => reply.sendFile('index.html'))
  }
}
