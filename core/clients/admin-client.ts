// The typed client of the kernel's admin API for the plugins (the bot's `/flags`): every flag with its
// effective value and source. The admin routes are the kernel's, served by every process.
import type { PluginName } from '../../config/roles.js'
import type { ServiceTransport } from './service-transport.js'

export interface FlagReport {
  name: string
  description: string
  enabled: boolean
  source: 'override' | 'unleash' | 'bootstrap' | 'env' | 'default'
  unleash: boolean | null
  override: { enabled: boolean; expiresAt: string | null } | null
}

export interface AdminCalls {
  flags(): Promise<FlagReport[]>
}

export class AdminClient {
  constructor(private readonly transport: ServiceTransport) {}

  /**
   * Calls as `caller`, the plugin asking: the kernel routes answer in every process, so the call stays
   * in the caller's process while it owns the caller, and goes to the owner's process otherwise.
   */
  for(caller: PluginName, onBehalfOf: string): AdminCalls {
    return {
      flags: async () => (await this.transport.json<{ flags: FlagReport[] }>(caller, { method: 'GET', path: '/admin/flags', scopes: ['admin'], onBehalfOf })).flags
    }
  }
}
