// "Command an agent" (scope agents:write): the commands the chosen agent takes, each with the fields
// its args schema asks for (GET /api/commands/catalog), checked before sending; the server's 400
// message is shown when it still refuses.
import { ApiError, type Api } from './api.js'
import { argFields, readArgs, type ArgField, type JsonSchema } from './arg-fields.js'
import { byId, el } from './dom.js'
import type { Agent } from './roster.js'

export interface CatalogEntry {
  command: string
  description: string
  agents: string[] | null
  args: JsonSchema
}

interface SentCommand {
  id: string
  command: string
  status: string
}

function say(node: HTMLElement, text: string, tone: 'ok' | 'bad'): void {
  node.textContent = text
  node.dataset.tone = tone
}

export class CommandForm {
  private agents: Agent[] = []
  private catalog = new Map<string, CatalogEntry>()
  private fields: ArgField[] = []
  private readonly form = byId<HTMLFormElement>('command-form')
  private readonly agent = byId<HTMLSelectElement>('command-agent')
  private readonly command = byId<HTMLSelectElement>('command-name')
  private readonly status = byId('command-status')

  constructor(private readonly api: Api) {
    this.agent.addEventListener('change', () => this.fillCommands())
    this.command.addEventListener('change', () => this.fillArgs())
    this.form.addEventListener('submit', (e) => {
      e.preventDefault()
      void this.send()
    })
  }

  /** Without the catalog the form still sends commands that take no args; the rest get the server's 400. */
  async loadCatalog(): Promise<void> {
    try {
      const body = await this.api.get<{ items: CatalogEntry[] }>('/api/commands/catalog')
      this.catalog = new Map(body.items.map((c) => [c.command, c]))
      this.form.dataset.catalog = 'loaded'
    } catch (err) {
      say(this.status, `The command catalog could not be loaded: ${(err as Error).message}`, 'bad')
      this.form.dataset.catalog = 'failed'
    }
    this.fillCommands()
  }

  setAgents(agents: Agent[]): void {
    this.agents = agents
    const current = this.agent.value
    this.agent.replaceChildren(...agents.map((a) => el('option', { value: a.slug }, a.name)))
    if (agents.some((a) => a.slug === current)) this.agent.value = current
    this.fillCommands()
  }

  /** Focuses the form on the agent whose card was chosen. */
  pick(agent: Agent): void {
    if (this.form.hidden) return
    this.agent.value = agent.slug
    this.fillCommands()
    this.command.focus()
    this.form.scrollIntoView({ behavior: 'smooth', block: 'nearest' })
  }

  private fillCommands(): void {
    const agent = this.agents.find((a) => a.slug === this.agent.value)
    // The agent's own list is what it takes now; the catalog, what the server knows how to run.
    const names = agent?.commands?.length ? agent.commands : [...this.catalog.keys()]
    const current = this.command.value
    this.command.replaceChildren(...names.map((n) => el('option', { value: n }, n)))
    if (names.includes(current)) this.command.value = current
    this.fillArgs()
  }

  private fillArgs(): void {
    const entry = this.catalog.get(this.command.value)
    byId('command-help').textContent = entry?.description ?? ''
    const previous = new Map(this.fields.map((f) => [f.name, f.input.value]))
    this.fields = entry ? argFields(entry.args, `arg-${entry.command.toLowerCase()}`) : []
    for (const f of this.fields) {
      // Switching agents keeps what was typed for the same command.
      const value = previous.get(f.name)
      if (value !== undefined && this.form.dataset.command === entry?.command) f.input.value = value
    }
    this.form.dataset.command = entry?.command ?? ''
    byId('command-args').replaceChildren(...this.fields.map((f) => f.node))
  }

  private async send(): Promise<void> {
    const read = readArgs(this.fields)
    if ('error' in read) {
      say(this.status, read.error, 'bad')
      read.field.input.focus()
      return
    }
    const who = this.agents.find((a) => a.slug === this.agent.value)
    try {
      const sent = await this.api.send<SentCommand>('POST', `/api/agents/${encodeURIComponent(this.agent.value)}/commands`, { command: this.command.value, args: read.args })
      say(this.status, `${sent.command} sent to ${who?.name ?? this.agent.value}`, 'ok')
      this.status.dataset.commandId = sent.id
    } catch (err) {
      say(this.status, err instanceof ApiError && err.status === 403 ? 'Your token lacks the scope for this.' : (err as Error).message, 'bad')
    }
  }
}
