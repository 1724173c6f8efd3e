// `npm run bench:observability [-- --runs 5] [-- --only micro|stream|orchestrator]`: the cost of
// observability. (1) Per request with tracing off: what the kernel's tracing hooks add to a request's
// path (the no-op Tracing's calls at command accept and execution, the bus envelope's traceparent
// hook, the logger without its mixin), each timed over millions of calls. (2) bench:stream
// (BENCH_QUICK) and bench:orchestrator (--quick: Helix alone) as child processes, with tracing off and
// on (exporting OTLP/JSON to a collector process; the orchestrator also with 1 trace in 10 sampled),
// interleaved, median of the runs.
import { fork, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { pino } from 'pino'
import { loadConfig } from '../config/index.js'
import { envelopeJson } from '../core/bus/envelope.js'
import { loggerOptions } from '../core/logger.js'
import { noTracing } from '../core/trace.js'
import { projectRoot } from '../core/paths.js'
import { printTable } from './table.js'

const { values: cli } = parseArgs({ options: { runs: { type: 'string', default: '5' }, only: { type: 'string' } } })
const RUNS = Math.max(1, Number(cli.runs))
const wants = (part: string) => cli.only === undefined || cli.only === part

/** Where results go, so the JIT cannot drop the calls being timed. */
export let sink: unknown

/** Nanoseconds per call of `fn` in one round of `iterations` calls. */
function round(fn: () => unknown, iterations: number): number {
  const start = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) sink = fn()
  return Number(process.hrtime.bigint() - start) / iterations
}

/** Nanoseconds per call of `fn`: the best of five rounds, after a warm-up. */
function nsPerCall(fn: () => unknown, iterations = 5_000_000): number {
  round(fn, iterations / 10)
  return Math.min(...Array.from({ length: 5 }, () => round(fn, iterations)))
}

/** What `withHook` costs over `without`: rounds of the two interleaved, best of each, so neither meets a warmer JIT. */
function extraNs(without: () => unknown, withHook: () => unknown, iterations = 5_000_000): number {
  round(without, iterations / 10)
  round(withHook, iterations / 10)
  let a = Infinity
  let b = Infinity
  for (let i = 0; i < 7; i++) {
    a = Math.min(a, round(without, iterations))
    b = Math.min(b, round(withHook, iterations))
  }
  return Math.max(0, b - a)
}

interface MicroRow {
  what: string
  ns: number
  perRequest: number
}

function micro(): MicroRow[] {
  const config = loadConfig({ LOG_LEVEL: 'info', NODE_ENV: 'test' })
  // Lines go to /dev/null through pino's own destination, as a production process writes them to stdout.
  const destination = pino.destination({ dest: '/dev/null', sync: true })
  const plain = pino({ level: 'info' }, destination)
  const off = pino({ ...loggerOptions(config, { traceIds: false }), transport: undefined }, destination)
  const on = pino({ ...loggerOptions(config, { traceIds: true }), transport: undefined }, destination)
  const resolved = Promise.resolve(1)
  const work = () => resolved
  const busOptions: { traceparent?: () => string | undefined } = {}
  const dataJson = '{"id":"5f0c","status":"succeeded"}'

  if ('mixin' in loggerOptions(config, { traceIds: false })) throw new Error('tracing off must leave pino without a mixin')
  return [
    { what: 'kernel.trace.traceparent() (command accept)', ns: nsPerCall(() => noTracing.traceparent()), perRequest: 1 },
    { what: 'kernel.trace.run() around the execution, over the bare call', ns: extraNs(() => work(), () => noTracing.run('command.execute', undefined, work)), perRequest: 1 },
    {
      what: 'bus envelope: the traceparent hook, over the envelope without it',
      ns: extraNs(
        () => envelopeJson('commands', '1764130000000-0', 'q8h2', 'command.updated', 1764130000000, 'orchestrator', dataJson),
        () => envelopeJson('commands', '1764130000000-0', 'q8h2', 'command.updated', 1764130000000, 'orchestrator', dataJson, busOptions.traceparent?.())
      ),
      perRequest: 1
    },
    { what: 'log line, loggerOptions(traceIds: false) over pino without Helix options', ns: extraNs(() => plain.info('request completed'), () => off.info('request completed'), 500_000), perRequest: 2 },
    { what: '(tracing on, for comparison) log line with the trace_id mixin, no active span', ns: extraNs(() => off.info('request completed'), () => on.info('request completed'), 500_000), perRequest: 0 }
  ]
}

/** A local OTLP/JSON collector process; it counts the spans it receives. */
async function startCollector(): Promise<{ url: string; spans(): Promise<number>; stop(): void }> {
  const child = fork(path.join(projectRoot, 'dist/bench/observability/collector.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const [{ url }] = (await once(child, 'message')) as [{ url: string }]
  return {
    url,
    spans: async () => {
      child.send('count')
      const [{ spans }] = (await once(child, 'message')) as [{ spans: number }]
      return spans
    },
    stop: () => child.disconnect()
  }
}

/** Runs a compiled benchmark as a child process and returns what it printed on stdout. */
async function runBench(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const command = `ulimit -n 65535 2>/dev/null || ulimit -n 20000; exec "${process.execPath}" ${[path.join(projectRoot, 'dist/bench', script), ...args].join(' ')}`
  const child: ChildProcess = spawn('bash', ['-c', command], { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
  const [code] = (await once(child, 'exit')) as [number | null]
  if (code !== 0) throw new Error(`${script} exited with ${code}:\n${out}`)
  return out
}

/** The Helix column of the table row that starts with `label`, as a number ("1,234/s" -> 1234). */
function helixFigure(table: string, label: string): number {
  const row = table.split('\n').find((line) => line.startsWith(`| ${label}`))
  if (!row) throw new Error(`no row "${label}" in:\n${table}`)
  return Number(row.split('|')[2].replace(/[^\d.]/g, ''))
}

/** [name in our table, the row it comes from, decimals, target]. */
const FIGURES = {
  stream: [
    ['bench:stream hot channel, 5,000 clients: deliveries/s', 'hot channel, 5,000 clients: deliveries/s at saturation', 0, '> -5%'],
    ['bench:stream 1,000 channels x 10: deliveries/s', '1,000 channels x 10: deliveries/s at 10,000 events/s', 0, '> -5%']
  ],
  orchestrator: [
    ['bench:orchestrator commands accepted/s', 'POST /api/agents/:slug/commands accepted', 0, '> -5%'],
    ['bench:orchestrator STATUS executed end to end/s, 1 process', 'STATUS executed end to end, 1 process', 0, '> -5%'],
    ['bench:orchestrator server CPU s per 1,000 commands', 'CPU s per 1,000 commands accepted and executed', 3, '']
  ]
} as const

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

type Mode = 'off' | 'on' | 'sampled'

/**
 * Tracing on records every trace (the SDK's default sampler); `sampled` keeps one trace in ten
 * (parentbased_traceidratio 0.1, as a busy production service would), measured for the orchestrator.
 */
const MODES: Record<'stream' | 'orchestrator', readonly Mode[]> = { stream: ['off', 'on'], orchestrator: ['off', 'on', 'sampled'] }

async function macro(): Promise<{ rows: (string | number)[][]; spans: number }> {
  const collector = await startCollector()
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')))
  const on = { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }
  const envs: Record<Mode, NodeJS.ProcessEnv> = {
    off: base,
    on,
    sampled: { ...on, OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1' }
  }
  const results: Record<string, { runs: Partial<Record<Mode, number[]>>; digits: number; target: string }> = {}
  const benches = (['stream', 'orchestrator'] as const).filter(wants)
  try {
    for (let run = 1; run <= RUNS; run++) {
      for (const bench of benches) {
        // Interleaved, and rotating which mode goes first, so none always meets a warmer machine.
        const modes = MODES[bench].map((_, i, all) => all[(i + run) % all.length]!)
        for (const mode of modes) {
          const out = bench === 'stream'
            ? await runBench('stream.js', [], { ...envs[mode], BENCH_QUICK: '1' })
            : await runBench('orchestrator.js', ['--runs', '1', '--quick'], envs[mode])
          for (const [name, label, digits, target] of FIGURES[bench]) {
            results[name] ??= { runs: {}, digits, target }
            ;(results[name].runs[mode] ??= []).push(helixFigure(out, label))
          }
          console.error(`run ${run}/${RUNS} ${bench} tracing ${mode}: ${FIGURES[bench].map(([name]) => results[name]!.runs[mode]!.at(-1)).join(', ')}`)
        }
      }
    }
    const rows = Object.entries(results).map(([name, { runs, digits, target }]) => {
      const off = median(runs.off!)
      const column = (mode: Mode) => {
        if (!runs[mode]) return ['-', '']
        const change = (median(runs[mode]) / off - 1) * 100
        return [median(runs[mode]).toFixed(digits), `${change >= 0 ? '+' : ''}${change.toFixed(1)}%`]
      }
      return [name, off.toFixed(digits), ...column('on'), ...column('sampled'), target]
    })
    return { rows, spans: await collector.spans() }
  } finally {
    collector.stop()
  }
}

if (wants('micro')) {
  const rows = micro()
  const total = rows.reduce((sum, r) => sum + r.ns * r.perRequest, 0)
  printTable('Tracing off: cost per request of the tracing hooks (ns per call: best of interleaved rounds of 0.5 to 5 million calls)', ['hook', 'ns per call', 'calls per request', 'target'], [
    ...rows.map((r) => [r.what, r.ns.toFixed(2), r.perRequest, '']),
    ['total per request (tracing off)', total.toFixed(2), '', '< 1,000 ns']
  ])
}
if (wants('stream') || wants('orchestrator')) {
  const { rows, spans } = await macro()
  printTable(`Tracing off vs on (OTLP/JSON to a local collector process): median of ${RUNS} interleaved runs`, ['measure', 'tracing off', 'on, every trace', 'change', 'on, 1 trace in 10', 'change', 'target'], [
    ...rows,
    ['spans received by the collector (all tracing-on runs)', '', spans, '', '', '', '']
  ])
}
