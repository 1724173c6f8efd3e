// The dashboard drawn as one HTML page: a panel per gridPos (Grafana's 24-column grid), each an SVG
// time-series chart or state timeline with title, axes and legend, in Grafana's dark colours.
import type { Dashboard, Panel } from './dashboard.js'

/** One series as drawn: its legend and [unix seconds, value] points (NaN where Prometheus had none). */
export interface DrawnSeries { name: string; points: [number, number][] }
export interface TimeRange { start: number; end: number; step: number }

const PAGE_WIDTH = 1800
const COLUMN = PAGE_WIDTH / 24
const UNIT = 34
const GAP = 8
const HEADER = 64
const TITLE = 26
const LEGEND_LINE = 16
const AXIS_LEFT = 58
const AXIS_BOTTOM = 20
const FONT = 'Inter, "Helvetica Neue", Arial, sans-serif'
/** Grafana's classic palette. */
const PALETTE = ['#7EB26D', '#EAB839', '#6ED0E0', '#EF843C', '#E24D42', '#1F78C1', '#BA43A9', '#705DA0', '#508642', '#CCA300', '#447EBC', '#C15C17', '#890F02', '#0A437C', '#6D1F62', '#584477']
const STATE_COLORS: Record<string, string> = { 1: '#73BF69', 0: '#464c54' }

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!)

/** About how wide a label is at 11 px, to lay legends out in lines before the browser does. */
const textWidth = (text: string, px = 11) => text.length * px * 0.56

/** Three significant digits: enough to tell apart neighbouring ticks of 1, 2, 2.5 or 5 x 10^n. */
const trim = (value: number) => String(Number(value.toPrecision(3)))

function si(value: number): string {
  const abs = Math.abs(value)
  for (const [limit, suffix] of [[1e9, 'G'], [1e6, 'M'], [1e3, 'k']] as const) {
    if (abs >= limit) return `${trim(value / limit)}${suffix}`
  }
  return trim(value)
}

/** A value in the panel's unit, as Grafana's unit formats print it. */
export function formatValue(value: number, unit: string | undefined): string {
  if (!Number.isFinite(value)) return '-'
  switch (unit) {
    case 's': {
      const abs = Math.abs(value)
      if (abs === 0) return '0 s'
      if (abs < 1e-3) return `${trim(value * 1e6)} µs`
      if (abs < 1) return `${trim(value * 1e3)} ms`
      return `${trim(value)} s`
    }
    case 'percentunit': return `${trim(value * 100)}%`
    case 'bytes': {
      const units = ['B', 'KiB', 'MiB', 'GiB']
      let v = value
      let i = 0
      while (Math.abs(v) >= 1024 && i < units.length - 1) {
        v /= 1024
        i++
      }
      return `${trim(v)} ${units[i]}`
    }
    case 'ops': return `${si(value)} ops/s`
    case 'reqps': return `${si(value)} req/s`
    default: return si(value)
  }
}

/** Round tick steps (1, 2, 2.5, 5 x 10^n) giving about `count` ticks over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw)!
  return step * magnitude
}

function valueTicks(min: number, max: number, count: number): number[] {
  const step = niceStep(max - min, count)
  const ticks: number[] = []
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)))
  return ticks
}

function timeTicks(range: TimeRange, width: number): number[] {
  const span = range.end - range.start
  const interval = [5, 10, 15, 20, 30, 60, 120, 300, 600].find((s) => (span / s) * 70 <= width) ?? 900
  const ticks: number[] = []
  for (let t = Math.ceil(range.start / interval) * interval; t <= range.end; t += interval) ticks.push(t)
  return ticks
}

const clock = (t: number) => new Date(t * 1000).toISOString().slice(11, 19)

interface Box { width: number; height: number }

/** The legend's items placed in lines; returns the SVG and how tall it is. */
function legendSvg(items: { label: string; color: string }[], width: number, top: number): { svg: string; height: number } {
  let x = AXIS_LEFT
  let line = 0
  const parts: string[] = []
  for (const item of items) {
    const w = 18 + textWidth(item.label) + 14
    if (x + w > width && x > AXIS_LEFT) {
      line++
      x = AXIS_LEFT
    }
    const y = top + line * LEGEND_LINE
    parts.push(`<rect x="${x}" y="${y + 4}" width="12" height="4" rx="1" fill="${item.color}"/>`,
      `<text x="${x + 17}" y="${y + 10}" class="legend">${escape(item.label)}</text>`)
    x += w
  }
  return { svg: parts.join(''), height: items.length === 0 ? 0 : (line + 1) * LEGEND_LINE + 4 }
}

function timeAxis(range: TimeRange, left: number, right: number, bottom: number, x: (t: number) => number): string {
  return timeTicks(range, right - left).map((t) =>
    `<line x1="${x(t)}" x2="${x(t)}" y1="${bottom}" y2="${bottom + 4}" class="tick"/><text x="${x(t)}" y="${bottom + 15}" class="axis" text-anchor="middle">${clock(t)}</text>`).join('')
}

/** Continuous runs of finite points: a gap in the data (a missing step) breaks the line. */
function segments(points: [number, number][], step: number): [number, number][][] {
  const runs: [number, number][][] = []
  let run: [number, number][] = []
  let last = -Infinity
  for (const [t, v] of points) {
    if (!Number.isFinite(v) || t - last > step * 1.5) {
      if (run.length > 0) runs.push(run)
      run = []
    }
    if (Number.isFinite(v)) run.push([t, v])
    last = Number.isFinite(v) ? t : -Infinity
  }
  if (run.length > 0) runs.push(run)
  return runs
}

function timeSeriesSvg(panel: Panel, series: DrawnSeries[], range: TimeRange, box: Box): string {
  const unit = panel.fieldConfig?.defaults?.unit
  const colored = series.map((s, i) => ({ ...s, color: PALETTE[i % PALETTE.length] }))
  const last = (s: DrawnSeries) => [...s.points].reverse().find(([, v]) => Number.isFinite(v))?.[1]
  const legend = legendSvg(colored.map((s) => {
    const value = last(s)
    return { label: value === undefined ? s.name : `${s.name}  ${formatValue(value, unit)}`, color: s.color }
  }), box.width - 8, 0)
  const plotBottom = box.height - AXIS_BOTTOM - legend.height
  const plotTop = 8
  const right = box.width - 12
  const values = series.flatMap((s) => s.points.map(([, v]) => v)).filter(Number.isFinite)
  if (values.length === 0) return `<svg width="${box.width}" height="${box.height}"><text x="${box.width / 2}" y="${box.height / 2}" class="nodata" text-anchor="middle">No data</text></svg>`
  let min = Math.min(0, ...values)
  let max = Math.max(...values)
  if (max === min) max = min === 0 ? 1 : min + Math.abs(min)
  const ticks = valueTicks(min, max, Math.max(2, Math.floor((plotBottom - plotTop) / 40)))
  min = Math.min(min, ticks[0])
  max = Math.max(max, ticks.at(-1)!)
  const left = Math.max(AXIS_LEFT, 12 + Math.max(...ticks.map((v) => textWidth(formatValue(v, unit), 10))))
  const x = (t: number) => left + ((t - range.start) / (range.end - range.start)) * (right - left)
  const y = (v: number) => plotBottom - ((v - min) / (max - min)) * (plotBottom - plotTop)
  const grid = ticks.map((v) =>
    `<line x1="${left}" x2="${right}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${left - 6}" y="${y(v) + 4}" class="axis" text-anchor="end">${escape(formatValue(v, unit))}</text>`).join('')
  const lines = colored.map((s) => segments(s.points, range.step).map((run) => run.length === 1
    ? `<circle cx="${x(run[0][0]).toFixed(1)}" cy="${y(run[0][1]).toFixed(1)}" r="1.6" fill="${s.color}"/>`
    : `<polyline points="${run.map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="1.5" stroke-linejoin="round"/>`).join('')).join('')
  return `<svg width="${box.width}" height="${box.height}">${grid}<line x1="${left}" x2="${right}" y1="${plotBottom}" y2="${plotBottom}" class="baseline"/>${timeAxis(range, left, right, plotBottom, x)}${lines}<g transform="translate(0 ${plotBottom + AXIS_BOTTOM + 2})">${legend.svg}</g></svg>`
}

function stateTimelineSvg(series: DrawnSeries[], range: TimeRange, box: Box): string {
  if (series.length === 0) return `<svg width="${box.width}" height="${box.height}"><text x="${box.width / 2}" y="${box.height / 2}" class="nodata" text-anchor="middle">No data</text></svg>`
  const seen = [...new Set(series.flatMap((s) => s.points.filter(([, v]) => Number.isFinite(v)).map(([, v]) => String(v))))].sort().reverse()
  const color = (value: string, i: number) => STATE_COLORS[value] ?? PALETTE[i % PALETTE.length]
  const legend = legendSvg(seen.map((value, i) => ({ label: value, color: color(value, i) })), box.width - 8, 0)
  const labelWidth = Math.min(220, Math.max(...series.map((s) => textWidth(s.name))) + 16)
  const left = labelWidth
  const right = box.width - 12
  const plotTop = 4
  const plotBottom = box.height - AXIS_BOTTOM - legend.height
  const lane = (plotBottom - plotTop) / series.length
  const x = (t: number) => left + ((t - range.start) / (range.end - range.start)) * (right - left)
  const lanes = series.map((s, i) => {
    const top = plotTop + i * lane
    const rects: string[] = []
    // Equal neighbouring values merge into one bar (Grafana's mergeValues).
    let from: number | null = null
    let value = ''
    let previous = -Infinity
    const flush = (to: number) => {
      if (from !== null) rects.push(`<rect x="${x(from).toFixed(1)}" y="${(top + 2).toFixed(1)}" width="${Math.max(1, x(to) - x(from)).toFixed(1)}" height="${Math.max(2, lane - 4).toFixed(1)}" fill="${color(value, seen.indexOf(value))}"/>`)
      from = null
    }
    for (const [t, v] of s.points) {
      const next = Number.isFinite(v) ? String(v) : ''
      // A missing step (the series absent) ends the bar where the last sample's step ends.
      if (from !== null && t - previous > range.step * 1.5) flush(previous + range.step)
      if (from !== null && next !== value) flush(t)
      previous = t
      if (next !== '' && from === null) {
        from = t
        value = next
      }
    }
    flush(Math.min(range.end, (s.points.at(-1)?.[0] ?? range.end) + range.step))
    return `<text x="${labelWidth - 8}" y="${(top + lane / 2 + 4).toFixed(1)}" class="axis" text-anchor="end">${escape(s.name)}</text>${rects.join('')}`
  }).join('')
  return `<svg width="${box.width}" height="${box.height}">${lanes}${timeAxis(range, left, right, plotBottom, x)}<g transform="translate(0 ${plotBottom + AXIS_BOTTOM + 2})">${legend.svg}</g></svg>`
}

function panelHtml(panel: Panel, series: DrawnSeries[], range: TimeRange, top: number): string {
  const { x, y, w, h } = panel.gridPos
  const style = `left:${x * COLUMN + GAP / 2}px;top:${top + y * UNIT + GAP / 2}px;width:${w * COLUMN - GAP}px;height:${h * UNIT - GAP}px`
  if (panel.type === 'row') return `<div class="row" style="${style}">${escape(panel.title)}</div>`
  const box = { width: w * COLUMN - GAP - 2, height: h * UNIT - GAP - TITLE - 4 }
  const chart = panel.type === 'state-timeline' ? stateTimelineSvg(series, range, box) : timeSeriesSvg(panel, series, range, box)
  return `<div class="panel" style="${style}"><div class="title">${escape(panel.title)}</div>${chart}</div>`
}

const STYLE = `
  body { margin: 0; background: #111217; color: #ccccdc; font-family: ${FONT}; }
  .header { position: absolute; left: ${GAP / 2}px; top: 10px; right: ${GAP / 2}px; }
  .header h1 { margin: 0; font-size: 20px; font-weight: 500; color: #d8d9da; }
  .header p { margin: 4px 0 0; font-size: 12px; color: #8e8e9e; }
  .panel { position: absolute; background: #181b1f; border: 1px solid #2c3235; border-radius: 3px; overflow: hidden; }
  .title { height: ${TITLE}px; line-height: ${TITLE}px; padding: 0 10px; font-size: 13px; font-weight: 500; color: #d8d9da; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .row { position: absolute; font-size: 16px; font-weight: 500; color: #d8d9da; line-height: ${UNIT - GAP}px; border-bottom: 1px solid #2c3235; }
  svg { display: block; font-family: ${FONT}; }
  .axis { font-size: 10px; fill: #8e8e9e; }
  .legend { font-size: 11px; fill: #ccccdc; }
  .nodata { font-size: 13px; fill: #8e8e9e; }
  .grid { stroke: #24272c; stroke-width: 1; }
  .baseline, .tick { stroke: #3d4147; stroke-width: 1; }
`

/** The page: a header saying what it shows, then every row and panel where the dashboard puts it. */
export function renderPage(dashboard: Dashboard, data: Map<Panel, DrawnSeries[]>, range: TimeRange, note: string): { html: string; width: number; height: number } {
  const bottom = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h))
  const height = HEADER + bottom * UNIT + GAP
  const title = `${escape(dashboard.title)}`
  const span = `${new Date(range.start * 1000).toISOString().slice(0, 19).replace('T', ' ')} to ${clock(range.end)} UTC, step ${range.step} s`
  const panels = dashboard.panels.map((p) => panelHtml(p, data.get(p) ?? [], range, HEADER)).join('\n')
  const html = `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title><style>${STYLE}</style></head>
<body style="width:${PAGE_WIDTH}px;height:${height}px"><div class="header"><h1>${title}</h1><p>${escape(span)}. ${escape(note)}</p></div>
${panels}</body></html>`
  return { html, width: PAGE_WIDTH, height }
}
