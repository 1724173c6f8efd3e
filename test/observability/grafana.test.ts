// The Grafana dashboard and the alert rules in docs/grafana: they parse, and every metric they query
// is one that /metrics of a monolith with every plugin exports (a histogram as _bucket/_sum/_count).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { projectRoot } from '../../core/paths.js'
import { scrape, startMonolith } from './monolith.js'
import { seriesNames } from './prom-text.js'

interface Target { expr: string; refId: string }
interface Panel { type: string; title: string; targets?: Target[]; datasource?: { uid: string } }
interface Rule { alert: string; expr: string; for: string; labels: { severity: string }; annotations: { summary: string } }

const docs = path.join(projectRoot, 'docs/grafana')
const dashboard = JSON.parse(readFileSync(path.join(docs, 'helix.json'), 'utf8')) as { title: string; panels: Panel[]; templating: { list: { name: string; type: string }[] } }
// JSON-compatible YAML: comment lines, then one JSON document.
const rulesText = readFileSync(path.join(docs, 'alerts.yaml'), 'utf8').split('\n').filter((line) => !line.startsWith('#')).join('\n')
const rules = (JSON.parse(rulesText) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules)

/** Metric names a PromQL expression reads: Helix's and the process metrics; `up` is Prometheus's own. */
function metricsIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')
  return [...withoutStrings.matchAll(/\b((?:helix|process|nodejs)_[a-zA-Z0-9_]+)\b/g)].map((m) => m[1])
}

const { app } = await startMonolith(t)
const exported = seriesNames(await scrape(app))

t.test('the dashboard: a datasource variable, the success metrics first, a row per plugin, every panel on the variable', async (t) => {
  t.ok(dashboard.templating.list.some((v) => v.name === 'datasource' && v.type === 'datasource'))
  const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title)
  t.match(rows[0], /Success metrics/)
  for (const plugin of ['Orchestrator', 'Stream', 'Voice', 'Zapier', 'Discord bot', 'Bus', 'Flags and ownership']) t.ok(rows.includes(plugin), `a ${plugin} row`)
  const first = dashboard.panels.slice(1, 5).map((p) => p.title)
  t.same(first, ['Monolith p99 latency', 'Error rate per service', 'Events and commands per second', 'Ownership timeline (1: dedicated service owns)'])
  for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
    t.equal(panel.datasource?.uid, '${datasource}', `${panel.title} uses the datasource variable`)
    t.ok(panel.targets && panel.targets.length > 0, `${panel.title} has queries`)
  }
})

t.test('every metric the dashboard queries is exported', async (t) => {
  const queried = new Set(dashboard.panels.flatMap((p) => p.targets ?? []).flatMap((target) => metricsIn(target.expr)))
  t.ok(queried.size > 40, `${queried.size} metrics queried`)
  for (const name of queried) t.ok(exported.has(name), `${name} is exported`)
})

t.test('the alert rules: replica not ready, queue age, error rate, no owner; each on exported metrics', async (t) => {
  const names = rules.map((r) => r.alert)
  for (const name of ['HelixReplicaNotReady', 'HelixCommandQueueAge', 'HelixHighErrorRate', 'HelixNoOwner']) t.ok(names.includes(name), name)
  for (const rule of rules) {
    t.match(rule, { expr: String, for: /^\d+[smh]$/, labels: { severity: /^(critical|warning)$/ }, annotations: { summary: String } }, rule.alert)
    for (const name of metricsIn(rule.expr)) t.ok(exported.has(name), `${rule.alert}: ${name} is exported`)
  }
})
