// Service errors as the short sentence a Discord member reads (never "This interaction failed"): the
// callee's status and message, in words, without internals.
import { HelixError } from '../../core/errors.js'

/** A mistake the member can fix (bad JSON in `args`), said before any service is called. */
export class BotInputError extends Error {
  override name = 'BotInputError'
}

export function friendlyMessage(err: unknown, service = 'Helix'): string {
  if (err instanceof BotInputError) return err.message
  if (err instanceof HelixError) {
    const retry = err.headers?.['retry-after']
    switch (true) {
      case err.statusCode === 404:
        return `Not found: ${err.message}.`
      case err.statusCode === 400 || err.statusCode === 409 || err.statusCode === 422:
        return `That did not work: ${err.message}.`
      case err.statusCode === 429:
        return `Too many requests right now${retry ? `; try again in ${retry} s` : ''}.`
      case err.statusCode === 401 || err.statusCode === 403:
        return 'The bot is not allowed to do that (check its service token scopes).'
      case err.statusCode === 503 || err.statusCode === 502 || err.statusCode === 504:
        return `The ${service} service is unavailable right now; try again in a moment.`
      default:
        return `Something went wrong on Helix's side (${err.code}); try again later.`
    }
  }
  return 'Something went wrong on Helix\'s side; try again later.'
}
