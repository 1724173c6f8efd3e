// Hands one message to the local handlers of its channel, for both buses. Client-published events
// reach only handlers that asked for them; a handler that throws, or a message that is not JSON,
// is logged and never escapes into the bus's connection or batch.
import type { Logger } from 'pino'
import { isClientSource } from './client-policy.js'
import type { BusEvent, BusHandler, InternalEvent, InternalHandler } from './types.js'

/** Each handler of a channel, with whether it takes client-published events. */
export type Handlers = Map<BusHandler, boolean>

export function dispatchEvent(handlers: Handlers, channel: string, raw: string, log: Logger): void {
  const event = parse<BusEvent>(raw, channel, log)
  if (!event) return
  const fromClient = isClientSource(event.source)
  for (const [handler, clientEvents] of handlers) {
    if (fromClient && !clientEvents) continue
    try {
      handler(event, raw)
    } catch (err) {
      log.error({ err, channel }, 'bus handler threw')
    }
  }
}

export function dispatchInternal(handlers: Set<InternalHandler>, channel: string, raw: string, log: Logger): void {
  const event = parse<InternalEvent>(raw, channel, log)
  if (!event) return
  for (const handler of handlers) {
    try {
      handler(event)
    } catch (err) {
      log.error({ err, channel }, 'internal bus handler threw')
    }
  }
}

function parse<T>(raw: string, channel: string, log: Logger): T | null {
  try {
    return JSON.parse(raw) as T
  } catch (err) {
    log.error({ err, channel }, 'bus message is not JSON; dropped')
    return null
  }
}
