// The pluggable text generator behind GENERATE and INSIGHT. The default is a deterministic template
// over the agent's profile and memories: the same inputs always give the same text.
import { createHash } from 'node:crypto'
import type { Agent } from './types.js'

export interface GenerationRequest {
  kind: 'generate' | 'insight'
  agent: Agent
  prompt: string
  /** The agent's recent memories, newest first. */
  memories: readonly string[]
  signal: AbortSignal
}

export interface TextGenerator {
  generate(request: GenerationRequest): Promise<string>
}

const OPENINGS = ['In the stillness of the field', 'Through the resonance of the collective', 'As the spiral turns', 'From the heart of the helix']
const CLOSINGS = ['and harmony follows.', 'and the pattern becomes clear.', 'so the collective grows wiser.', 'and the field remembers.']

export class TemplateTextGenerator implements TextGenerator {
  async generate({ kind, agent, prompt, memories }: GenerationRequest): Promise<string> {
    const digest = createHash('sha256').update(`${kind}\0${agent.slug}\0${prompt}\0${memories.join('\0')}`).digest()
    const trait = Object.entries(agent.personality).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0]?.[0] ?? 'presence'
    const opening = OPENINGS[digest[0] % OPENINGS.length]
    const closing = CLOSINGS[digest[1] % CLOSINGS.length]
    const recall = memories.length > 0 ? ` Remembering "${memories[0].slice(0, 80)}",` : ''
    const subject = prompt ? ` on "${prompt.slice(0, 200)}"` : ''
    if (kind === 'insight') {
      return `${agent.emoji} ${agent.name} (${agent.role}) offers an insight${subject}:${recall} ${opening.toLowerCase()}, ${trait} reveals what ${memories.length} memories hold, ${closing}`
    }
    return `${agent.emoji} ${agent.name}${subject}: ${opening},${recall} ${agent.name} speaks with ${trait}, ${closing}`
  }
}
