// The orchestrator plugin (DESIGN section 9): agents, durable commands, the UCF, rituals and alerts.
// Routes are served wherever the plugin is loaded; the workers run only in the owning process.
import { ownershipFlag } from '../../flags/names.js'
import { definePlugin, type PluginDescriptor } from '../../core/plugin.js'
import { ownerId } from '../../core/workers/claiming-worker.js'
import { AgentService } from './agent-service.js'
import { AlertService } from './alert-service.js'
import { CommandBatcher } from './command-batcher.js'
import { CommandDal } from './command-dal.js'
import { CommandEvents } from './command-events.js'
import { createHandlers } from './command-handlers.js'
import { CommandQueue } from './command-queue.js'
import { CommandReaper } from './command-reaper.js'
import { PostgresCommandSql } from './command-sql-postgres.js'
import { SqliteCommandSql } from './command-sql-sqlite.js'
import { CommandWorker, type WorkerOptions } from './command-worker.js'
import { followOrchestratorMetrics } from './metrics.js'
import { migrations } from './migrations.js'
import { Outbox } from './outbox.js'
import { OutboxRelay } from './outbox-relay.js'
import { RetentionPruner } from './retention.js'
import { RitualService } from './ritual-service.js'
import { RitualWorker } from './ritual-worker.js'
import { orchestratorRoutes } from './routes/index.js'
import { SEED_AGENTS } from './seed-agents.js'
import { orchestratorSettings } from './settings.js'
import { Sql } from './sql.js'
import { TemplateTextGenerator, type TextGenerator } from './text-generator.js'
import { UcfHeartbeat } from './ucf-heartbeat.js'
import { UcfService } from './ucf-service.js'

export interface OrchestratorOptions extends Partial<WorkerOptions> {
  /** Produces GENERATE and INSIGHT text; the default is a deterministic template. */
  textGenerator?: TextGenerator
  /** How old a stored event must be before the outbox relay publishes it (default 5 s; see OutboxRelay). */
  outboxGraceMs?: number
  /** How often the owner prunes past HELIX_RETENTION_DAYS (default hourly). */
  retentionEveryMs?: number
}

export function createOrchestratorPlugin(options: OrchestratorOptions = {}): PluginDescriptor {
  return definePlugin({
    name: 'orchestrator',
    title: 'Orchestration (`plugins/orchestrator`)',
    roles: ['orchestrator'],
    ownershipFlag: ownershipFlag('orchestrator'),
    // The command and ritual queues are rows claimed with SKIP LOCKED: every replica may execute.
    sharedWorkers: true,
    needsDatabase: true,
    settings: orchestratorSettings,
    migrations,
    async create(kernel, _app, settings) {
      const { bus, log, config, clock } = kernel
      const pluginLog = log.child({ plugin: 'orchestrator' })
      const sql = new Sql(kernel.db.sequelize, config.databaseUrl, pluginLog)
      const outbox = new Outbox(sql, bus, pluginLog)
      const alerts = new AlertService(sql, bus, outbox)
      const ucf = new UcfService(sql, bus, alerts, outbox, kernel.trace)
      const agents = new AgentService(sql, bus, outbox)
      const commandDal = new CommandDal(sql, sql.postgres ? new PostgresCommandSql(sql, outbox) : new SqliteCommandSql(sql, outbox), outbox)
      const commandEvents = new CommandEvents(outbox, alerts, pluginLog)
      const queue = new CommandQueue(commandDal, new CommandBatcher(commandDal, kernel.trace), commandEvents, kernel.trace)
      const reaper = new CommandReaper(commandDal, queue, commandEvents)
      const rituals = new RitualService(sql, bus, ucf, outbox)
      const defaultTimeoutMs = settings.HELIX_COMMAND_TIMEOUT_MS
      const workerOptions: WorkerOptions = {
        concurrency: options.concurrency ?? 64,
        leaseMs: options.leaseMs ?? 5000,
        pollMs: options.pollMs ?? 1000,
        staleQueueMs: options.staleQueueMs ?? 60_000,
        heartbeatMs: options.heartbeatMs ?? 5000
      }
      const handlers = createHandlers({ sql, bus, ucf, queue, agents, text: options.textGenerator ?? new TemplateTextGenerator(), defaultTimeoutMs })
      const owner = ownerId()
      const commandWorker = new CommandWorker({ queue, reaper, handlers, bus, alerts, log: pluginLog, clock, owner, options: workerOptions, trace: kernel.trace })
      const ritualWorker = new RitualWorker({ rituals, log: pluginLog, clock, owner, concurrency: 8, leaseMs: workerOptions.leaseMs, pollMs: workerOptions.pollMs })
      const heartbeat = new UcfHeartbeat({ ucf, bus, log: pluginLog, clock, intervalMs: workerOptions.heartbeatMs })
      // A process publishes its own transitions within this time unless it died or the bus was down.
      const relay = new OutboxRelay({ outbox, log: pluginLog, clock, pollMs: workerOptions.pollMs, graceMs: options.outboxGraceMs ?? 5000 })
      const pruner = new RetentionPruner({ sql, log: pluginLog, clock, retentionDays: settings.HELIX_RETENTION_DAYS, everyMs: options.retentionEveryMs })

      await followOrchestratorMetrics({ registry: kernel.metrics, sql, bus, log: pluginLog })
      await agents.followChanges()
      const seeded = await agents.seed(SEED_AGENTS)
      if (seeded.length > 0) pluginLog.debug({ agents: seeded.map((a) => a.slug) }, 'seeded agents')

      return {
        routes: orchestratorRoutes({ agents, queue, ucf, rituals, alerts, defaultTimeoutMs, ritualQueued: () => ritualWorker.kick(), rateLimits: kernel.rateLimits }),
        workers: [commandWorker, ritualWorker, heartbeat, relay, pruner],
        close: async () => {
          await agents.stopFollowing()
          await outbox.flush()
          await sql.close()
        }
      }
    }
  })
}

export const orchestratorPlugin = createOrchestratorPlugin()
