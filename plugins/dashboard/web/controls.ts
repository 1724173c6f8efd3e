// Controls for those whose token has the scope: run a ritual, send a command to an agent
// (agents:write) and flip ownership flags (admin). The server checks the scope again.
import { Api, ApiError } from './api.js'
import { byId, el } from './dom.js'
import type { Agent } from './roster.js'

const RITUALS = [
  { value: 'z88', label: 'Z-88 (seeded steps)' },
  { value: 'legend', label: 'Legend · harmony, drishti' },
  { value: 'hymn', label: 'Hymn · harmony, prana' },
  { value: 'law', label: 'Law · resilience, klesha' },
  { value: 'neti_neti', label: 'Neti neti · harmony ↑ klesha ↓' },
  { value: 'tat_tvam_asi', label: 'Tat tvam asi · harmony, prana' },
  { value: 'aham_brahmasmi', label: 'Aham brahmasmi · resilience, zoom' }
]

const BASE_COMMANDS = ['STATUS', 'REFLECT', 'SYNC', 'GENERATE', 'MEMORY_APPEND', 'ARCHIVE']

export interface FlagRow {
  name: string
  description?: string
  enabled: boolean
  source?: string
}

function say(node: HTMLElement, text: string, tone: 'ok' | 'bad'): void {
  node.textContent = text
  node.dataset.tone = tone
}

function failure(err: unknown): string {
  if (err instanceof ApiError && err.status === 403) return 'Your token lacks the scope for this.'
  return (err as Error).message
}

export class Controls {
  private agents: Agent[] = []

  constructor(private readonly api: Api, scopes: Set<string>) {
    const admin = scopes.has('admin')
    const canWrite = admin || scopes.has('agents:write')
    byId('controls').hidden = !canWrite && !admin
    byId('ritual-form').hidden = !canWrite
    byId('command-form').hidden = !canWrite
    byId('flags-panel').hidden = !admin
    if (canWrite) this.wireRitual()
    if (canWrite) this.wireCommand()
  }

  private wireRitual(): void {
    const form = byId<HTMLFormElement>('ritual-form')
    const ritual = byId<HTMLSelectElement>('ritual-name')
    const steps = byId<HTMLInputElement>('ritual-steps')
    const status = byId('ritual-status')
    ritual.replaceChildren(...RITUALS.map((r) => el('option', { value: r.value }, r.label)))
    ritual.addEventListener('change', () => (byId('ritual-steps-field').hidden = ritual.value !== 'z88'))
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      const body = ritual.value === 'z88' ? { name: 'z88', steps: Number(steps.value) } : { name: ritual.value }
      try {
        await this.api.send('POST', '/api/ucf/rituals', body)
        say(status, `${ritual.selectedOptions[0].textContent} started`, 'ok')
      } catch (err) {
        say(status, failure(err), 'bad')
      }
    })
  }

  private wireCommand(): void {
    const form = byId<HTMLFormElement>('command-form')
    const agent = byId<HTMLSelectElement>('command-agent')
    const command = byId<HTMLSelectElement>('command-name')
    const status = byId('command-status')
    agent.addEventListener('change', () => this.fillCommands())
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      const who = this.agents.find((a) => a.slug === agent.value)
      try {
        await this.api.send('POST', `/api/agents/${encodeURIComponent(agent.value)}/commands`, { command: command.value, args: {} })
        say(status, `${command.value} sent to ${who?.name ?? agent.value}`, 'ok')
      } catch (err) {
        say(status, failure(err), 'bad')
      }
    })
  }

  setAgents(agents: Agent[]): void {
    this.agents = agents
    const select = byId<HTMLSelectElement>('command-agent')
    const current = select.value
    select.replaceChildren(...agents.map((a) => el('option', { value: a.slug }, `${a.emoji} ${a.name}`)))
    if (agents.some((a) => a.slug === current)) select.value = current
    this.fillCommands()
  }

  /** Focuses the command form on the agent whose card was chosen. */
  pick(agent: Agent): void {
    const form = byId('command-form')
    if (form.hidden) return
    byId<HTMLSelectElement>('command-agent').value = agent.slug
    this.fillCommands()
    byId<HTMLSelectElement>('command-name').focus()
    form.scrollIntoView({ behavior: 'smooth', block: 'nearest' })
  }

  private fillCommands(): void {
    const select = byId<HTMLSelectElement>('command-name')
    const slug = byId<HTMLSelectElement>('command-agent').value
    const agent = this.agents.find((a) => a.slug === slug)
    const names = [...new Set([...(agent?.commands?.length ? agent.commands : BASE_COMMANDS)])]
    const current = select.value
    select.replaceChildren(...names.map((n) => el('option', { value: n }, n)))
    if (names.includes(current)) select.value = current
  }

  async loadFlags(): Promise<void> {
    const panel = byId('flags-panel')
    if (panel.hidden) return
    const list = byId('flags-list')
    const status = byId('flags-status')
    let rows: FlagRow[]
    try {
      const body = await this.api.get<any>('/admin/flags')
      rows = Array.isArray(body) ? body : (body.items ?? body.flags ?? [])
    } catch (err) {
      say(status, `Flags unavailable: ${failure(err)}`, 'bad')
      return
    }
    list.replaceChildren(...rows.map((f) => {
      const id = `flag-${f.name.replace(/\W/g, '-')}`
      const toggle = el('input', { type: 'checkbox', role: 'switch', id, 'data-flag': f.name })
      toggle.checked = f.enabled
      toggle.addEventListener('change', async () => {
        toggle.disabled = true
        try {
          await this.api.send('PUT', `/admin/flags/${encodeURIComponent(f.name)}`, { enabled: toggle.checked })
          say(status, `${f.name} is now ${toggle.checked ? 'on' : 'off'}`, 'ok')
        } catch (err) {
          toggle.checked = !toggle.checked
          say(status, failure(err), 'bad')
        } finally {
          toggle.disabled = false
        }
      })
      return el('li', { class: 'flag' },
        el('label', { for: id, class: 'flag-label' },
          el('span', { class: 'flag-name' }, f.name),
          el('span', { class: 'muted small' }, [f.description, f.source && `source: ${f.source}`].filter(Boolean).join(' · '))),
        toggle)
    }))
  }
}
