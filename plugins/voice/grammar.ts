// The local recogniser's JSGF grammar ("<wake word> <agent> <command>") and the pronunciation
// dictionary holding exactly its words: CMUdict's, plus Helix's own names CMUdict lacks.
import { readFile } from 'node:fs/promises'
import type { CommandWords } from './types.js'

export const CMUDICT = '/usr/share/pocketsphinx/model/en-us/cmudict-en-us.dict'
export const WAKE_WORDS = ['helix', 'manus', 'collective'] as const

/** Words CMUdict lacks or says differently from espeak-ng, in CMUdict's phones. */
const PRONUNCIATIONS: Record<string, string[]> = {
  agni: ['AE G N IY'],
  kavach: ['K AE V AH CH'],
  sanghacore: ['S AE NG HH AH K AO R'],
  discordbridge: ['D IH S K AO R D B R IH JH'],
  manus: ['M AE N AH S']
}

export interface Grammar {
  jsgf: string
  dictionary: string
  /** Words left out because no pronunciation is known for them. */
  unknown: string[]
}

/** `MEMORY_APPEND` as it is said: `memory append`. */
export const spokenCommand = (command: string) => command.toLowerCase().replace(/_/g, ' ')

let cmudict: Promise<Map<string, string[]>> | null = null

/** CMUdict, read once per process, only the words Helix can need (the file is 3.6 MB). */
function dictionary(): Promise<Map<string, string[]>> {
  cmudict ??= readFile(CMUDICT, 'utf8').then((text) => {
    const entries = new Map<string, string[]>()
    for (const line of text.split('\n')) {
      const space = line.indexOf(' ')
      if (space <= 0) continue
      const word = line.slice(0, space).replace(/\(\d+\)$/, '')
      entries.set(word, [...(entries.get(word) ?? []), line.slice(space + 1).trim()])
    }
    return entries
  })
  return cmudict
}

const alternatives = (phrases: readonly string[]) => [...new Set(phrases)].join(' | ')

/** The grammar of `words`; a phrase with a word no dictionary knows is left out (and named). */
export async function commandGrammar(words: CommandWords): Promise<Grammar> {
  const known = await dictionary()
  const unknown = new Set<string>()
  const pronounceable = (phrase: string) => phrase.split(/\s+/).every((w) => {
    const ok = known.has(w) || w in PRONUNCIATIONS
    if (!ok) unknown.add(w)
    return ok
  })
  const clean = (list: readonly string[]) => [...new Set(list.map((p) => p.toLowerCase().trim()).filter((p) => /^[a-z' ]+$/.test(p) && pronounceable(p)))]
  const wake = clean(words.wakeWords)
  const agents = clean(words.agents)
  const commands = clean(words.commands)
  if (wake.length === 0 || agents.length === 0 || commands.length === 0) throw new Error('the command grammar needs a wake word, an agent and a command it can pronounce')
  const jsgf = [
    '#JSGF V1.0;',
    'grammar helix;',
    'public <command> = <wake> <agent> <action>;',
    `<wake> = ${alternatives(wake)};`,
    `<agent> = ${alternatives(agents)};`,
    `<action> = ${alternatives(commands)};`,
    ''
  ].join('\n')
  const lines: string[] = []
  for (const word of new Set([...wake, ...agents, ...commands].flatMap((p) => p.split(/\s+/)))) {
    const phones = [...new Set([...(known.get(word) ?? []), ...(PRONUNCIATIONS[word] ?? [])])]
    phones.forEach((p, i) => lines.push(`${i === 0 ? word : `${word}(${i + 1})`} ${p}`))
  }
  return { jsgf, dictionary: lines.join('\n') + '\n', unknown: [...unknown] }
}
