// Reads a voice command out of a transcript: a wake word, then an agent, then a command phrase.
import type { CommandWords } from './types.js'

export interface ParsedCommand {
  wakeWord: string
  agent: string
  /** The catalogue's name: `MEMORY_APPEND`. */
  command: string
}

/** Finds "<wake word> <agent> <command>" anywhere in `transcript`; null when it is not there. */
export function parseCommand(transcript: string, words: CommandWords): ParsedCommand | null {
  const tokens = transcript.toLowerCase().split(/[^a-z']+/).filter(Boolean)
  const commands = [...words.commands].sort((a, b) => b.split(' ').length - a.split(' ').length)
  for (let i = 0; i < tokens.length - 2; i++) {
    if (!words.wakeWords.includes(tokens[i]!)) continue
    const agent = tokens[i + 1]!
    if (!words.agents.includes(agent)) continue
    const rest = tokens.slice(i + 2)
    const command = commands.find((c) => c.split(' ').every((w, k) => rest[k] === w))
    if (command) return { wakeWord: tokens[i]!, agent, command: command.toUpperCase().replace(/ /g, '_') }
  }
  return null
}
