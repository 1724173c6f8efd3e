// The UCF model as the page shows it (DESIGN section 9): the six metrics, their scales and the band
// each is healthiest in, and the phases by harmony with their colours.

export type MetricName = 'harmony' | 'resilience' | 'prana' | 'drishti' | 'klesha' | 'zoom'

export interface MetricSpec {
  name: MetricName
  label: string
  hint: string
  /** Gauge scale; unbounded metrics get a scale wide enough for every ritual's effect. */
  min: number
  max: number
  /** The optimal band drawn on the gauge. */
  band: [number, number]
  lowerIsBetter?: boolean
}

export const METRICS: readonly MetricSpec[] = [
  { name: 'harmony', label: 'Harmony', hint: 'Coherence of the collective; sets the phase', min: 0, max: 1, band: [0.6, 1] },
  { name: 'resilience', label: 'Resilience', hint: 'Capacity to recover', min: 0, max: 3, band: [1, 2] },
  { name: 'prana', label: 'Prana', hint: 'Life energy', min: 0, max: 1, band: [0.5, 0.85] },
  { name: 'drishti', label: 'Drishti', hint: 'Clarity of focus', min: 0, max: 1, band: [0.5, 0.85] },
  { name: 'klesha', label: 'Klesha', hint: 'Affliction; lower is better', min: 0, max: 1, band: [0, 0.1], lowerIsBetter: true },
  { name: 'zoom', label: 'Zoom', hint: 'Scope of perception', min: 0, max: 2, band: [0.9, 1.3] }
]

export type Phase = 'CRITICAL' | 'UNSTABLE' | 'COHERENT' | 'HARMONIOUS' | 'TRANSCENDENT'

export const PHASES: readonly { phase: Phase; from: number; colour: string }[] = [
  { phase: 'CRITICAL', from: 0, colour: '#ff5d6c' },
  { phase: 'UNSTABLE', from: 0.3, colour: '#ffa94d' },
  { phase: 'COHERENT', from: 0.45, colour: '#ffe066' },
  { phase: 'HARMONIOUS', from: 0.6, colour: '#51e5a0' },
  { phase: 'TRANSCENDENT', from: 0.8, colour: '#b197fc' }
]

export function phaseColour(phase: string): string {
  return PHASES.find((p) => p.phase === phase)?.colour ?? '#8da2c0'
}

export interface UcfState {
  metrics: Record<MetricName, number>
  phase: Phase
  consciousnessLevel: number
  updatedAt: string
}

/** A point of the hour-long chart: seconds since the epoch and the six values. */
export interface UcfSample {
  t: number
  metrics: Record<MetricName, number>
}

/** Accepts the state as GET /api/ucf answers it or as a ucf.updated event carries it. */
export function readState(value: any): UcfState | null {
  const state = value?.metrics ? value : value?.state
  if (!state?.metrics || typeof state.metrics.harmony !== 'number') return null
  return state as UcfState
}

/** GET /api/ucf/history: a list of states or snapshots, in `items` or bare, oldest or newest first. */
export function readHistory(body: any): UcfSample[] {
  const items: any[] = Array.isArray(body) ? body : (body?.items ?? body?.history ?? [])
  const samples: UcfSample[] = []
  for (const item of items) {
    const state = readState(item)
    const when = item?.ts ?? item?.at ?? item?.recordedAt ?? item?.createdAt ?? state?.updatedAt
    const t = typeof when === 'number' ? when / 1000 : Date.parse(when) / 1000
    if (state && Number.isFinite(t)) samples.push({ t, metrics: state.metrics })
  }
  return samples.sort((a, b) => a.t - b.t)
}
