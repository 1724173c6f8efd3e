// The clients one plugin uses to reach another (DESIGN section 2): built once per process by the app
// factory and handed to every plugin in its Kernel. A plugin never imports another plugin.
import type { Bus } from '../bus/types.js'
import { AdminClient } from './admin-client.js'
import { OrchestratorClient } from './orchestrator-client.js'
import { ServiceTransport, type ServiceTransportDeps } from './service-transport.js'
import { VoiceClient } from './voice-client.js'

export { AdminClient, type AdminCalls, type FlagReport } from './admin-client.js'
export { ServiceCallError, ServiceTransport, type ServiceRequest, type ServiceResponse } from './service-transport.js'
export type { CommandInput, OrchestratorCalls } from './orchestrator-client.js'
export { OrchestratorClient } from './orchestrator-client.js'
export type { Audio, SynthesizeInput, Transcript, VoiceCalls, VoiceCommandResult } from './voice-client.js'
export { VoiceClient } from './voice-client.js'

export interface ServiceClients {
  orchestrator: OrchestratorClient
  voice: VoiceClient
  /** The kernel's admin API (flags). */
  admin: AdminClient
  /** The transport itself, for calls no typed client covers yet. */
  transport: ServiceTransport
  close(): Promise<void>
}

export function createServiceClients(deps: ServiceTransportDeps & { bus: Bus }): ServiceClients {
  const transport = new ServiceTransport(deps)
  const orchestrator = new OrchestratorClient(transport, deps.bus)
  return {
    orchestrator,
    voice: new VoiceClient(transport),
    admin: new AdminClient(transport),
    transport,
    async close() {
      await orchestrator.close()
      await transport.close()
    }
  }
}
