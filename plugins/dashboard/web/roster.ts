// The agent roster: one card per agent with its SVG icon, tier and a live status badge. Cards are
// keyed by id and replaced only by a newer `version`, so a late snapshot never undoes a live update.
import { agentIcon } from './agent-icon.js'
import { el } from './dom.js'

export interface Agent {
  id: string
  slug: string
  name: string
  emoji: string
  tier: string
  role: string
  status: string
  statusReason?: string | null
  commands: string[]
  version: number
}

const TIER_ORDER = ['inner_core', 'middle_ring', 'outer_ring', 'implicit', 'operational', 'integration']

function tierLabel(tier: string): string {
  return tier.replace('_', ' ')
}

export class Roster {
  readonly agents = new Map<string, Agent>()
  private readonly cards = new Map<string, HTMLElement>()
  private readonly listeners: ((agents: Agent[]) => void)[] = []

  constructor(private readonly host: HTMLElement, private readonly count: HTMLElement, private readonly onPick: (agent: Agent) => void) {}

  onChange(listener: (agents: Agent[]) => void): void {
    this.listeners.push(listener)
  }

  sorted(): Agent[] {
    return [...this.agents.values()].sort((a, b) =>
      TIER_ORDER.indexOf(a.tier) - TIER_ORDER.indexOf(b.tier) || a.name.localeCompare(b.name))
  }

  /** A fresh listing; an agent a live event already moved past the listing's version keeps that state. */
  replaceAll(agents: Agent[]): void {
    const live = new Map(this.agents)
    this.agents.clear()
    for (const a of agents) {
      const known = live.get(a.id)
      this.agents.set(a.id, known && known.version > a.version ? known : a)
    }
    this.host.replaceChildren()
    this.cards.clear()
    this.renderAll()
  }

  upsert(agent: Agent): void {
    const known = this.agents.get(agent.id)
    if (known && typeof agent.version === 'number' && agent.version < known.version) return
    const merged = { ...known, ...agent }
    this.agents.set(agent.id, merged)
    const card = this.cards.get(agent.id)
    if (card) this.fill(card, merged)
    else this.renderAll()
    if (!known) this.emit()
  }

  remove(id: string): void {
    if (!this.agents.delete(id)) return
    this.cards.get(id)?.remove()
    this.cards.delete(id)
    this.renderCount()
    this.emit()
  }

  private renderAll(): void {
    const cards = this.sorted().map((a) => {
      let card = this.cards.get(a.id)
      if (!card) {
        card = el('button', { type: 'button', class: 'agent' })
        card.addEventListener('click', () => this.onPick(this.agents.get(a.id)!))
        this.cards.set(a.id, card)
      }
      this.fill(card, a)
      return card
    })
    this.host.replaceChildren(...cards)
    this.renderCount()
    this.emit()
  }

  private renderCount(): void {
    const busy = [...this.agents.values()].filter((a) => a.status === 'busy' || a.status === 'active').length
    this.count.textContent = `${this.agents.size} agents · ${busy} working`
  }

  private fill(card: HTMLElement, a: Agent): void {
    card.dataset.agent = a.slug
    card.dataset.status = a.status
    card.dataset.tier = a.tier
    card.setAttribute('aria-label', `${a.name}, ${tierLabel(a.tier)}, ${a.status}. Choose to send a command.`)
    card.title = a.statusReason ? `${a.role} — ${a.statusReason}` : a.role
    card.replaceChildren(
      agentIcon(a),
      el('span', { class: 'agent-text' },
        el('span', { class: 'agent-name' }, a.name),
        el('span', { class: 'agent-tier' }, tierLabel(a.tier))),
      el('span', { class: `badge badge-${a.status}`, 'data-badge': a.status }, a.status)
    )
    this.renderCount()
  }

  private emit(): void {
    const agents = this.sorted()
    for (const l of this.listeners) l(agents)
  }
}
