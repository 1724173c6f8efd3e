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
  tooDeep: (max: number) => new HelixError(400, 'too_deep', `The body nests arrays and objects deeper than ${max} levels`, { maxDepth: max }),
  /** `where`: `the URL path`, `query parameter "name"`, or a place in the body (`body/name`). */
  invalidCharacter: (where: string) =>
    new HelixError(400, 'invalid_character', `${where[0]!.toUpperCase()}${where.slice(1)} contains a NUL character (\\u0000), which is not allowed`, { where }),
  unauthorized: (message = 'A valid bearer token is required') => new HelixError(401, 'unauthorized', message),
  tokenExpired: () => new HelixError(401, 'token_expired', 'The token has expired'),
  tokenRevoked: () => new HelixError(401, 'token_revoked', 'The token has been revoked'),
  forbidden: (scope: string) => new HelixError(403, 'forbidden', `This action needs the scope "${scope}"`, { scope }),
  forbiddenMessage: (message: string) => new HelixError(403, 'forbidden', message),
  notFound: (what: string) => new HelixError(404, 'not_found', `${what} not found`),
  requestTimeout: () => new HelixError(408, 'request_timeout', 'The request was not received in time'),
  conflict: (message: string, details?: Record<string, unknown>) => new HelixError(409, 'conflict', message, details),
  preconditionFailed: (message: string, details?: Record<string, unknown>) => new HelixError(412, 'precondition_failed', message, details),
  payloadTooLarge: (message: string) => new HelixError(413, 'payload_too_large', message),
  uriTooLong: (message: string) => new HelixError(414, 'uri_too_long', message),
  unsupportedMediaType: (message: string) => new HelixError(415, 'unsupported_media_type', message),
  unprocessable: (message: string, details?: Record<string, unknown>) => new HelixError(422, 'unprocessable', message, details),
  subchannelLimit: (message: string) => new HelixError(422, 'subchannel_limit', message),
  idempotencyKeyReused: () => new HelixError(422, 'idempotency_key_reused', 'This Idempotency-Key was used with another request body; use a new key for a new request'),
  upgradeRequired: () =>
    new HelixError(426, 'upgrade_required', 'This URL is a WebSocket endpoint: connect with Upgrade: websocket', undefined, { upgrade: 'websocket' }),
  tooManyRequests: (message: string, retryAfterSeconds: number) =>
    new HelixError(429, 'too_many_requests', message, undefined, { 'retry-after': String(retryAfterSeconds) }),
  headersTooLarge: () => new HelixError(431, 'headers_too_large', 'The request headers are too large'),
  notOwner: (plugin: string, owner: string | null) =>
    new HelixError(503, 'not_owner', `This service does not own the ${plugin} plugin right now`, { plugin, owner }, { 'retry-after': '1' }),
  unavailable: (message: string, retryAfterSeconds = 1) =>
    new HelixError(503, 'unavailable', message, undefined, { 'retry-after': String(retryAfterSeconds) }),
  internal: () => new HelixError(500, 'internal_error', 'Internal server error')
}

/**
 * A boot that cannot go on because something outside Helix is missing (the database, Redis, a
 * writable data directory). Its message is one line saying what and how to fix it; the process
 * prints it and exits 1.
 */
export class StartupError extends Error {
  override name = 'StartupError'
}
