// The bootstrap layer: flags/bootstrap.json (Unleash client-features format) with HELIX_FLAG_* env
// overrides on top. Used alone in the embedded default and as Unleash's fallback in production.
import { readFileSync } from 'node:fs'
import { Type } from 'typebox'
import { Value } from 'typebox/value'
import { ConfigError } from '../config/index.js'
import { FLAGS, isFlagName, type FlagName } from './names.js'
import type { FlagOrigin, FlagSource } from './source.js'

const Strategy = Type.Object({ name: Type.String(), parameters: Type.Optional(Type.Record(Type.String(), Type.Unknown())) })
const Feature = Type.Object({ name: Type.String({ minLength: 1 }), enabled: Type.Boolean(), strategies: Type.Optional(Type.Array(Strategy)) })
export const ClientFeatures = Type.Object({ version: Type.Optional(Type.Integer()), features: Type.Array(Feature) })
export type ClientFeatures = Type.Static<typeof ClientFeatures>

/** Reads and validates the bootstrap file; a bad file fails boot with one line naming it. */
export function readBootstrapFile(file: string): ClientFeatures {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError(`Invalid flags bootstrap file ${file}: ${(err as Error).message.split('\n')[0]}; expected Unleash client-features JSON, e.g. {"version":2,"features":[{"name":"helix.voice.dedicated","enabled":false}]}`)
  }
  if (!Value.Check(ClientFeatures, parsed)) {
    const [first] = Value.Errors(ClientFeatures, parsed)
    throw new ConfigError(`Invalid flags bootstrap file ${file}: ${first?.instancePath || '/'} ${first?.message ?? 'is invalid'}; expected Unleash client-features JSON, e.g. {"version":2,"features":[{"name":"helix.voice.dedicated","enabled":false}]}`)
  }
  return parsed
}

/**
 * Without an Unleash server only the `default` strategy (or none) can be evaluated; a feature with
 * other strategies counts as on only when one of them is `default`.
 */
export function featureValue(feature: { enabled: boolean; strategies?: { name: string }[] }): boolean {
  if (!feature.enabled) return false
  return !feature.strategies || feature.strategies.length === 0 || feature.strategies.some((s) => s.name === 'default')
}

export class BootstrapFlagSource implements FlagSource {
  private readonly values = new Map<FlagName, { enabled: boolean; source: FlagOrigin }>()

  constructor(features: ClientFeatures, envFlags: Readonly<Record<string, boolean>>) {
    for (const [name, def] of Object.entries(FLAGS) as [FlagName, { default: boolean }][]) {
      this.values.set(name, { enabled: def.default, source: 'default' })
    }
    for (const feature of features.features) {
      if (isFlagName(feature.name)) this.values.set(feature.name, { enabled: featureValue(feature), source: 'bootstrap' })
    }
    for (const [name, enabled] of Object.entries(envFlags)) {
      if (isFlagName(name)) this.values.set(name, { enabled, source: 'env' })
    }
  }

  isEnabled(name: FlagName): boolean {
    return this.values.get(name)?.enabled ?? false
  }

  origin(name: FlagName): FlagOrigin {
    return this.values.get(name)?.source ?? 'default'
  }

  onChange(): () => void {
    return () => {}
  }

  async ready(): Promise<boolean> {
    return true
  }

  isReady(): boolean {
    return true
  }

  async close(): Promise<void> {}
}
