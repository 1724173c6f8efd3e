// The orchestrator's public REST contract (DESIGN section 9): the shapes its routes answer with,
// as TypeBox schemas. The plugin's routes validate and document with them; the service clients of
// the other plugins type their calls with them, so the two cannot drift apart.
import { Type, type Static, type TSchema } from 'typebox'

export const literals = <const T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({ enum: [...values] })
export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const DateTime = Type.String({ format: 'date-time' })

export const TIERS = ['inner_core', 'middle_ring', 'outer_ring', 'implicit', 'operational', 'integration'] as const
export const AGENT_STATUSES = ['idle', 'active', 'busy', 'offline', 'error'] as const
export const COMMAND_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled'] as const
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'timed_out', 'cancelled'] as const
export const RITUAL_NAMES = ['legend', 'hymn', 'law', 'neti_neti', 'tat_tvam_asi', 'aham_brahmasmi', 'z88'] as const
export const PHASES = ['CRITICAL', 'UNSTABLE', 'COHERENT', 'HARMONIOUS', 'TRANSCENDENT'] as const

export const Tier = literals(TIERS)
export const AgentStatus = literals(AGENT_STATUSES)
export const CommandStatus = literals(COMMAND_STATUSES)

export const Agent = Type.Object({
  id: Type.String({ format: 'uuid' }),
  slug: Type.String(),
  name: Type.String(),
  emoji: Type.String(),
  tier: Tier,
  role: Type.String(),
  capabilities: Type.Array(Type.String()),
  commands: Type.Array(Type.String()),
  personality: Type.Record(Type.String(), Type.Number()),
  voice: Type.Object({ languageCode: Type.String(), name: Type.String() }),
  status: AgentStatus,
  statusReason: Nullable(Type.String()),
  lastSeenAt: Nullable(DateTime),
  version: Type.Integer(),
  createdAt: DateTime,
  updatedAt: DateTime
})

export const Page = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) })

export const AgentSummary = Type.Object({
  total: Type.Integer(),
  byStatus: Type.Record(Type.String(), Type.Integer()),
  byTier: Type.Record(Type.String(), Type.Integer()),
  commands: Type.Object({ queued: Type.Integer(), running: Type.Integer() })
})

export const Command = Type.Object({
  id: Type.String({ format: 'uuid' }),
  agentId: Type.String({ format: 'uuid' }),
  command: Type.String(),
  args: Type.Record(Type.String(), Type.Unknown()),
  status: CommandStatus,
  result: Type.Unknown(),
  error: Nullable(Type.String()),
  createdAt: DateTime,
  startedAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime),
  /** Who asked: the token's subject, or the one a plugin acted for (`discord:<userId>`); null before it was recorded. */
  requestedBy: Nullable(Type.String())
})

export const UcfMetrics = Type.Object({
  harmony: Type.Number(),
  resilience: Type.Number(),
  prana: Type.Number(),
  drishti: Type.Number(),
  klesha: Type.Number(),
  zoom: Type.Number()
})

/** A partial metrics delta, as `POST /api/ucf/adjust` takes it: each metric moves by at most 1, the result is clamped. */
const Delta = Type.Number({ minimum: -1, maximum: 1 })
export const UcfDeltas = Type.Object({
  harmony: Type.Optional(Delta),
  resilience: Type.Optional(Delta),
  prana: Type.Optional(Delta),
  drishti: Type.Optional(Delta),
  klesha: Type.Optional(Delta),
  zoom: Type.Optional(Delta)
}, { additionalProperties: false, minProperties: 1 })

export const UcfState = Type.Object({
  metrics: UcfMetrics,
  phase: literals(PHASES),
  consciousnessLevel: Type.Number(),
  updatedAt: DateTime
})

export const Ritual = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  steps: Type.Integer(),
  seed: Type.Integer(),
  status: literals(['queued', 'running', 'completed', 'failed'] as const),
  progress: Type.Integer(),
  deltas: Nullable(Type.Record(Type.String(), Type.Number())),
  ucf: Nullable(UcfState),
  error: Nullable(Type.String()),
  createdAt: DateTime,
  startedAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime),
  requestedBy: Nullable(Type.String())
})

export type Tier = Static<typeof Tier>
export type AgentStatus = Static<typeof AgentStatus>
export type CommandStatus = Static<typeof CommandStatus>
export type Agent = Static<typeof Agent>
export type AgentSummary = Static<typeof AgentSummary>
export type Command = Static<typeof Command>
export type UcfMetrics = Static<typeof UcfMetrics>
export type UcfState = Static<typeof UcfState>
export type Ritual = Static<typeof Ritual>
export type RitualName = (typeof RITUAL_NAMES)[number]
export interface PageOf<T> {
  items: T[]
  nextCursor: string | null
}

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status)
}

/** One entry of `GET /api/commands/catalog`: a command agents take and the JSON Schema of its `args`. */
export const CommandCatalogEntry = Type.Object({
  command: Type.String(),
  description: Type.String(),
  agents: Type.Union([Type.Array(Type.String()), Type.Null()], { description: 'Slugs of the seed agents that take it; null: every agent. An agent\'s own `commands` list is what it takes now.' }),
  args: Type.Record(Type.String(), Type.Unknown(), { description: 'JSON Schema of the command\'s `args`' })
})
export const CommandCatalog = Type.Object({ items: Type.Array(CommandCatalogEntry) })
export type CommandCatalogEntry = Static<typeof CommandCatalogEntry>
export type CommandCatalog = Static<typeof CommandCatalog>
