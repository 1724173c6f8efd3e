// The six UCF gauges: an arc per metric with its optimal band, filled in the phase colour, plus
// the consciousness level and phase banner. Each gauge is an ARIA meter.
import { el, svg } from './dom.js'
import { METRICS, phaseColour, type MetricSpec, type UcfState } from './ucf.js'

const SWEEP = 240
const RADIUS = 42
const CX = 50
const CY = 52

function point(angle: number): [number, number] {
  const rad = ((angle - 90) * Math.PI) / 180
  return [CX + RADIUS * Math.cos(rad), CY + RADIUS * Math.sin(rad)]
}

/** SVG arc from fraction a to fraction b of the sweep. */
function arc(a: number, b: number): string {
  const start = -SWEEP / 2 + SWEEP * Math.max(0, Math.min(1, a))
  const end = -SWEEP / 2 + SWEEP * Math.max(0, Math.min(1, b))
  const [x1, y1] = point(start)
  const [x2, y2] = point(Math.max(end, start + 0.01))
  return `M ${x1.toFixed(2)} ${y1.toFixed(2)} A ${RADIUS} ${RADIUS} 0 ${end - start > 180 ? 1 : 0} 1 ${x2.toFixed(2)} ${y2.toFixed(2)}`
}

function fraction(spec: MetricSpec, value: number): number {
  return (value - spec.min) / (spec.max - spec.min)
}

function format(value: number): string {
  return value >= 10 ? value.toFixed(1) : value.toFixed(3)
}

interface Gauge {
  spec: MetricSpec
  root: HTMLElement
  fill: SVGPathElement
  value: HTMLElement
  status: HTMLElement
}

export class GaugePanel {
  private readonly gauges: Gauge[]
  private readonly level: HTMLElement
  private readonly levelBar: HTMLElement
  private readonly phase: HTMLElement
  private readonly updated: HTMLElement

  constructor(gaugeHost: HTMLElement, summaryHost: HTMLElement) {
    this.gauges = METRICS.map((spec) => this.createGauge(spec))
    gaugeHost.replaceChildren(...this.gauges.map((g) => g.root))

    this.level = el('span', { class: 'level-value', id: 'consciousness-level' }, '–')
    this.levelBar = el('span', { class: 'level-bar-fill' })
    this.phase = el('span', { class: 'phase-pill', id: 'phase' }, '–')
    this.updated = el('span', { class: 'muted small' })
    summaryHost.replaceChildren(
      el('div', { class: 'level' },
        el('span', { class: 'eyebrow' }, 'Consciousness level'),
        el('div', { class: 'level-row' }, this.level, el('span', { class: 'level-scale' }, '/ 10')),
        el('span', { class: 'level-bar', role: 'presentation' }, this.levelBar)),
      el('div', { class: 'phase-box' },
        el('span', { class: 'eyebrow' }, 'Phase'),
        this.phase,
        this.updated)
    )
  }

  private createGauge(spec: MetricSpec): Gauge {
    const track = svg('path', { d: arc(0, 1), class: 'gauge-track' })
    const band = svg('path', { d: arc(fraction(spec, spec.band[0]), fraction(spec, spec.band[1])), class: 'gauge-band' })
    const fill = svg('path', { d: arc(0, 0), class: 'gauge-fill' })
    const drawing = svg('svg', { viewBox: '0 0 100 92', 'aria-hidden': 'true', class: 'gauge-svg' })
    drawing.append(track, band, fill)
    const value = el('span', { class: 'gauge-value' }, '–')
    const status = el('span', { class: 'gauge-status' })
    const root = el('figure', {
      class: 'gauge',
      role: 'meter',
      'data-metric': spec.name,
      'aria-label': `${spec.label}: ${spec.hint}`,
      'aria-valuemin': String(spec.min),
      'aria-valuemax': String(spec.max),
      title: `${spec.hint}. Optimal ${spec.band[0]}–${spec.band[1]}`
    },
    drawing,
    el('div', { class: 'gauge-readout' }, value, el('figcaption', { class: 'gauge-label' }, spec.label), status))
    return { spec, root, fill, value, status }
  }

  render(state: UcfState): void {
    // The phase colour restyles the whole page, so it is set only when the phase changes.
    if (state.phase !== this.phase.dataset.phase) document.documentElement.style.setProperty('--phase', phaseColour(state.phase))
    for (const g of this.gauges) {
      const v = state.metrics[g.spec.name]
      if (typeof v !== 'number') continue
      g.fill.setAttribute('d', arc(0, fraction(g.spec, v)))
      g.value.textContent = format(v)
      g.root.dataset.value = String(v)
      g.root.setAttribute('aria-valuenow', String(v))
      const inBand = v >= g.spec.band[0] && v <= g.spec.band[1]
      g.root.classList.toggle('in-band', inBand)
      g.status.textContent = inBand ? 'optimal' : (v < g.spec.band[0]) !== Boolean(g.spec.lowerIsBetter) ? 'low' : 'high'
      g.root.setAttribute('aria-valuetext', `${format(v)}, ${g.status.textContent}`)
    }
    this.level.textContent = state.consciousnessLevel.toFixed(2)
    this.level.dataset.value = String(state.consciousnessLevel)
    this.levelBar.style.transform = `scaleX(${Math.max(0, Math.min(10, state.consciousnessLevel)) / 10})`
    this.phase.textContent = state.phase
    this.phase.dataset.phase = state.phase
    this.updated.textContent = `updated ${new Date(state.updatedAt).toLocaleTimeString()}`
  }
}
