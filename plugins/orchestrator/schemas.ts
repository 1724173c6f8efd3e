// TypeBox schemas of the orchestrator's REST API (DESIGN section 9): validation, types and OpenAPI.
import { Type, type TSchema } from 'typebox'
import { AGENT_STATUSES, COMMAND_STATUSES, TIERS } from './models.js'
import { RITUAL_NAMES } from './ritual-service.js'

const literals = <const T extends readonly string[]>(values: T) => Type.Unsafe<T[number]>({ enum: [...values] })
const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()])
const DateTime = Type.String({ format: 'date-time' })

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true })

export const Tier = literals(TIERS)
export const AgentStatus = literals(AGENT_STATUSES)
export const CommandStatus = literals(COMMAND_STATUSES)
const Slug = Type.String({ pattern: '^(?!status$)[a-z0-9][a-z0-9_-]{0,63}$', description: 'lowercase; "status" is reserved' })
const CommandName = Type.String({ pattern: '^[A-Z][A-Z_]{0,39}$' })
const Personality = Type.Record(Type.String({ pattern: '^[a-z_]{1,32}$' }), Type.Number({ minimum: 0, maximum: 1 }), { maxProperties: 32 })
const Voice = Type.Object({ languageCode: Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$' }), name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false })
const Capabilities = Type.Array(Type.String({ pattern: '^[a-z0-9_-]{1,40}$' }), { maxItems: 50, uniqueItems: true })
const Commands = Type.Array(CommandName, { maxItems: 50, uniqueItems: true })

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

export const AgentCreate = Type.Object({
  slug: Slug,
  name: Type.String({ minLength: 1, maxLength: 100 }),
  emoji: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
  tier: Tier,
  role: Type.String({ minLength: 1, maxLength: 200 }),
  capabilities: Type.Optional(Capabilities),
  commands: Type.Optional(Commands),
  personality: Type.Optional(Personality),
  voice: Type.Optional(Voice),
  status: Type.Optional(AgentStatus)
}, { additionalProperties: false })

export const AgentPatch = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  emoji: Type.Optional(Type.String({ minLength: 1, maxLength: 16 })),
  tier: Type.Optional(Tier),
  role: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  capabilities: Type.Optional(Capabilities),
  commands: Type.Optional(Commands),
  personality: Type.Optional(Personality),
  voice: Type.Optional(Voice),
  status: Type.Optional(AgentStatus),
  statusReason: Type.Optional(Nullable(Type.String({ maxLength: 500 })))
}, { additionalProperties: false, minProperties: 1 })

const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 }))
const Cursor = Type.Optional(Type.String({ minLength: 1, maxLength: 200 }))

export const AgentQuery = Type.Object({
  status: Type.Optional(AgentStatus),
  tier: Type.Optional(Tier),
  capability: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
  cursor: Cursor,
  limit: Limit
}, { additionalProperties: false })

export const Page = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) })

export const AgentParams = Type.Object({ idOrSlug: Type.String({ minLength: 1, maxLength: 64 }) })
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })

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
  finishedAt: Nullable(DateTime)
})

export const CommandCreate = Type.Object({
  command: CommandName,
  args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 }))
}, { additionalProperties: false })

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128 }))
})

export const CommandQuery = Type.Object({ status: Type.Optional(CommandStatus), cursor: Cursor, limit: Limit }, { additionalProperties: false })

export const Orchestrate = Type.Object({
  command: CommandName,
  args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
  tier: Type.Optional(Tier),
  capability: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
  agents: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 200, uniqueItems: true }))
}, { additionalProperties: false })

export const OrchestrateResult = Type.Object({
  items: Type.Array(Command),
  skipped: Type.Array(Type.Object({ agent: Type.String(), reason: Type.String() }))
})

const MetricsSchema = Type.Object({
  harmony: Type.Number(),
  resilience: Type.Number(),
  prana: Type.Number(),
  drishti: Type.Number(),
  klesha: Type.Number(),
  zoom: Type.Number()
})

export const UcfState = Type.Object({
  metrics: MetricsSchema,
  phase: literals(['CRITICAL', 'UNSTABLE', 'COHERENT', 'HARMONIOUS', 'TRANSCENDENT'] as const),
  consciousnessLevel: Type.Number(),
  updatedAt: DateTime
})

export const UcfHistoryEntry = Type.Object({
  id: Type.String(),
  metrics: MetricsSchema,
  phase: Type.String(),
  consciousnessLevel: Type.Number(),
  updatedAt: DateTime,
  cause: Type.String()
})

export const UcfHistoryQuery = Type.Object({
  since: Type.Optional(Type.String({ minLength: 1, maxLength: 40, description: 'ISO date-time or epoch milliseconds' })),
  cursor: Cursor,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 }))
}, { additionalProperties: false })

export const RitualCreate = Type.Object({
  name: literals(RITUAL_NAMES),
  steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }))
}, { additionalProperties: false })

const Deltas = Type.Record(Type.String(), Type.Number())

export const Ritual = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  steps: Type.Integer(),
  seed: Type.Integer(),
  status: literals(['queued', 'running', 'completed', 'failed'] as const),
  progress: Type.Integer(),
  deltas: Nullable(Deltas),
  ucf: Nullable(UcfState),
  error: Nullable(Type.String()),
  createdAt: DateTime,
  startedAt: Nullable(DateTime),
  finishedAt: Nullable(DateTime)
})

export const Alert = Type.Object({
  id: Type.String({ format: 'uuid' }),
  key: Type.String(),
  kind: Type.String(),
  severity: literals(['critical', 'high', 'medium'] as const),
  state: literals(['open', 'resolved'] as const),
  message: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  raisedAt: DateTime,
  resolvedAt: Nullable(DateTime)
})

export const AlertQuery = Type.Object({ state: Type.Optional(literals(['open', 'resolved'] as const)), cursor: Cursor, limit: Limit }, { additionalProperties: false })
