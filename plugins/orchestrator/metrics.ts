// The orchestrator's Prometheus metrics (`helix_orchestrator_*`), from two places that need nothing
// from the queue's code: the database at scrape time (queue depth and age per tier, open alerts, the
// UCF), read at most once a second however often Prometheus or several of them scrape; and the
// plugin's own events on the bus (commands by outcome, queue-to-start and run times, claims,
// re-queues, rituals, alerts). Events come from every replica, so each process that loads the
// orchestrator counts the deployment's commands: aggregate these with max(), not sum().
import { LRUCache } from 'lru-cache'
import type { Logger } from 'pino'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { Bus, BusEvent } from '../../core/bus/types.js'
import { PHASES, TERMINAL_STATUSES, TIERS } from '../../core/contracts/orchestrator.js'
import { COMMANDS } from './command-catalog.js'
import type { Sql } from './sql.js'
import { consciousnessLevel, METRICS, phaseOf } from './ucf-service.js'
import type { Alert, Command, Ritual, UcfMetrics } from './types.js'

export interface OrchestratorMetricsDeps {
  registry: Registry
  sql: Sql
  bus: Bus
  log: Logger
}

interface Snapshot {
  queue: { tier: string; status: string; count: number; age: number }[]
  openAlerts: { severity: string; count: number }[]
  ucf: UcfMetrics | null
}

/** How long one database snapshot answers scrapes. */
const SNAPSHOT_TTL_MS = 1000
/** Commands whose last status is remembered, to tell a re-queue from a new command and drop repeats. */
const REMEMBERED_COMMANDS = 50_000
const SEVERITIES: readonly Alert['severity'][] = ['critical', 'high', 'medium']
const ALERT_KINDS = new Set(['agent', 'ucf', 'commands'])
const RITUALS = new Set(['legend', 'hymn', 'law', 'neti_neti', 'tat_tvam_asi', 'aham_brahmasmi', 'z88'])
const TERMINAL = new Set<string>(TERMINAL_STATUSES)

/** A command name as a bounded label: the catalog's names, `other` for anything else. */
const commandLabel = (name: string) => (Object.hasOwn(COMMANDS, name) ? name : 'other')
const seconds = (from: string | null, to: string | null) => (from && to ? Math.max(0, Date.parse(to) - Date.parse(from)) / 1000 : null)

export async function followOrchestratorMetrics(deps: OrchestratorMetricsDeps): Promise<void> {
  const snapshot = cachedSnapshot(deps)
  registerSnapshotGauges(deps.registry, snapshot)
  const onEvent = eventCounters(deps.registry)
  for (const channel of ['commands', 'rituals', 'alerts']) await deps.bus.subscribe(channel, onEvent)
}

/** The database figures, read by one query set at a time and reused for SNAPSHOT_TTL_MS. */
function cachedSnapshot({ sql, log }: OrchestratorMetricsDeps): () => Promise<Snapshot | null> {
  let last: { at: number; value: Promise<Snapshot | null> } | null = null
  return () => {
    if (last && Date.now() - last.at < SNAPSHOT_TTL_MS) return last.value
    const value = readSnapshot(sql).catch((err: unknown) => {
      // A scrape must not fail because the database is away: the gauges keep their last values.
      log.warn({ err }, 'orchestrator metrics: could not read the database')
      return null
    })
    last = { at: Date.now(), value }
    return value
  }
}

async function readSnapshot(sql: Sql): Promise<Snapshot> {
  const [queue, alerts, ucf] = await Promise.all([
    sql.rows<{ tier: string; status: string; count: string | number; oldest: string | number | null; now: string | number }>(
      `SELECT a.tier AS tier, c.status AS status, COUNT(*) AS count, MIN(c.created_at) AS oldest, ${sql.now} AS now
       FROM orchestrator_commands c JOIN orchestrator_agents a ON a.id = c.agent_id
       WHERE c.status IN ('queued', 'running') GROUP BY a.tier, c.status`
    ),
    sql.rows<{ severity: string; count: string | number }>(`SELECT severity, COUNT(*) AS count FROM orchestrator_alerts WHERE state = 'open' GROUP BY severity`),
    sql.one<Record<string, unknown>>('SELECT * FROM orchestrator_ucf WHERE id = 1')
  ])
  return {
    queue: queue.map((r) => ({ tier: r.tier, status: r.status, count: Number(r.count), age: r.oldest === null ? 0 : Math.max(0, Number(r.now) - Number(r.oldest)) / 1000 })),
    openAlerts: alerts.map((r) => ({ severity: r.severity, count: Number(r.count) })),
    ucf: ucf ? (Object.fromEntries(METRICS.map((m) => [m, Number(ucf[m])])) as UcfMetrics) : null
  }
}

function registerSnapshotGauges(registry: Registry, snapshot: () => Promise<Snapshot | null>): void {
  const registers = [registry]
  new Gauge({
    name: 'helix_orchestrator_queue_depth',
    help: 'Commands waiting (status="queued") or running (status="running"), by the tier of their agent',
    labelNames: ['tier', 'status'] as const,
    registers,
    async collect() {
      const s = await snapshot()
      if (!s) return
      for (const tier of TIERS) for (const status of ['queued', 'running']) this.set({ tier, status }, 0)
      for (const q of s.queue) this.set({ tier: q.tier, status: q.status }, q.count)
    }
  })
  new Gauge({
    name: 'helix_orchestrator_queue_oldest_age_seconds',
    help: 'Age of the oldest queued command by the tier of its agent (0: none queued), by the database clock',
    labelNames: ['tier'] as const,
    registers,
    async collect() {
      const s = await snapshot()
      if (!s) return
      for (const tier of TIERS) this.set({ tier }, 0)
      for (const q of s.queue) if (q.status === 'queued') this.set({ tier: q.tier }, q.age)
    }
  })
  new Gauge({
    name: 'helix_orchestrator_alerts_open',
    help: 'Open alerts by severity',
    labelNames: ['severity'] as const,
    registers,
    async collect() {
      const s = await snapshot()
      if (!s) return
      for (const severity of SEVERITIES) this.set({ severity }, 0)
      for (const a of s.openAlerts) this.set({ severity: a.severity }, a.count)
    }
  })
  new Gauge({
    name: 'helix_orchestrator_ucf_metric',
    help: 'The UCF\'s six metrics (harmony, resilience, prana, drishti, klesha, zoom)',
    labelNames: ['metric'] as const,
    registers,
    async collect() {
      const ucf = (await snapshot())?.ucf
      if (ucf) for (const metric of METRICS) this.set({ metric }, ucf[metric])
    }
  })
  new Gauge({
    name: 'helix_orchestrator_ucf_consciousness_level',
    help: 'The UCF consciousness level (0..10)',
    registers,
    async collect() {
      const ucf = (await snapshot())?.ucf
      if (ucf) this.set(consciousnessLevel(ucf))
    }
  })
  new Gauge({
    name: 'helix_orchestrator_ucf_phase',
    help: 'The UCF phase: 1 for the current one (CRITICAL, UNSTABLE, COHERENT, HARMONIOUS, TRANSCENDENT), 0 for the others',
    labelNames: ['phase'] as const,
    registers,
    async collect() {
      const ucf = (await snapshot())?.ucf
      if (!ucf) return
      const current = phaseOf(ucf.harmony)
      for (const phase of PHASES) this.set({ phase }, phase === current ? 1 : 0)
    }
  })
}

/** Counters and histograms fed by the orchestrator's events; returns the bus handler. */
function eventCounters(registry: Registry): (event: BusEvent) => void {
  const registers = [registry]
  const accepted = new Counter({ name: 'helix_orchestrator_commands_accepted_total', help: 'Commands accepted (first seen queued), by command', labelNames: ['command'] as const, registers })
  const finished = new Counter({
    name: 'helix_orchestrator_commands_total',
    help: 'Commands that ended, by command and final status (succeeded, failed, timed_out, cancelled)',
    labelNames: ['command', 'status'] as const,
    registers
  })
  const claims = new Counter({ name: 'helix_orchestrator_command_claims_total', help: 'Commands a worker claimed and started, by command', labelNames: ['command'] as const, registers })
  const requeues = new Counter({
    name: 'helix_orchestrator_command_requeues_total',
    help: 'Running commands queued again because their lease expired (their replica was lost), by command',
    labelNames: ['command'] as const,
    registers
  })
  const queueToStart = new Histogram({
    name: 'helix_orchestrator_command_queue_seconds',
    help: 'From a command\'s creation to its start (the latest start after a re-queue), by command',
    labelNames: ['command'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers
  })
  const runTime = new Histogram({
    name: 'helix_orchestrator_command_run_seconds',
    help: 'From a command\'s start to its end, by command and final status',
    labelNames: ['command', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers
  })
  const rituals = new Counter({ name: 'helix_orchestrator_rituals_total', help: 'Rituals that ended, by name and status (completed, failed)', labelNames: ['name', 'status'] as const, registers })
  const alerts = new Counter({
    name: 'helix_orchestrator_alerts_total',
    help: 'Alerts raised or resolved, by kind (agent, ucf, commands), severity and event',
    labelNames: ['kind', 'severity', 'event'] as const,
    registers
  })
  // Rare events' series start at 0: a series born at 1 shows no increase, so rate() and increase()
  // would miss the first ritual or alert of a process.
  for (const name of RITUALS) for (const status of ['completed', 'failed']) rituals.inc({ name, status }, 0)
  for (const kind of ALERT_KINDS) for (const severity of SEVERITIES) for (const event of ['raised', 'resolved']) alerts.inc({ kind, severity, event }, 0)
  const lastStatus = new LRUCache<string, string>({ max: REMEMBERED_COMMANDS })

  function onCommand(command: Command): void {
    const before = lastStatus.get(command.id)
    // The outbox relay may publish a transition again: count each status of a command once.
    if (before === command.status) return
    lastStatus.set(command.id, command.status)
    const label = commandLabel(command.command)
    if (command.status === 'queued') {
      if (before === 'running') requeues.inc({ command: label })
      else if (before === undefined) accepted.inc({ command: label })
    } else if (command.status === 'running') {
      claims.inc({ command: label })
      const waited = seconds(command.createdAt, command.startedAt)
      if (waited !== null) queueToStart.observe({ command: label }, waited)
    } else if (TERMINAL.has(command.status)) {
      finished.inc({ command: label, status: command.status })
      const ran = seconds(command.startedAt, command.finishedAt)
      if (ran !== null) runTime.observe({ command: label, status: command.status }, ran)
    }
  }

  return (event) => {
    if (event.type === 'command.updated') onCommand(event.data as Command)
    else if (event.type === 'ritual.completed') {
      const ritual = event.data as Ritual
      rituals.inc({ name: RITUALS.has(ritual.name) ? ritual.name : 'other', status: ritual.status })
    } else if (event.type === 'alert.raised' || event.type === 'alert.resolved') {
      const alert = event.data as Alert
      alerts.inc({ kind: ALERT_KINDS.has(alert.kind) ? alert.kind : 'other', severity: alert.severity, event: event.type === 'alert.raised' ? 'raised' : 'resolved' })
    }
  }
}
