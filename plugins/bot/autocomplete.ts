// Autocomplete choices for agent, command and ritual options, from the orchestrator's roster and
// catalog; both are cached briefly, since Discord asks on every keystroke and wants an answer in 3 s.
import type { ApplicationCommandOptionChoiceData } from 'discord.js'
import type { OrchestratorClient } from '../../core/clients/index.js'
import type { Agent, CommandCatalogEntry } from '../../core/contracts/orchestrator.js'
import { RITUAL_NAMES } from '../../core/contracts/orchestrator.js'

const AGENTS_TTL_MS = 15_000
const CATALOG_TTL_MS = 60_000
/** Discord shows at most 25 choices. */
const MAX_CHOICES = 25

interface Cached<T> {
  value: Promise<T>
  until: number
}

export class ChoiceSource {
  private agents: Cached<Agent[]> | null = null
  private catalog: Cached<CommandCatalogEntry[]> | null = null

  constructor(private readonly orchestrator: OrchestratorClient) {}

  async agentChoices(typed: string, onBehalfOf: string): Promise<ApplicationCommandOptionChoiceData<string>[]> {
    const agents = await this.allAgents(onBehalfOf)
    return rank(agents.map((a) => ({ name: `${a.emoji} ${a.name} (${a.status})`, value: a.slug, keys: [a.slug, a.name] })), typed)
  }

  /** Commands the chosen agent takes (all of the catalog's when no agent is chosen yet). */
  async commandChoices(typed: string, agentSlug: string | null, onBehalfOf: string): Promise<ApplicationCommandOptionChoiceData<string>[]> {
    const [catalog, agents] = await Promise.all([this.allCommands(onBehalfOf), agentSlug ? this.allAgents(onBehalfOf) : Promise.resolve([])])
    const agent = agents.find((a) => a.slug === agentSlug)
    const entries = agent ? catalog.filter((c) => agent.commands.includes(c.command)) : catalog
    return rank(entries.map((c) => ({ name: `${c.command}: ${c.description}`.slice(0, 100), value: c.command, keys: [c.command] })), typed)
  }

  ritualChoices(typed: string): ApplicationCommandOptionChoiceData<string>[] {
    return rank(RITUAL_NAMES.map((r) => ({ name: r, value: r, keys: [r] })), typed)
  }

  private allAgents(onBehalfOf: string): Promise<Agent[]> {
    this.agents = fresh(this.agents, AGENTS_TTL_MS, async () => (await this.orchestrator.for(onBehalfOf).listAgents({ limit: 100 })).items)
    return this.agents.value
  }

  private allCommands(onBehalfOf: string): Promise<CommandCatalogEntry[]> {
    this.catalog = fresh(this.catalog, CATALOG_TTL_MS, () => this.orchestrator.for(onBehalfOf).catalog())
    return this.catalog.value
  }
}

/** The cached value while it is young; a failed load is not kept. */
function fresh<T>(cached: Cached<T> | null, ttlMs: number, load: () => Promise<T>): Cached<T> {
  const now = Date.now()
  if (cached && cached.until > now) return cached
  const entry: Cached<T> = { value: load(), until: now + ttlMs }
  entry.value.catch(() => (entry.until = 0))
  return entry
}

/** Prefix matches first, then substring matches, at most 25. */
function rank(options: { name: string; value: string; keys: string[] }[], typed: string): ApplicationCommandOptionChoiceData<string>[] {
  const q = typed.trim().toLowerCase()
  const score = (keys: string[]) => (keys.some((k) => k.toLowerCase().startsWith(q)) ? 0 : keys.some((k) => k.toLowerCase().includes(q)) ? 1 : 2)
  return options
    .map((o) => ({ o, s: score(o.keys) }))
    .filter(({ s }) => s < 2)
    .sort((a, b) => a.s - b.s)
    .slice(0, MAX_CHOICES)
    .map(({ o }) => ({ name: o.name, value: o.value }))
}
