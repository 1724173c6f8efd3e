// POST /api/zapier/hooks/:source (DESIGN section 11): the raw body is read (up to
// HELIX_WEBHOOK_MAX_BYTES, 413 past it before the rest is read), its signature verified over those
// bytes, then parsed and checked, stored and queued: 202, or 200 for an id already received.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { FastifyRequest } from 'fastify'
import { Value } from 'typebox/value'
import type { Clock } from '../../../core/clock.js'
import { errors } from '../../../core/errors.js'
import { nulPath } from '../../../core/input-guard.js'
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../../core/json-depth.js'
import type { RouteRateLimit } from '../../../core/rate-limit.js'
import type { Inbox } from '../inbox.js'
import * as S from '../schemas.js'
import { verifySignature } from '../signatures.js'
import type { Source } from '../sources.js'
import type { ZapierSignals } from '../zapier-events.js'

export interface HookRouteOptions {
  sources: ReadonlyMap<string, Source>
  inbox: Inbox
  signals: ZapierSignals
  clock: Clock
  maxBytes: number
  rateLimit: (sourceOf: (request: FastifyRequest) => string) => RouteRateLimit
}

const tags = ['zapier']
const sourceOf = (request: FastifyRequest) => (request.params as { source?: string }).source ?? ''

export const hookRoutes: FastifyPluginAsyncTypebox<HookRouteOptions> = async (app, { sources, inbox, signals, clock, maxBytes, rateLimit }) => {
  // This scope reads JSON as raw bytes (the signature covers them), and nothing else: any other type is 415.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: maxBytes }, (_request, body, done) => done(null, body))
  const parseJson = app.getDefaultJsonParser('error', 'error')

  function parse(request: FastifyRequest, text: string): unknown {
    if (exceedsJsonDepth(text)) throw errors.tooDeep(MAX_JSON_DEPTH)
    let value: unknown
    let failure: Error | null = null
    // Fastify's own parser (secure-json-parse): `__proto__` and `constructor.prototype` keys are refused.
    parseJson(request, text, (err, parsed) => {
      failure = err
      value = parsed
    })
    if (failure) throw errors.invalidJson(`The body is not valid JSON: ${(failure as Error).message}`)
    const nul = text.includes('\\u0000') ? nulPath(value) : null
    if (nul !== null) throw errors.invalidCharacter(`body${nul}`)
    return value
  }

  app.post('/api/zapier/hooks/:source', {
    bodyLimit: maxBytes,
    config: { rateLimit: rateLimit(sourceOf) },
    onResponse: async (_request, reply) => signals.answeredEarly(reply.statusCode),
    onRequest: async (request) => {
      if (!sources.has(sourceOf(request))) {
        signals.inbound.inc({ outcome: 'unknown_source' })
        throw errors.notFound(`Webhook source ${JSON.stringify(sourceOf(request))}`)
      }
    },
    schema: {
      tags,
      summary: 'Receive a signed webhook: {"type","data"} as application/json, Standard Webhooks or X-Zapier-Signature',
      security: [],
      params: S.HookParams,
      response: { 202: S.Queued, 200: S.Duplicate, 400: S.ErrorBody, 401: S.ErrorBody, 404: S.ErrorBody, 413: S.ErrorBody, 415: S.ErrorBody, 429: S.ErrorBody, 503: S.ErrorBody }
    }
  }, async (request, reply) => {
    const source = sources.get(request.params.source)!
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0)
    let verified
    try {
      verified = verifySignature(source, request.headers, raw, clock.now())
    } catch (err) {
      signals.inbound.inc({ outcome: 'unauthorized' })
      throw err
    }
    let body: unknown
    try {
      if (raw.length === 0) throw errors.invalidJson('The body is empty; expected {"type","data"}')
      body = parse(request, raw.toString('utf8'))
      if (!Value.Check(S.InboundBody, body)) throw errors.validation('The body must be {"type":"<event type>","data":{...}}')
      const { type, data = {} } = body
      const schema = Object.hasOwn(S.DATA_SCHEMAS, type) ? S.DATA_SCHEMAS[type as keyof typeof S.DATA_SCHEMAS] : null
      if (schema && !Value.Check(schema, data)) {
        const [first] = Value.Errors(schema, data)
        throw errors.validation(`data${first?.instancePath ?? ''} ${first?.message ?? 'is invalid'} (a ${type} event)`)
      }
    } catch (err) {
      signals.inbound.inc({ outcome: 'invalid' })
      throw err
    }
    const { type, data = {} } = body
    const intake = await inbox.take({ source: source.name, externalId: verified.externalId, type, data })
    if (intake.status === 'duplicate') return reply.code(200).send(intake)
    return reply.code(202).send(intake)
  })
}
