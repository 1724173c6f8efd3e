// The orchestrator plugin (DESIGN section 9): agents, durable commands, the UCF, rituals and alerts.
// Routes are served wherever the plugin is loaded; the workers run only in the owning process.
import { ownershipFlag } from '../../flags/names.js'
import { definePlugin, type PluginDescriptor } from '../../core/plugin.js'
import { AgentService } from './agent-service.js'
import { AlertService } from './alert-service.js'
import { createHandlers } from './command-handlers.js'
import { CommandQueue } from './command-queue.js'
import { migrations } from './migrations.js'
import { Sql } from './models.js'
import { RitualService } from './ritual-service.js'
import { orchestratorRoutes } from './routes.js'
import { SEED_AGENTS } from './seed-agents.js'
import { TemplateTextGenerator, type TextGenerator } from './text-generator.js'
import { UcfService } from './ucf-service.js'
import { CommandWorker, ownerId, RitualWorker, UcfHeartbeat, type WorkerOptions } from './worker.js'

export interface OrchestratorOptions extends Partial<WorkerOptions> {
  /** Produces GENERATE and INSIGHT text; the default is a deterministic template. */
  textGenerator?: TextGenerator
}

export function createOrchestratorPlugin(options: OrchestratorOptions = {}): PluginDescriptor {
  return definePlugin({
    name: 'orchestrator',
    roles: ['orchestrator'],
    ownershipFlag: ownershipFlag('orchestrator'),
    // The command and ritual queues are rows claimed with SKIP LOCKED: every replica may execute.
    sharedWorkers: true,
    migrations,
    async create(kernel) {
      const { bus, log, config } = kernel
      const pluginLog = log.child({ plugin: 'orchestrator' })
      const sql = new Sql(kernel.db.sequelize, config.databaseUrl, pluginLog)
      const alerts = new AlertService(sql, bus)
      const ucf = new UcfService(sql, bus, alerts)
      const agents = new AgentService(sql, bus)
      const queue = new CommandQueue(sql, bus, alerts, pluginLog)
      const rituals = new RitualService(sql, bus, ucf)
      const defaultTimeoutMs = config.orchestrator.commandTimeoutMs
      const workerOptions: WorkerOptions = {
        concurrency: options.concurrency ?? 64,
        leaseMs: options.leaseMs ?? 5000,
        pollMs: options.pollMs ?? 1000,
        staleQueueMs: options.staleQueueMs ?? 60_000,
        heartbeatMs: options.heartbeatMs ?? 5000
      }
      const handlers = createHandlers({ sql, bus, ucf, queue, agents, text: options.textGenerator ?? new TemplateTextGenerator(), defaultTimeoutMs })
      const owner = ownerId()
      const commandWorker = new CommandWorker({ queue, handlers, bus, alerts, log: pluginLog, owner, options: workerOptions })
      const ritualWorker = new RitualWorker({ rituals, log: pluginLog, owner, concurrency: 8, leaseMs: workerOptions.leaseMs, pollMs: workerOptions.pollMs })
      const heartbeat = new UcfHeartbeat({ ucf, bus, log: pluginLog, intervalMs: workerOptions.heartbeatMs })

      await agents.followChanges()
      const seeded = await agents.seed(SEED_AGENTS)
      if (seeded.length > 0) pluginLog.info({ agents: seeded.map((a) => a.slug) }, 'seeded agents')

      return {
        routes: orchestratorRoutes({ agents, queue, ucf, rituals, alerts, defaultTimeoutMs, ritualQueued: () => ritualWorker.kick() }),
        workers: [commandWorker, ritualWorker, heartbeat],
        close: async () => {
          await agents.stopFollowing()
          await sql.close()
        }
      }
    }
  })
}

export const orchestratorPlugin = createOrchestratorPlugin()
