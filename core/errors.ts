// Every error Helix answers with, declared once: an HTTP status and a machine code. Handlers throw
// these; core/error-handler.ts renders them as {"error":"<code>","message":"..."}.
export class HelixError extends Error {
  override name = 'HelixError'
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    /** Extra fields merged into the response body (e.g. the accepted commands, the owner). */
    readonly details?: Record<string, unknown>,
    /** Extra response headers (e.g. Retry-After). */
    readonly headers?: Record<string, string>
  ) {
    super(message)
  }
}

export const errors = {
  badRequest: (message: string, details?: Record<string, unknown>) => new HelixError(400, 'bad_request', message, details),
  validation: (message: string, details?: Record<string, unknown>) => new HelixError(400, 'validation_failed', message, details),
  invalidJson: (message: string) => new HelixError(400, 'invalid_json', message),
  unauthorized: (message = 'A valid bearer token is required') => new HelixError(401, 'unauthorized', message),
  tokenExpired: () => new HelixError(401, 'token_expired', 'The token has expired'),
  forbidden: (scope: string) => new HelixError(403, 'forbidden', `This action needs the scope "${scope}"`, { scope }),
  notFound: (what: string) => new HelixError(404, 'not_found', `${what} not found`),
  conflict: (message: string, details?: Record<string, unknown>) => new HelixError(409, 'conflict', message, details),
  preconditionFailed: (message: string, details?: Record<string, unknown>) => new HelixError(412, 'precondition_failed', message, details),
  payloadTooLarge: (message: string) => new HelixError(413, 'payload_too_large', message),
  unsupportedMediaType: (message: string) => new HelixError(415, 'unsupported_media_type', message),
  unprocessable: (message: string, details?: Record<string, unknown>) => new HelixError(422, 'unprocessable', message, details),
  tooManyRequests: (message: string, retryAfterSeconds: number) =>
    new HelixError(429, 'too_many_requests', message, undefined, { 'retry-after': String(retryAfterSeconds) }),
  notOwner: (plugin: string, owner: string | null) =>
    new HelixError(503, 'not_owner', `This service does not own the ${plugin} plugin right now`, { plugin, owner }, { 'retry-after': '1' }),
  unavailable: (message: string, retryAfterSeconds = 1) =>
    new HelixError(503, 'unavailable', message, undefined, { 'retry-after': String(retryAfterSeconds) }),
  internal: () => new HelixError(500, 'internal_error', 'Internal server error')
}
