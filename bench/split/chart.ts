// Line charts for the benchmarks' reports: drawn as SVG, photographed to PNG by headless Chromium
// (playwright-core and /usr/bin/chromium, as the dashboard tests use them), so no charting dependency.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { chromium } from 'playwright-core'

export interface Series { name: string; points: [number, number][] }
/** A vertical line at `x` with its label (a flip, say). */
export interface Mark { x: number; label: string }

export interface ChartSpec {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  marks?: Mark[]
  /** Log scale on y: latencies spanning milliseconds to seconds. */
  logY?: boolean
}

const WIDTH = 1200
const HEIGHT = 560
const PAD = { left: 80, right: 30, top: 50, bottom: 60 }
const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#bcbd22', '#e377c2', '#7f7f7f']
const BROWSER_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync']

const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** A few round tick values between lo and hi. */
function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = []
    for (let v = 10 ** Math.floor(Math.log10(lo)); v <= hi * 1.0001; v *= 10) if (v >= lo / 1.0001) out.push(v)
    return out
  }
  const step = 10 ** Math.floor(Math.log10((hi - lo) / 5 || 1))
  const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= 8) ?? step * 10
  const out: number[] = []
  for (let v = Math.ceil(lo / nice) * nice; v <= hi; v += nice) out.push(v)
  return out
}

export function svgChart(spec: ChartSpec): string {
  const all = spec.series.flatMap((s) => s.points)
  const xs = [...all.map((p) => p[0]), ...(spec.marks ?? []).map((m) => m.x)]
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)]
  const ysRaw = all.map((p) => p[1])
  const log = spec.logY ?? false
  const y0 = log ? 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...ysRaw)))) : 0
  const y1 = log ? 10 ** Math.ceil(Math.log10(Math.max(10, ...ysRaw))) : Math.max(1, ...ysRaw) * 1.1
  const w = WIDTH - PAD.left - PAD.right
  const h = HEIGHT - PAD.top - PAD.bottom
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0 || 1)) * w
  const fy = (y: number) => (log ? Math.log10(Math.max(y, y0)) : y)
  const sy = (y: number) => PAD.top + h - ((fy(y) - fy(y0)) / (fy(y1) - fy(y0) || 1)) * h
  const parts: string[] = [`<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="28" font-size="18" text-anchor="middle" font-weight="bold">${escape(spec.title)}</text>`]
  for (const t of ticks(y0, y1, log)) {
    parts.push(`<line x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${sy(t)}" y2="${sy(t)}" stroke="#ddd"/>`,
      `<text x="${PAD.left - 8}" y="${sy(t) + 4}" font-size="12" text-anchor="end">${t}</text>`)
  }
  for (const t of ticks(x0, x1, false)) parts.push(`<text x="${sx(t)}" y="${HEIGHT - PAD.bottom + 18}" font-size="12" text-anchor="middle">${t}</text>`)
  parts.push(`<rect x="${PAD.left}" y="${PAD.top}" width="${w}" height="${h}" fill="none" stroke="#333"/>`,
    `<text x="${WIDTH / 2}" y="${HEIGHT - 15}" font-size="14" text-anchor="middle">${escape(spec.xLabel)}</text>`,
    `<text x="18" y="${PAD.top + h / 2}" font-size="14" text-anchor="middle" transform="rotate(-90 18 ${PAD.top + h / 2})">${escape(spec.yLabel)}</text>`)
  for (const [i, m] of (spec.marks ?? []).entries()) {
    parts.push(`<line x1="${sx(m.x)}" x2="${sx(m.x)}" y1="${PAD.top}" y2="${PAD.top + h}" stroke="#888" stroke-dasharray="4 3"/>`,
      `<text x="${sx(m.x) + 3}" y="${PAD.top + 12 + (i % 4) * 13}" font-size="11" fill="#555">${escape(m.label)}</text>`)
  }
  spec.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]
    const d = s.points.map((p, j) => `${j === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ')
    parts.push(`<path d="${d}" fill="none" stroke="${colour}" stroke-width="1.8"/>`,
      `<rect x="${PAD.left + 10}" y="${PAD.top + h - 18 - i * 18}" width="12" height="12" fill="${colour}"/>`,
      `<text x="${PAD.left + 28}" y="${PAD.top + h - 8 - i * 18}" font-size="13">${escape(s.name)}</text>`)
  })
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif">${parts.join('')}</svg>`
}

/** Writes the chart as a PNG at `file`. */
export async function writeChart(file: string, spec: ChartSpec): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true })
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: BROWSER_ARGS })
  try {
    const page = await browser.newPage({ viewport: { width: WIDTH, height: HEIGHT } })
    await page.setContent(`<html><body style="margin:0">${svgChart(spec)}</body></html>`)
    await page.screenshot({ path: file, clip: { x: 0, y: 0, width: WIDTH, height: HEIGHT } })
  } finally {
    await browser.close()
  }
}
