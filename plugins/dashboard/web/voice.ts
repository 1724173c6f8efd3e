// The voice panel (scope `voice`): type a line, pick an agent, hear it in that agent's voice through
// POST /api/voice/synthesize (JSON with base64, played from a blob: URL).
import { ApiError, type Api } from './api.js'
import { byId, el } from './dom.js'
import type { Agent } from './roster.js'

interface Synthesized {
  audio: string
  contentType: string
  provider: string
  cached: boolean
}

export class VoicePanel {
  private url: string | null = null

  constructor(private readonly api: Api, scopes: Set<string>) {
    const allowed = scopes.has('voice') || scopes.has('admin')
    byId('voice-form').hidden = !allowed
    if (allowed) byId('controls').hidden = false
    if (allowed) this.wire()
  }

  setAgents(agents: Agent[]): void {
    const select = byId<HTMLSelectElement>('voice-agent')
    const current = select.value
    select.replaceChildren(...agents.map((a) => el('option', { value: a.slug }, a.name)))
    if (agents.some((a) => a.slug === current)) select.value = current
  }

  private wire(): void {
    const form = byId<HTMLFormElement>('voice-form')
    const text = byId<HTMLTextAreaElement>('voice-text')
    const agent = byId<HTMLSelectElement>('voice-agent')
    const player = byId<HTMLAudioElement>('voice-player')
    const status = byId('voice-status')
    form.addEventListener('submit', async (e) => {
      e.preventDefault()
      status.textContent = 'Synthesizing…'
      delete status.dataset.tone
      try {
        const result = await this.api.send<Synthesized>('POST', '/api/voice/synthesize', { text: text.value, agent: agent.value, encoding: 'MP3' })
        const bytes = Uint8Array.from(atob(result.audio), (c) => c.charCodeAt(0))
        if (this.url) URL.revokeObjectURL(this.url)
        this.url = URL.createObjectURL(new Blob([bytes], { type: result.contentType }))
        player.src = this.url
        player.hidden = false
        await player.play().catch(() => undefined)
        status.textContent = `Spoken by ${result.provider}${result.cached ? ' (cached)' : ''}`
        status.dataset.tone = 'ok'
      } catch (err) {
        status.textContent = err instanceof ApiError && err.status === 403 ? 'Your token lacks the voice scope.' : (err as Error).message
        status.dataset.tone = 'bad'
      }
    })
  }
}
