// The FlagSource port: synchronous reads (a map lookup on the hot path), change notification,
// and a bounded wait for the first values.
import type { FlagName } from './names.js'

export interface FlagContext {
  properties?: Record<string, string>
}

export type FlagOrigin = 'override' | 'unleash' | 'bootstrap' | 'env' | 'default'

export interface FlagState {
  name: string
  enabled: boolean
  source: FlagOrigin
}

export interface FlagSource {
  isEnabled(name: FlagName, context?: FlagContext): boolean
  /** Called with the names whose effective value changed. Returns an unsubscribe function. */
  onChange(listener: (changed: FlagName[]) => void): () => void
  /** Resolves true once values are known, false if `timeoutMs` passed first (defaults still apply). */
  ready(timeoutMs: number): Promise<boolean>
  isReady(): boolean
  close(): Promise<void>
}
