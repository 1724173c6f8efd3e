// The orchestrator's REST API under /api (DESIGN section 9), one route file per resource.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { AgentService } from '../agent-service.js'
import type { RateLimits } from '../../../core/rate-limit.js'
import type { AlertService } from '../alert-service.js'
import type { CommandQueue } from '../command-queue.js'
import type { RitualService } from '../ritual-service.js'
import type { UcfService } from '../ucf-service.js'
import { agentRoutes } from './agents.js'
import { alertRoutes } from './alerts.js'
import { commandRoutes } from './commands.js'
import { orchestrateRoutes } from './orchestrate.js'
import { ritualRoutes } from './rituals.js'
import { ucfRoutes } from './ucf.js'

export interface RouteDeps {
  agents: AgentService
  queue: CommandQueue
  ucf: UcfService
  rituals: RitualService
  alerts: AlertService
  defaultTimeoutMs: number
  /** Wakes the local ritual runner, when this process runs it. */
  ritualQueued(): void
  /** The kernel's shared limits; the routes that start work take `write`. */
  rateLimits: RateLimits
}

export function orchestratorRoutes(deps: RouteDeps): FastifyPluginAsyncTypebox {
  const { agents, queue, ucf, rituals, alerts, defaultTimeoutMs, ritualQueued, rateLimits } = deps
  return async function routes(app) {
    await app.register(agentRoutes, { agents })
    await app.register(commandRoutes, { agents, queue, defaultTimeoutMs, rateLimits })
    await app.register(orchestrateRoutes, { agents, queue, defaultTimeoutMs, rateLimits })
    await app.register(ucfRoutes, { ucf, rateLimits })
    await app.register(ritualRoutes, { rituals, ritualQueued, rateLimits })
    await app.register(alertRoutes, { alerts })
  }
}
