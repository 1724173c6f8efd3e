// Tells the deployment when this process gains or loses a plugin (a log line and `system.owner_changed`),
// and when a plugin's flag says dedicated while no dedicated process is ready (`ownership.no_owner`).
import type { Logger } from 'pino'
import type { Config } from '../../config/index.js'
import type { Bus } from '../bus/types.js'
import type { PluginDescriptor } from '../plugin.js'
import type { NoOwnerChange, OwnershipGate } from './gate.js'

export const NO_OWNER_EVENT = 'ownership.no_owner'

/** Logs every change of this process's ownership and publishes it; raises `ownership.no_owner` from the monolith. */
export function announceOwnerChanges(gate: OwnershipGate, descriptors: readonly PluginDescriptor[], bus: Bus, config: Config, log: Logger): void {
  const role = config.roles.join(',')
  const publish = (type: string, data: object, plugin: string) =>
    bus.publish('system', type, data).catch((err: Error) => log.warn({ err: err.message, plugin }, `publishing ${type} failed`))

  gate.onChange((change) => {
    const descriptor = descriptors.find((d) => d.name === change.plugin)
    const url = descriptor ? gate.publicUrlOf(descriptor) : null
    log.info({ ...change, role, url }, `ownership of ${change.plugin} changed: ${change.owned ? 'owned here' : `owned by ${change.owner}`}`)
    void publish('system.owner_changed', { ...change, role, url }, change.plugin)
  })

  const noOwner = ({ plugin, flag, noOwner }: NoOwnerChange) => {
    if (!noOwner) {
      log.info({ plugin, flag, role }, `a dedicated ${plugin} service is ready again; handing ${plugin} over`)
      return
    }
    const message = `${flag} is on but no ready ${plugin} service is announced; the monolith keeps ${plugin} until one is`
    log.warn({ plugin, flag, role }, message)
    void publish(NO_OWNER_EVENT, { plugin, flag, role, message }, plugin)
  }
  gate.onNoOwner(noOwner)
  // A monolith that boots while the condition already holds raises it too.
  for (const d of descriptors) {
    if (d.ownershipFlag && config.monolith && gate.hasNoOwner(d.name)) noOwner({ plugin: d.name, flag: d.ownershipFlag, noOwner: true })
  }
}
