// The one error handler and the not-found handler: every failure leaves as {"error","message"}.
import type { FastifyError, FastifyInstance } from 'fastify'
import { HelixError, errors } from './errors.js'

/** Fastify's own errors, mapped to Helix codes. */
function translate(err: FastifyError): HelixError {
  if (err instanceof HelixError) return err
  if (err.validation) {
    return errors.validation(`${err.validationContext ?? 'request'} ${err.validation[0]?.instancePath || ''} ${err.validation[0]?.message ?? 'is invalid'}`.replace(/\s+/g, ' ').trim(), {
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
  }
  // JSON.parse and secure-json-parse (`__proto__`, `constructor.prototype`) throw SyntaxErrors.
  if (err instanceof SyntaxError || err.statusCode === 400) return errors.invalidJson(err.message)
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
    return new HelixError(err.statusCode, err.code?.toLowerCase() ?? 'bad_request', err.message)
  }
  if (err.statusCode === 503) return errors.unavailable(err.message)
  return errors.internal()
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const helixError = translate(err)
    if (helixError.statusCode >= 500 && helixError.code === 'internal_error') {
      request.log.error({ err }, 'request failed')
    } else {
      request.log.info({ code: helixError.code, status: helixError.statusCode }, helixError.message)
    }
    if (helixError.headers) reply.headers(helixError.headers)
    return reply
      .code(helixError.statusCode)
      .type('application/json; charset=utf-8')
      .send({ error: helixError.code, message: helixError.message, ...helixError.details })
  })
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send({ error: 'not_found', message: `Route ${request.method} ${request.url.split('?')[0]} not found` })
  })
}
