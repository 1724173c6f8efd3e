// docs/grafana/helix.json as the snapshot reads it: rows and panels in grid order, each query with
// the dashboard's variables replaced, and Grafana's `{{label}}` legend templates.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { projectRoot } from '../../core/paths.js'

export interface GridPos { x: number; y: number; w: number; h: number }
export interface Target { expr: string; legendFormat?: string; refId: string }
export interface Panel {
  type: string
  title: string
  gridPos: GridPos
  targets?: Target[]
  fieldConfig?: { defaults?: { unit?: string } }
}
export interface Dashboard { title: string; panels: Panel[] }

export const DASHBOARD_FILE = path.join(projectRoot, 'docs/grafana/helix.json')

export function readDashboard(file = DASHBOARD_FILE): Dashboard {
  const dashboard = JSON.parse(readFileSync(file, 'utf8')) as Dashboard
  dashboard.panels.sort((a, b) => a.gridPos.y - b.gridPos.y || a.gridPos.x - b.gridPos.x)
  return dashboard
}

/** `$job`, `${job}` and `[[job]]` replaced by their values, as Grafana does before it sends a query. */
export function substitute(expr: string, variables: Record<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, braced?: string, bracketed?: string, bare?: string) => {
    const name = braced ?? bracketed ?? bare!
    return Object.hasOwn(variables, name) ? variables[name] : whole
  })
}

/** A series' legend: `{{label}}` filled from its labels; no template: its labels as PromQL writes them. */
export function legend(template: string | undefined, labels: Record<string, string>): string {
  if (template) return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => labels[name] ?? '')
  const pairs = Object.entries(labels).filter(([name]) => name !== '__name__').map(([name, value]) => `${name}="${value}"`)
  return `${labels.__name__ ?? ''}{${pairs.join(', ')}}`
}
