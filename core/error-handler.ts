// Every failure leaves as {"error","message"}: the one error handler, the not-found handler, the
// framework's own errors (bad URLs, overlong parameters), Node's HTTP parser errors (414, 431, bad
// chunking) and plain HTTP requests to WebSocket routes (426).
import { maxHeaderSize, STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify'
import { isRefusedValue, unavailableDependency, type Dependency } from './dependency-errors.js'
import { HelixError, errors } from './errors.js'

type Validation = NonNullable<FastifyError['validation']>[number]

const CONTEXT_NAMES: Record<string, string> = { querystring: 'query', params: 'path', body: 'body', headers: 'header' }

/** Ajv's first issue as one sentence that names the property: `Unknown query parameter "foo"`, `body/name must be string`. */
function describeValidation(context: string | undefined, issue: Validation | undefined): string {
  const where = CONTEXT_NAMES[context ?? ''] ?? context ?? 'request'
  if (!issue) return `The ${where} is invalid`
  const unknown = issue.keyword === 'additionalProperties' ? (issue.params as { additionalProperty?: string }).additionalProperty : undefined
  if (unknown !== undefined) {
    return context === 'querystring'
      ? `Unknown query parameter ${JSON.stringify(unknown)}`
      : `Unknown property ${JSON.stringify(unknown)} in ${where}${issue.instancePath}`
  }
  return `${where}${issue.instancePath} ${issue.message ?? 'is invalid'}`
}

const DEPENDENCY_NAMES: Record<Dependency, string> = { database: 'The database', Redis: 'Redis', service: 'A service Helix needs' }

/** Fastify's, Node's and the drivers' errors, mapped to Helix codes. */
function translate(err: FastifyError): HelixError {
  if (err instanceof HelixError) return err
  if (err.validation) {
    return errors.validation(describeValidation(err.validationContext, err.validation[0]), {
      issues: err.validation.map((v) => ({ path: v.instancePath, message: v.message }))
    })
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType(err.message)
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(err.message)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return errors.invalidJson(err.message)
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return errors.badRequest(err.message)
    case 'FST_ERR_BAD_URL':
      return errors.badRequest('The URL is not valid: a percent-encoded part is malformed')
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return errors.uriTooLong('A path parameter of the URL is too long')
  }
  // A dependency down is the client's cue to retry, never a 500; a value the database refused is the client's.
  const dependency = unavailableDependency(err)
  if (dependency) return errors.unavailable(`${DEPENDENCY_NAMES[dependency]} is unavailable; retry shortly`, 5)
  if (isRefusedValue(err)) return errors.validation('A value in the request is malformed or out of range')
  // JSON.parse and secure-json-parse (`__proto__`, `constructor.prototype`) throw SyntaxErrors.
  if (err instanceof SyntaxError || err.statusCode === 400) return errors.invalidJson(err.message)
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new HelixError(err.statusCode, (err.code ?? STATUS_CODES[err.statusCode] ?? 'bad_request').toLowerCase().replace(/\W+/g, '_'), err.message)
  }
  if (err.statusCode === 503) return errors.unavailable(err.message)
  return errors.internal()
}

function send(err: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  const helixError = translate(err)
  if (helixError.code === 'internal_error') {
    request.log.error({ err }, 'request failed')
  } else if (helixError !== err && !err.validation && !err.code?.startsWith('FST_')) {
    // A driver's error answered as a dependency outage or a refused value: keep its own words in the log.
    request.log.warn({ code: helixError.code, status: helixError.statusCode, err: { message: err.message, code: err.code } }, helixError.message)
  } else {
    request.log.info({ code: helixError.code, status: helixError.statusCode }, helixError.message)
  }
  if (helixError.headers) reply.headers(helixError.headers)
  return reply
    .code(helixError.statusCode)
    .type('application/json; charset=utf-8')
    .send({ error: helixError.code, message: helixError.message, ...helixError.details })
}

/** Fastify's `frameworkErrors`: a malformed URL or an overlong parameter, before any route runs. */
export const frameworkErrors: NonNullable<FastifyServerOptions['frameworkErrors']> = (err, request, reply) => {
  void send(err as FastifyError, request, reply)
}

/**
 * Node's parser reports one overflow for the request line and the headers together (431). When the
 * request line takes most of the limit, the URL is what is too long: 414.
 */
function requestLineTooLong(packet: unknown): boolean {
  if (!Buffer.isBuffer(packet) || !/^[A-Z]+ /.test(packet.subarray(0, 16).toString('latin1'))) return false
  const lineEnd = packet.indexOf('\r\n')
  return (lineEnd === -1 ? packet.length : lineEnd) > maxHeaderSize / 2
}

/** Errors of Node's HTTP parser, before Fastify sees a request: answered in the same shape, then the socket is closed. */
export function clientErrorHandler(err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  let helixError: HelixError
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') helixError = errors.requestTimeout()
  else if (err.code === 'HPE_HEADER_OVERFLOW') helixError = requestLineTooLong(err.rawPacket) ? errors.uriTooLong('The URL is too long') : errors.headersTooLarge()
  else helixError = errors.badRequest('The request is not valid HTTP/1.1')
  const body = JSON.stringify({ error: helixError.code, message: helixError.message })
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${helixError.statusCode} ${STATUS_CODES[helixError.statusCode]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
  }
  socket.destroy()
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => send(err, request, reply))
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ error: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` })
  })
  // @fastify/websocket answers a plain GET to a WebSocket route with an empty 404; its documented
  // `handler` + `wsHandler` form lets the plain request get a 426 in the documented shape instead.
  app.addHook('onRoute', (route) => {
    // @fastify/websocket's own fields, typed by it for WebSocket handlers only.
    const options = route as unknown as { websocket?: boolean; wsHandler?: unknown }
    if (!options.websocket || options.wsHandler) return
    options.wsHandler = route.handler
    options.websocket = false
    // As @fastify/websocket does for its own form: the upgrade is not an OpenAPI operation.
    route.schema = { ...route.schema, hide: true }
    route.handler = async () => {
      throw errors.upgradeRequired()
    }
  })
  // Requests that arrive on a kept-alive connection while the server closes: the same shape as any
  // 503 (Fastify's return503OnClosing would answer its own body), and the connection is not kept.
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done()
    reply.header('connection', 'close')
    done(errors.unavailable('This replica is shutting down; retry shortly'))
  })
}
