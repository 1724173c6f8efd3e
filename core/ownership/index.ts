// Ownership (DESIGN section 5): the gate that says who owns each plugin, the hook and proxies that
// route a plugin's traffic to its owner, the supervisor of its workers, and the change announcer.
export { announceOwnerChanges } from './announcer.js'
export { OwnershipGate, type LoadedPlugin, type NoOwnerChange, type Owner, type OwnershipChange } from './gate.js'
export { gatedRoutes, ownershipHook, type GateContext } from './gate-hook.js'
export { createProxyAgent } from './http-proxy.js'
export { LiveOwners, MemoryOwnerRegistry, RedisOwnerRegistry, type LiveOwner, type OwnerKind } from './live-owners.js'
export { WorkerSupervisor } from './worker-supervisor.js'
