// The voices the fake Text-to-Speech offers, named the way Google names its voices, each spoken by a
// different espeak-ng Klatt voice (the ones pocketsphinx recognises well).
import { invalidArgument } from './behaviour.js'

export interface FakeVoice {
  name: string
  languageCodes: string[]
  ssmlGender: 'MALE' | 'FEMALE'
  naturalSampleRateHertz: number
  espeak: string
  /** Semitones added to the request's pitch, so voices of the same Klatt model still differ. */
  pitchOffset: number
}

const voice = (name: string, ssmlGender: FakeVoice['ssmlGender'], espeak: string, pitchOffset: number): FakeVoice =>
  ({ name, languageCodes: [name.slice(0, 5)], ssmlGender, naturalSampleRateHertz: 24_000, espeak, pitchOffset })

export const FAKE_VOICES: readonly FakeVoice[] = [
  voice('en-US-Standard-A', 'MALE', 'en-us+klatt', 0),
  voice('en-US-Standard-B', 'MALE', 'en-us+klatt3', -3),
  voice('en-US-Standard-C', 'FEMALE', 'en-us+klatt5', 6),
  voice('en-US-Standard-D', 'MALE', 'en-us+klatt6', 2),
  voice('en-US-Standard-E', 'FEMALE', 'en-us+klatt4', 8),
  voice('en-US-Standard-F', 'FEMALE', 'en-us+klatt2', 5),
  voice('en-GB-Standard-A', 'FEMALE', 'en-gb-x-rp+klatt4', 6),
  voice('en-GB-Standard-B', 'MALE', 'en-gb-x-rp+klatt', 0)
]

export interface VoiceSelection {
  languageCode?: string | null
  name?: string | null
  ssmlGender?: string | null
}

/**
 * The voice a request selects, as Google picks it: by name when named (the name wins), otherwise
 * the first voice of the language, of the gender when one is asked for.
 */
export function selectVoice(selection: VoiceSelection | null | undefined): FakeVoice {
  const language = selection?.languageCode?.toLowerCase()
  if (selection?.name) {
    const named = FAKE_VOICES.find((v) => v.name.toLowerCase() === selection.name!.toLowerCase())
    if (!named) throw invalidArgument(`Voice '${selection.name}' does not exist. Is it misspelled?`)
    return named
  }
  if (!language) throw invalidArgument('Invalid request: voice.language_code is required.')
  const ofLanguage = FAKE_VOICES.filter((v) => v.languageCodes.some((l) => l.toLowerCase() === language || l.slice(0, 2).toLowerCase() === language))
  if (ofLanguage.length === 0) throw invalidArgument(`Voice for language '${selection!.languageCode}' does not exist.`)
  const gender = selection?.ssmlGender
  return ofLanguage.find((v) => !gender || gender === 'SSML_VOICE_GENDER_UNSPECIFIED' || v.ssmlGender === gender) ?? ofLanguage[0]
}

/** Voices as ListVoices returns them, for a language when given (`en` matches `en-US`). */
export function listVoices(languageCode?: string | null) {
  const language = languageCode?.toLowerCase()
  return FAKE_VOICES
    .filter((v) => !language || v.languageCodes.some((l) => l.toLowerCase() === language || l.slice(0, 2).toLowerCase() === language))
    .map(({ name, languageCodes, ssmlGender, naturalSampleRateHertz }) => ({ name, languageCodes, ssmlGender, naturalSampleRateHertz }))
}
