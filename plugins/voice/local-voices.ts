// How the local provider speaks a Google-style voice name: the region picks an espeak-ng accent, the
// voice letter a Klatt variant, pitch and pace, so each agent's profile voice sounds its own.
import type { VoiceInfo, VoiceSelection } from './types.js'

export interface EspeakVoice {
  /** espeak-ng's `-v`, e.g. `en-us+klatt3`. */
  voice: string
  /** espeak-ng's `-p` (0 to 99) before the request's pitch. */
  pitch: number
  /** Words per minute at speaking rate 1. */
  wpm: number
}

/** Accents per language code; pocketsphinx's en-us model hears all of these (Klatt voices). */
const ACCENTS: Record<string, string> = {
  'en-us': 'en-us',
  'en-gb': 'en-gb-x-rp',
  'en-in': 'en-gb-x-gbcwmd',
  'en-au': 'en-gb-scotland'
}
const VARIANTS = ['klatt', 'klatt2', 'klatt3', 'klatt4', 'klatt5', 'klatt6']
const LETTERS = 'ABCDEFGHIJ'
const NAME = /^([a-z]{2}-[A-Z]{2})-[A-Za-z0-9]+-([A-J])$/

/** The espeak voice for a selection, or null for a name the local provider cannot speak. */
export function espeakVoice(selection: VoiceSelection): EspeakVoice | null {
  let language = selection.languageCode.toLowerCase()
  let letter = 0
  if (selection.name) {
    const match = NAME.exec(selection.name)
    if (!match) return null
    language = match[1]!.toLowerCase()
    letter = LETTERS.indexOf(match[2]!)
  }
  const accent = ACCENTS[language] ?? (language.startsWith('en') ? ACCENTS['en-us'] : undefined)
  if (!accent) return null
  return { voice: `${accent}+${VARIANTS[letter % VARIANTS.length]}`, pitch: 30 + ((letter * 7) % 40), wpm: 150 + ((letter * 11) % 50) }
}

/** The voices the local provider lists: one per region and letter. */
export function localVoices(): VoiceInfo[] {
  return Object.keys(ACCENTS).flatMap((language) => {
    const code = `${language.slice(0, 2)}-${language.slice(3).toUpperCase()}`
    return [...LETTERS].map((letter, i) => ({ name: `${code}-Local-${letter}`, languageCodes: [code], ssmlGender: i % 2 === 0 ? 'MALE' : 'FEMALE', provider: 'local' as const }))
  })
}
