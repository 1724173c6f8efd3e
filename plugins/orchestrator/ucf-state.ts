// The UCF's arithmetic: the six metrics, their bounds, phase and consciousness level, and a stored
// row as a state. Pure; shared by the service (ucf-service.ts) and the outbox (a stored `ucf.updated`).
import type { Row } from './sql.js'
import type { UcfMetrics, UcfState } from './types.js'

export const METRICS = ['harmony', 'resilience', 'prana', 'drishti', 'klesha', 'zoom'] as const satisfies readonly (keyof UcfMetrics)[]
export type Metric = (typeof METRICS)[number]
export type Deltas = Partial<UcfMetrics>

export const UCF_DEFAULTS: UcfMetrics = { harmony: 0.355, resilience: 1.1191, prana: 0.5175, drishti: 0.5023, klesha: 0.01, zoom: 1.0228 }

/** Upper bound per metric (null: unbounded); every metric is at least 0. */
export const UPPER: Record<Metric, number | null> = { harmony: 1, resilience: null, prana: 1, drishti: 1, klesha: 1, zoom: null }

export type Phase = UcfState['phase']

export const HARMONY_CRITICAL = 0.3
export const KLESHA_HIGH = 0.5

export function phaseOf(harmony: number): Phase {
  if (harmony < 0.3) return 'CRITICAL'
  if (harmony < 0.45) return 'UNSTABLE'
  if (harmony < 0.6) return 'COHERENT'
  if (harmony < 0.8) return 'HARMONIOUS'
  return 'TRANSCENDENT'
}

export function consciousnessLevel(m: UcfMetrics): number {
  const raw = ((1.5 * m.harmony + m.resilience + 1.2 * m.prana + 1.2 * m.drishti + 1.5 * (1 - m.klesha) + m.zoom) / 7.4) * 10
  return Math.round(Math.min(10, Math.max(0, raw)) * 100) / 100
}

/** Rounds away float noise so sums of deltas compare exactly. */
const round = (v: number) => Math.round(v * 1e9) / 1e9

export function applyDeltas(m: UcfMetrics, d: Deltas): UcfMetrics {
  const next = { ...m }
  for (const k of METRICS) {
    const upper = UPPER[k]
    const v = Math.max(0, m[k] + (d[k] ?? 0))
    next[k] = round(upper === null ? v : Math.min(upper, v))
  }
  return next
}

export function stateOf(m: UcfMetrics, updatedAt: number): UcfState {
  return { metrics: m, phase: phaseOf(m.harmony), consciousnessLevel: consciousnessLevel(m), updatedAt: new Date(updatedAt).toISOString() }
}

export const metricsOf = (r: Row): UcfMetrics => Object.fromEntries(METRICS.map((k) => [k, Number(r[k])])) as UcfMetrics

/**
 * A stored `ucf.updated` as its event data: PostgreSQL stores the history row with its deltas
 * (ucf-service.ts makes the change in one statement), SQLite the event itself.
 */
export function ucfUpdatedFromRow(r: Row): unknown {
  if ('metrics' in r) return r
  return { ...stateOf(metricsOf(r), Number(r.at)), cause: r.cause, deltas: r.deltas }
}
