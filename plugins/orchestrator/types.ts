// The orchestrator's domain types, each derived from its TypeBox schema (schemas.ts and the kernel's
// contract), so a shape is written once.
import type { Static } from 'typebox'
import type * as S from './schemas.js'

export type { Agent, AgentStatus, Command, CommandCatalog, CommandCatalogEntry, CommandStatus, Ritual, RitualName, Tier, UcfMetrics, UcfState } from '../../core/contracts/orchestrator.js'

export type AgentInput = Static<typeof S.AgentCreate>
export type AgentPatch = Static<typeof S.AgentPatch>
export type AgentQuery = Static<typeof S.AgentQuery> & { limit: number }
export type Alert = Static<typeof S.Alert>
export type AlertQuery = Static<typeof S.AlertQuery> & { limit: number }
export type CommandQuery = Static<typeof S.CommandQuery> & { limit: number }
export type UcfHistoryEntry = Static<typeof S.UcfHistoryEntry>
export type RitualInput = Static<typeof S.RitualCreate>
