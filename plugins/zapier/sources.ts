// The inbound webhook sources (DESIGN section 11): who may post to /api/zapier/hooks/:source, with
// which signature scheme and secrets, read once at boot from ZAPIER_SOURCES or ZAPIER_SOURCES_FILE.
import { readFileSync } from 'node:fs'
import { Type, type Static } from 'typebox'
import { Value } from 'typebox/value'
import { StartupError } from '../../core/errors.js'

const SourceConfig = Type.Object({
  scheme: Type.Union([Type.Literal('standard'), Type.Literal('zapier')]),
  secrets: Type.Array(Type.String({ minLength: 8 }), { minItems: 1, maxItems: 10 })
}, { additionalProperties: false })

export type SourceConfig = Static<typeof SourceConfig>

/** A source as the verifier uses it: its secrets already decoded to key bytes. */
export interface Source {
  name: string
  scheme: SourceConfig['scheme']
  keys: Buffer[]
}

const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/

/** A Standard Webhooks secret is `whsec_` and base64 key bytes; a Zapier secret is used as its UTF-8 bytes. */
function keyOf(scheme: SourceConfig['scheme'], secret: string): Buffer {
  if (scheme === 'zapier') return Buffer.from(secret, 'utf8')
  const encoded = secret.startsWith('whsec_') ? secret.slice(6) : secret
  const key = Buffer.from(encoded, 'base64')
  if (key.length < 16) throw new Error('a Standard Webhooks secret must be whsec_ and at least 16 base64-encoded bytes')
  return key
}

export function parseSources(json: string, origin: string): Map<string, Source> {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch (err) {
    throw new StartupError(`${origin} is not valid JSON (${(err as Error).message}); expected {"<source>":{"scheme":"standard","secrets":["whsec_..."]}}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new StartupError(`${origin} must be a JSON object of sources`)
  const sources = new Map<string, Source>()
  for (const [name, value] of Object.entries(parsed)) {
    if (!SOURCE_NAME.test(name)) throw new StartupError(`${origin}: source name ${JSON.stringify(name)} must be lowercase letters, digits, _ or -`)
    if (!Value.Check(SourceConfig, value)) throw new StartupError(`${origin}: source ${JSON.stringify(name)} must be {"scheme":"standard"|"zapier","secrets":["..."]}`)
    try {
      sources.set(name, { name, scheme: value.scheme, keys: value.secrets.map((s) => keyOf(value.scheme, s)) })
    } catch (err) {
      throw new StartupError(`${origin}: source ${JSON.stringify(name)}: ${(err as Error).message}`)
    }
  }
  return sources
}

/** The sources from the settings: ZAPIER_SOURCES, else the file ZAPIER_SOURCES_FILE names, else none. */
export function loadSources(settings: { ZAPIER_SOURCES?: string; ZAPIER_SOURCES_FILE?: string }): Map<string, Source> {
  if (settings.ZAPIER_SOURCES) return parseSources(settings.ZAPIER_SOURCES, 'ZAPIER_SOURCES')
  if (!settings.ZAPIER_SOURCES_FILE) return new Map()
  let text: string
  try {
    text = readFileSync(settings.ZAPIER_SOURCES_FILE, 'utf8')
  } catch (err) {
    throw new StartupError(`ZAPIER_SOURCES_FILE=${settings.ZAPIER_SOURCES_FILE} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  return parseSources(text, `ZAPIER_SOURCES_FILE (${settings.ZAPIER_SOURCES_FILE})`)
}
