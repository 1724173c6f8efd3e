// The typed client of the orchestrator's REST API for the other plugins (voice, Zapier, the bot).
// Calls go through ServiceTransport (in-process or over HTTP); waiting for a command's end listens
// to `command.updated` on the bus instead of polling the database.
import type { Bus, BusHandler } from '../bus/types.js'
import { isTerminal, type Agent, type AgentSummary, type Command, type CommandCatalog, type CommandCatalogEntry, type PageOf, type Ritual, type RitualName, type Tier, type UcfMetrics, type UcfState } from '../contracts/orchestrator.js'
import type { ServiceTransport } from './service-transport.js'

export interface CommandInput {
  command: string
  args?: Record<string, unknown>
  timeoutMs?: number
}

/** The orchestrator as seen by one subject: every call is made on its behalf. */
export interface OrchestratorCalls {
  listAgents(query?: { tier?: Tier; capability?: string; status?: string; limit?: number; cursor?: string }): Promise<PageOf<Agent>>
  getAgent(idOrSlug: string): Promise<Agent>
  agentSummary(): Promise<AgentSummary>
  catalog(): Promise<CommandCatalogEntry[]>
  sendCommand(agent: string, input: CommandInput, options?: { idempotencyKey?: string }): Promise<Command>
  getCommand(id: string): Promise<Command>
  cancelCommand(id: string): Promise<Command>
  ucf(): Promise<UcfState>
  /** Adds deltas to the metrics (clamped); with an idempotency key the same adjustment applies once. */
  adjustUcf(deltas: Partial<UcfMetrics>, options?: { reason?: string; idempotencyKey?: string }): Promise<UcfState>
  startRitual(input: { name: RitualName; steps?: number; seed?: number }): Promise<Ritual>
  getRitual(id: string): Promise<Ritual>
}

type Waiter = (command: Command) => void

export class OrchestratorClient {
  /** Commands being waited for, by id; one bus subscription serves them all. */
  private readonly waiters = new Map<string, Set<Waiter>>()
  private subscribed: Promise<void> | null = null
  private stopReconnect: (() => void) | null = null

  constructor(
    private readonly transport: ServiceTransport,
    private readonly bus: Bus
  ) {}

  for(onBehalfOf: string): OrchestratorCalls {
    const t = this.transport
    const read = ['agents:read'] as const
    const write = ['agents:write'] as const
    const enc = encodeURIComponent
    return {
      listAgents: (query = {}) => t.json('orchestrator', { method: 'GET', path: '/api/agents', query, scopes: read, onBehalfOf }),
      getAgent: (idOrSlug) => t.json('orchestrator', { method: 'GET', path: `/api/agents/${enc(idOrSlug)}`, scopes: read, onBehalfOf }),
      agentSummary: () => t.json('orchestrator', { method: 'GET', path: '/api/agents/status', scopes: read, onBehalfOf }),
      catalog: async () => (await t.json<CommandCatalog>('orchestrator', { method: 'GET', path: '/api/commands/catalog', scopes: read, onBehalfOf })).items,
      sendCommand: (agent, input, options = {}) => t.json('orchestrator', {
        method: 'POST',
        path: `/api/agents/${enc(agent)}/commands`,
        body: input,
        headers: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined,
        scopes: write,
        onBehalfOf
      }),
      getCommand: (id) => t.json('orchestrator', { method: 'GET', path: `/api/commands/${enc(id)}`, scopes: read, onBehalfOf }),
      cancelCommand: (id) => t.json('orchestrator', { method: 'POST', path: `/api/commands/${enc(id)}/cancel`, scopes: write, onBehalfOf }),
      ucf: () => t.json('orchestrator', { method: 'GET', path: '/api/ucf', scopes: read, onBehalfOf }),
      adjustUcf: (deltas, options = {}) => t.json('orchestrator', {
        method: 'POST',
        path: '/api/ucf/adjust',
        body: { deltas, ...(options.reason ? { reason: options.reason } : {}) },
        headers: options.idempotencyKey ? { 'idempotency-key': options.idempotencyKey } : undefined,
        scopes: write,
        onBehalfOf
      }),
      startRitual: (input) => t.json('orchestrator', { method: 'POST', path: '/api/ucf/rituals', body: input, scopes: write, onBehalfOf }),
      getRitual: (id) => t.json('orchestrator', { method: 'GET', path: `/api/rituals/${enc(id)}`, scopes: read, onBehalfOf })
    }
  }

  /**
   * Resolves with the command once it has ended (succeeded, failed, timed_out, cancelled), or with
   * its latest known state when `timeoutMs` runs out first: check `isTerminal(command.status)`.
   */
  async waitForFinal(command: Command, options: { timeoutMs: number; onBehalfOf: string }): Promise<Command> {
    if (isTerminal(command.status)) return command
    let latest = command
    let settle!: Waiter
    const done = new Promise<Command>((resolve) => (settle = resolve))
    const waiter: Waiter = (update) => {
      latest = update
      if (isTerminal(update.status)) settle(update)
    }
    this.addWaiter(command.id, waiter)
    const timer = setTimeout(() => settle(latest), options.timeoutMs)
    try {
      await this.subscribe()
      // Subscribed first, read second: an end that came before the subscription is in the read.
      waiter(await this.for(options.onBehalfOf).getCommand(command.id))
      return await done
    } finally {
      clearTimeout(timer)
      this.removeWaiter(command.id, waiter)
    }
  }

  async close(): Promise<void> {
    this.stopReconnect?.()
    if (this.subscribed) await this.bus.unsubscribe('commands', this.onEvent).catch(() => undefined)
    this.subscribed = null
  }

  private readonly onEvent: BusHandler = (event) => {
    if (event.type !== 'command.updated') return
    const command = event.data as Command
    const waiters = this.waiters.get(command.id)
    if (waiters) for (const waiter of [...waiters]) waiter(command)
  }

  private subscribe(): Promise<void> {
    if (!this.subscribed) {
      this.subscribed = this.bus.subscribe('commands', this.onEvent)
      // Events published while the bus was away were not delivered: read the waited-for commands again.
      this.stopReconnect = this.bus.onReconnect(() => {
        for (const id of this.waiters.keys()) void this.refresh(id)
      })
    }
    return this.subscribed
  }

  private async refresh(id: string): Promise<void> {
    try {
      const command = await this.for('service:refresh').getCommand(id)
      for (const waiter of [...(this.waiters.get(id) ?? [])]) waiter(command)
    } catch {
      // The waiter still has its timeout.
    }
  }

  private addWaiter(id: string, waiter: Waiter): void {
    let set = this.waiters.get(id)
    if (!set) this.waiters.set(id, (set = new Set()))
    set.add(waiter)
  }

  private removeWaiter(id: string, waiter: Waiter): void {
    const set = this.waiters.get(id)
    set?.delete(waiter)
    if (set?.size === 0) this.waiters.delete(id)
  }
}
