// Why the bus refused one publish or history read: the caller's input, not an outage (an outage
// rejects with the connection's own error). Transports turn each code into their own answer.
export type RefusalCode = 'forbidden' | 'subchannel_limit' | 'unserializable'

export class BusRefusal extends Error {
  override name = 'BusRefusal'
  constructor(
    readonly code: RefusalCode,
    message: string
  ) {
    super(message)
  }
}

/**
 * The event data as JSON. What JSON.stringify throws (a cycle, a BigInt, nesting deeper than the
 * stack) refuses this one publish instead of escaping from a batch or an event handler; a value JSON
 * has no text for (a function) is `null`, as inside an object.
 */
export function serialiseData(data: unknown): string {
  try {
    return JSON.stringify(data ?? null) ?? 'null'
  } catch (err) {
    throw new BusRefusal('unserializable', `The event data cannot be serialised as JSON: ${(err as Error).message}`)
  }
}
