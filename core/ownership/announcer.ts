// Tells the deployment when this process gains or loses a plugin: a log line and `system.owner_changed`.
import type { Logger } from 'pino'
import type { Config } from '../../config/index.js'
import type { Bus } from '../bus/types.js'
import type { PluginDescriptor } from '../plugin.js'
import type { OwnershipGate } from './gate.js'

/** Logs every change of this process's ownership and publishes it as `system.owner_changed`. */
export function announceOwnerChanges(gate: OwnershipGate, descriptors: readonly PluginDescriptor[], bus: Bus, config: Config, log: Logger): void {
  const role = config.roles.join(',')
  gate.onChange((change) => {
    const descriptor = descriptors.find((d) => d.name === change.plugin)
    const url = descriptor ? gate.publicUrlOf(descriptor) : null
    log.info({ ...change, role, url }, `ownership of ${change.plugin} changed: ${change.owned ? 'owned here' : `owned by ${change.owner}`}`)
    bus.publish('system', 'system.owner_changed', { ...change, role, url })
      .catch((err: Error) => log.warn({ err: err.message, plugin: change.plugin }, 'publishing system.owner_changed failed'))
  })
}
