// Verifying an inbound webhook's signature over its raw bytes (DESIGN section 11): Standard Webhooks
// (`webhook-id`, `webhook-timestamp`, `webhook-signature`) and `X-Zapier-Signature` (hex HMAC-SHA256 of
// the body). Every configured secret is tried against every signature sent, so keys rotate without a gap.
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { errors } from '../../core/errors.js'
import type { Source } from './sources.js'

/** Standard Webhooks' replay window: a timestamp further than this from now is refused. */
export const TOLERANCE_SECONDS = 5 * 60

export interface Verified {
  /** The sender's id of the event (`webhook-id`, or `Idempotency-Key` for the Zapier scheme); null if it sent none. */
  externalId: string | null
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return typeof value === 'string' && value.length > 0 ? value : undefined
}

function anyEqual(candidates: Buffer[], expected: Buffer[]): boolean {
  let found = false
  // Every pair is compared, so the time taken does not tell which secret or signature matched.
  for (const candidate of candidates) {
    for (const e of expected) if (candidate.length === e.length && timingSafeEqual(candidate, e)) found = true
  }
  return found
}

function verifyStandard(source: Source, headers: IncomingHttpHeaders, body: Buffer, nowMs: number): Verified {
  const id = header(headers, 'webhook-id')
  const timestamp = header(headers, 'webhook-timestamp')
  const signature = header(headers, 'webhook-signature')
  if (!id || !timestamp || !signature) throw errors.unauthorized('webhook-id, webhook-timestamp and webhook-signature are required')
  if (!/^\d{1,12}$/.test(timestamp)) throw errors.unauthorized('webhook-timestamp must be whole seconds since the epoch')
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) {
    throw errors.unauthorized(`webhook-timestamp is more than ${TOLERANCE_SECONDS / 60} minutes from now (seconds, not milliseconds)`)
  }
  if (id.length > 200) throw errors.unauthorized('webhook-id is longer than 200 characters')
  const signed = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), body])
  const expected = source.keys.map((key) => createHmac('sha256', key).update(signed).digest())
  const given = signature.split(' ').flatMap((part) => {
    const [version, value] = part.split(',', 2)
    return version === 'v1' && value ? [Buffer.from(value, 'base64')] : []
  })
  if (!anyEqual(given, expected)) throw errors.unauthorized('The webhook signature does not match')
  return { externalId: id }
}

function verifyZapier(source: Source, headers: IncomingHttpHeaders, body: Buffer): Verified {
  const signature = header(headers, 'x-zapier-signature')
  if (!signature) throw errors.unauthorized('X-Zapier-Signature is required')
  const expected = source.keys.map((key) => createHmac('sha256', key).update(body).digest())
  const given = signature.split(/[\s,]+/).filter((s) => /^(sha256=)?[0-9a-fA-F]{64}$/.test(s)).map((s) => Buffer.from(s.replace(/^sha256=/, ''), 'hex'))
  if (!anyEqual(given, expected)) throw errors.unauthorized('The webhook signature does not match')
  const key = header(headers, 'idempotency-key')
  return { externalId: key && key.length <= 200 ? key : null }
}

/** Throws a 401 HelixError unless `body` carries a valid signature of `source`. */
export function verifySignature(source: Source, headers: IncomingHttpHeaders, body: Buffer, nowMs: number): Verified {
  return source.scheme === 'standard' ? verifyStandard(source, headers, body, nowMs) : verifyZapier(source, headers, body)
}

/** Signs an outbound delivery the Standard Webhooks way: the `webhook-signature` header value. */
export function signStandard(key: Buffer, id: string, timestampSeconds: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`
}
