// How the fake answers each method, scripted per test: normally, with a gRPC error (a number of
// times, then normally again), or never.
import { status } from '@grpc/grpc-js'

export type FakeMethod = 'Recognize' | 'StreamingRecognize' | 'SynthesizeSpeech' | 'ListVoices'

export type Behaviour =
  | 'ok'
  /** Accepts the call and never answers: the client's deadline has to end it. */
  | 'hang'
  /** Fails with `code`, `times` times (every time when omitted), then answers normally. */
  | { code: status; times?: number; message?: string }

export type Decision = { kind: 'ok' } | { kind: 'hang' } | { kind: 'fail'; code: status; message: string }

/** A gRPC status the fake answers with, thrown by the service code. */
export class RpcStatusError extends Error {
  constructor(readonly code: status, message: string) {
    super(message)
  }
}

export const invalidArgument = (message: string) => new RpcStatusError(status.INVALID_ARGUMENT, message)

export interface Script {
  set(method: FakeMethod, behaviour: Behaviour | ((callNumber: number) => Behaviour)): void
  /** The decision for the next call of `method`, counting it. */
  next(method: FakeMethod): Decision
}

export function createScript(): Script {
  const scripted = new Map<FakeMethod, { behaviour: Behaviour | ((n: number) => Behaviour); failed: number }>()
  const calls = new Map<FakeMethod, number>()
  return {
    set(method, behaviour) {
      scripted.set(method, { behaviour, failed: 0 })
    },
    next(method) {
      const n = (calls.get(method) ?? 0) + 1
      calls.set(method, n)
      const entry = scripted.get(method)
      if (!entry) return { kind: 'ok' }
      const behaviour = typeof entry.behaviour === 'function' ? entry.behaviour(n) : entry.behaviour
      if (behaviour === 'ok') return { kind: 'ok' }
      if (behaviour === 'hang') return { kind: 'hang' }
      if (behaviour.times !== undefined && entry.failed >= behaviour.times) return { kind: 'ok' }
      entry.failed++
      return { kind: 'fail', code: behaviour.code, message: behaviour.message ?? `scripted ${status[behaviour.code]} from the fake` }
    }
  }
}
