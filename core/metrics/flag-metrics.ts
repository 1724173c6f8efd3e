// Flags and ownership as Prometheus series: each flag's effective value and the layer that decided
// it, flips by kind, and per plugin who owns it and whether this process does. Values are read at
// scrape time (a map lookup per flag); flips are counted from the sources' change notifications.
import { Counter, Gauge, type Registry } from 'prom-client'
import { FLAGS, type FlagName } from '../../flags/names.js'
import type { FlagOrigin, FlagSource } from '../../flags/source.js'
import type { OwnershipGate } from '../ownership/index.js'
import type { PluginDescriptor } from '../plugin.js'

/** A flag source that can say which layer decided each value (the LayeredFlagSource every process uses). */
interface ReportingFlagSource extends FlagSource {
  report(): { name: FlagName; enabled: boolean; source: FlagOrigin }[]
}

const FLAG_NAMES = Object.keys(FLAGS) as FlagName[]

function canReport(flags: FlagSource): flags is ReportingFlagSource {
  return typeof (flags as Partial<ReportingFlagSource>).report === 'function'
}

/** Each flag's value and its source; `unknown` for a source that cannot tell (tests' manual flags). */
function flagStates(flags: FlagSource): { name: FlagName; enabled: boolean; source: FlagOrigin | 'unknown' }[] {
  if (canReport(flags)) return flags.report()
  return FLAG_NAMES.map((name) => ({ name, enabled: flags.isEnabled(name), source: 'unknown' }))
}

export function registerFlagMetrics(registry: Registry, flags: FlagSource, gate: OwnershipGate, plugins: readonly PluginDescriptor[]): void {
  const registers = [registry]
  new Gauge({
    name: 'helix_flag_enabled',
    help: 'Effective value of each flag (1 on, 0 off), labelled with the layer that decided it: override, unleash, bootstrap, env, default',
    labelNames: ['flag', 'source'] as const,
    registers,
    collect() {
      this.reset()
      for (const state of flagStates(flags)) this.set({ flag: state.name, source: state.source }, state.enabled ? 1 : 0)
    }
  })
  const flips = new Counter({
    name: 'helix_flag_flips_total',
    help: 'Changes of a flag\'s effective value seen by this process, by kind: override (set or removed), unleash, or the layer that decided',
    labelNames: ['flag', 'kind'] as const,
    registers
  })
  const owned = plugins.filter((d) => d.ownershipFlag !== null)
  new Gauge({
    name: 'helix_ownership_dedicated',
    help: 'Who owns each plugin according to this process\'s flags: 1 the dedicated service, 0 the monolith',
    labelNames: ['plugin'] as const,
    registers,
    collect() {
      for (const d of owned) this.set({ plugin: d.name }, gate.ownerOf(d) === 'dedicated' ? 1 : 0)
    }
  })
  new Gauge({
    name: 'helix_ownership_owned',
    help: 'Whether this process owns each plugin it loads (1) or hands its traffic to the owner (0)',
    labelNames: ['plugin'] as const,
    registers,
    collect() {
      for (const d of plugins) this.set({ plugin: d.name }, gate.owns(d) ? 1 : 0)
    }
  })
  const changes = new Counter({
    name: 'helix_ownership_changes_total',
    help: 'Times this process started (owned="true") or stopped (owned="false") owning a plugin',
    labelNames: ['plugin', 'owned'] as const,
    registers
  })
  // Flips are rare: their series start at 0, as a series born at 1 shows no increase() for the first one.
  for (const flag of FLAG_NAMES) for (const kind of ['override', 'unleash']) flips.inc({ flag, kind }, 0)
  for (const d of owned) for (const state of ['true', 'false']) changes.inc({ plugin: d.name, owned: state }, 0)

  let sources = new Map(flagStates(flags).map((s) => [s.name, s.source]))
  flags.onChange((names) => {
    const now = new Map(flagStates(flags).map((s) => [s.name, s.source]))
    for (const flag of names) {
      const before = sources.get(flag)
      const after = now.get(flag) ?? 'unknown'
      flips.inc({ flag, kind: before === 'override' || after === 'override' ? 'override' : after })
    }
    sources = now
  })
  gate.onChange((change) => changes.inc({ plugin: change.plugin, owned: String(change.owned) }))
}
