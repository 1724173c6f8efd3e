// The IPC messages between the stream benchmark's orchestrator and its worker processes.
export type ServerKind = 'helix' | 'socketio'

/** hot: every client on `ucf`; spread: 5 of 1,000 channels each (10 subscribers per channel); idle: none. */
export type Layout = 'hot' | 'spread' | 'idle'

export type ToClients =
  | { cmd: 'connect'; kind: ServerKind; url: string; token: string; count: number; first: number; layout: Layout; concurrency: number }
  | { cmd: 'reset' }
  | { cmd: 'report' }
  | { cmd: 'disconnect' }

export type FromClients =
  | { evt: 'connected'; connected: number; failed: number; ms: number }
  | { evt: 'report'; received: number; lastAt: number; histogram: string; closes: Record<string, number> }
  | { evt: 'disconnected' }

export interface PublishJob {
  kind: ServerKind
  url: string
  token: string
  /** Events per second, spread evenly; each carries its scheduled send time. */
  rate: number
  durationMs: number
  channels: string[]
  /** Size of the event's padding, so the envelope is about 200 bytes. */
  padBytes: number
}

export type FromPublisher = { evt: 'published'; sent: number; startedAt: number; errors: number }

export const SPREAD_CHANNELS = 1000
export const SPREAD_PER_CLIENT = 5

export function channelsFor(layout: Layout, index: number): string[] {
  if (layout === 'idle') return []
  if (layout === 'hot') return ['ucf']
  return Array.from({ length: SPREAD_PER_CLIENT }, (_, j) => `agents:c${(index * SPREAD_PER_CLIENT + j) % SPREAD_CHANNELS}`)
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now()
}
