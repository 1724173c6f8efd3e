// One uPlot line chart per metric over the last hour: seeded from GET /api/ucf/history, then fed
// by ucf.updated. At most one point per second is kept, so an hour is at most 3600 points.
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { el, perFrame } from './dom.js'
import { METRICS, type MetricName, type UcfSample } from './ucf.js'

const WINDOW_S = 3600
const RESOLUTION_S = 1
/** Canvas strokes cannot read CSS variables, so the palette lives here (matches styles.css). */
const COLOURS = ['#b197fc', '#7dd3fc', '#51e5a0', '#ffe066', '#ff8fa3', '#ffa94d']

export class MetricCharts {
  private times: number[] = []
  private readonly values = new Map<MetricName, number[]>(METRICS.map((m) => [m.name, []]))
  private readonly plots: uPlot[] = []
  private readonly redraw = perFrame(() => this.draw())

  constructor(host: HTMLElement) {
    const cards = METRICS.map((spec) => {
      const plotHost = el('div', { class: 'chart-plot' })
      const card = el('figure', { class: 'chart', 'data-chart': spec.name },
        el('figcaption', {}, spec.label, el('span', { class: 'muted small' }, ' · last hour')),
        plotHost)
      return { spec, card, plotHost }
    })
    host.replaceChildren(...cards.map((c) => c.card))
    cards.forEach(({ spec, plotHost }, i) => {
      const colour = COLOURS[i % COLOURS.length]
      const plot = new uPlot({
        width: Math.max(140, plotHost.clientWidth),
        height: 120,
        legend: { show: false },
        cursor: { y: false, points: { size: 6 } },
        // The x scale is always the last hour, so the charts read the same whatever the data.
        scales: {
          x: { time: true, range: () => [Date.now() / 1000 - WINDOW_S, Date.now() / 1000] },
          y: { range: (_u, lo, hi) => padRange(lo, hi, spec.min, spec.max) }
        },
        axes: [
          { stroke: '#9fb0cc', grid: { stroke: 'rgba(141,162,192,0.08)' }, ticks: { show: false }, size: 24, font: '11px system-ui', space: 70, values: (_u, ticks) => ticks.map(hhmm) },
          { stroke: '#9fb0cc', grid: { stroke: 'rgba(141,162,192,0.08)' }, ticks: { show: false }, size: 40, font: '11px system-ui' }
        ],
        series: [
          {},
          { label: spec.label, stroke: colour, width: 2, fill: `${colour}1a`, points: { show: false } }
        ]
      }, [[], []], plotHost)
      this.plots.push(plot)
      new ResizeObserver(() => plot.setSize({ width: Math.max(140, plotHost.clientWidth), height: 120 })).observe(plotHost)
    })
  }

  /** History may arrive after the first live values: merge it in time order. */
  seed(samples: UcfSample[]): void {
    const live = this.times.map((t, i) => ({ t, metrics: Object.fromEntries(METRICS.map((m) => [m.name, this.values.get(m.name)![i]])) as UcfSample['metrics'] }))
    this.times = []
    for (const series of this.values.values()) series.length = 0
    for (const s of [...samples, ...live].sort((a, b) => a.t - b.t)) this.push(s)
    this.redraw()
  }

  add(sample: UcfSample): void {
    this.push(sample)
    this.redraw()
  }

  private push(sample: UcfSample): void {
    const last = this.times.length - 1
    if (last >= 0 && sample.t < this.times[last]) return
    const replace = last >= 0 && sample.t - this.times[last] < RESOLUTION_S
    if (replace) this.times[last] = sample.t
    else this.times.push(sample.t)
    for (const m of METRICS) {
      const series = this.values.get(m.name)!
      if (replace) series[series.length - 1] = sample.metrics[m.name]
      else series.push(sample.metrics[m.name])
    }
    const cutoff = sample.t - WINDOW_S
    let drop = 0
    while (drop < this.times.length && this.times[drop] < cutoff) drop++
    if (drop > 0) {
      this.times = this.times.slice(drop)
      for (const [name, series] of this.values) this.values.set(name, series.slice(drop))
    }
  }

  private draw(): void {
    METRICS.forEach((m, i) => this.plots[i].setData([this.times, this.values.get(m.name)!]))
  }
}

const tickFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' })

function hhmm(seconds: number): string {
  return tickFormat.format(seconds * 1000)
}

/** Keep the scale's natural range visible so a flat line does not fill the whole chart. */
function padRange(lo: number, hi: number, min: number, max: number): [number, number] {
  const low = Math.min(lo, min)
  const high = Math.max(hi, Math.min(max, hi + (hi - lo) * 0.2 + 0.05))
  return [low, high === low ? low + 1 : high]
}
