// Controls for those whose token has the scope: run a ritual, send a command to an agent
// (agents:write) and flip ownership flags (admin). The server checks the scope again.
import { Api, ApiError } from './api.js'
import { CommandForm } from './command-form.js'
import { byId, el } from './dom.js'
import { FlagsCard } from './flags.js'
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

function say(node: HTMLElement, text: string, tone: 'ok' | 'bad'): void {
  node.textContent = text
  node.dataset.tone = tone
}

function failure(err: unknown): string {
  if (err instanceof ApiError && err.status === 403) return 'Your token lacks the scope for this.'
  return (err as Error).message
}

export class Controls {
  readonly commands: CommandForm | null = null
  readonly flags: FlagsCard | null = null

  constructor(private readonly api: Api, scopes: Set<string>) {
    const admin = scopes.has('admin')
    const canWrite = admin || scopes.has('agents:write')
    byId('controls').hidden = !canWrite && !admin
    byId('ritual-form').hidden = !canWrite
    byId('command-form').hidden = !canWrite
    byId('flags-panel').hidden = !admin
    if (canWrite) {
      this.wireRitual()
      this.commands = new CommandForm(api)
      void this.commands.loadCatalog()
    }
    if (admin) {
      this.flags = new FlagsCard(api)
      void this.flags.load()
    }
  }

  setAgents(agents: Agent[]): void {
    this.commands?.setAgents(agents)
  }

  pick(agent: Agent): void {
    this.commands?.pick(agent)
  }

  /** A flag, an owner or a plugin's readiness changed somewhere. */
  refreshFlags(): void {
    void this.flags?.load()
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
}
