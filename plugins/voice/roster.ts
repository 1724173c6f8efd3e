// What voice commands can name: the wake words, the live agent roster and the command catalogue, read
// through the orchestrator client and read again whenever an agent changes (the `agents` channel).
import type { Bus, BusHandler } from '../../core/bus/types.js'
import type { OrchestratorClient } from '../../core/clients/index.js'
import { spokenCommand, WAKE_WORDS } from './grammar.js'
import type { CommandWords } from './types.js'

/** Pages of agents read at most (100 each): a bound, not an expected size. */
const MAX_PAGES = 20

export class Roster {
  private current: Promise<CommandWords> | null = null
  private readonly onAgents: BusHandler = () => {
    this.current = null
  }

  constructor(private readonly orchestrator: OrchestratorClient, private readonly bus: Bus) {}

  async follow(): Promise<void> {
    await this.bus.subscribe('agents', this.onAgents)
  }

  async stop(): Promise<void> {
    await this.bus.unsubscribe('agents', this.onAgents)
  }

  /** The words, read on behalf of `actor` when they are not known yet. */
  words(actor: string): Promise<CommandWords> {
    if (!this.current) {
      const loading = this.load(actor)
      this.current = loading
      loading.catch(() => {
        if (this.current === loading) this.current = null
      })
    }
    return this.current
  }

  private async load(actor: string): Promise<CommandWords> {
    const calls = this.orchestrator.for(actor)
    const agents: string[] = []
    let cursor: string | undefined
    for (let page = 0; page < MAX_PAGES; page++) {
      const result = await calls.listAgents({ limit: 100, cursor })
      agents.push(...result.items.map((a) => a.slug.toLowerCase()))
      if (!result.nextCursor) break
      cursor = result.nextCursor
    }
    const catalog = await calls.catalog()
    return { wakeWords: WAKE_WORDS, agents, commands: catalog.map((c) => spokenCommand(c.command)) }
  }
}
