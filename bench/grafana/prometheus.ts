// A Prometheus server of the snapshot's own (/usr/bin/prometheus): scraping the Helix processes every
// second into a temporary TSDB, loading the alert rules, and queried over its HTTP API.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { projectRoot } from '../../core/paths.js'
import { freePort } from '../../test/helpers/net.js'
import { waitFor } from '../../test/helpers/wait.js'

type Scope = { teardown(fn: () => unknown): void }

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus'
export const JOB = 'helix'

/** One series of a range query: its labels and [unix seconds, value] points. */
export interface RangeSeries {
  metric: Record<string, string>
  values: [number, string][]
}

export interface Prometheus {
  url: string
  /** `query_range` of `expr` from `start` to `end` (unix seconds) every `step` seconds. */
  queryRange(expr: string, start: number, end: number, step: number): Promise<RangeSeries[]>
  /** The instant value of a scalar-like query (the first series), or null when it has none. */
  queryValue(expr: string): Promise<number | null>
  /** Everything the server wrote, for a failure's message. */
  output(): string
}

// JSON is YAML: the config is written as JSON, no YAML writer needed.
function config(targets: readonly string[]): string {
  return JSON.stringify({
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [path.join(projectRoot, 'docs/grafana/alerts.yaml')],
    scrape_configs: [{ job_name: JOB, static_configs: [{ targets }] }]
  }, null, 2)
}

interface ApiAnswer<T> { status: 'success' | 'error'; data: T; error?: string }

async function api<T>(url: string, params: Record<string, string>): Promise<T> {
  const res = await fetch(`${url}?${new URLSearchParams(params)}`, { signal: AbortSignal.timeout(10_000) })
  const body = (await res.json()) as ApiAnswer<T>
  if (body.status !== 'success') throw new Error(`Prometheus ${url} ${JSON.stringify(params)}: ${body.error}`)
  return body.data
}

/** Starts Prometheus scraping `targets` (`host:port`) and resolves once it is ready. */
export async function startPrometheus(scope: Scope, targets: readonly string[]): Promise<Prometheus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'helix-prometheus-'))
  const configFile = path.join(dir, 'prometheus.yml')
  writeFileSync(configFile, config(targets))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  let out = ''
  const child = spawn(PROMETHEUS_BIN, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn'
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', (d: Buffer) => (out += d.toString()))
  child.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  scope.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    await exited
    rmSync(dir, { recursive: true, force: true })
  })
  await Promise.race([
    waitFor(async () => (await fetch(`${url}/-/ready`).catch(() => null))?.ok, 'Prometheus to be ready', 30_000, 100),
    exited.then(() => Promise.reject(new Error(`prometheus exited with ${child.exitCode}:\n${out}`)))
  ])

  return {
    url,
    output: () => out,
    async queryRange(expr, start, end, step) {
      const data = await api<{ result: RangeSeries[] }>(`${url}/api/v1/query_range`, { query: expr, start: String(start), end: String(end), step: String(step) })
      return data.result
    },
    async queryValue(expr) {
      const data = await api<{ result: { value: [number, string] }[] }>(`${url}/api/v1/query`, { query: expr })
      return data.result.length > 0 ? Number(data.result[0].value[1]) : null
    }
  }
}
