// TypeBox schemas of the orchestrator's REST API (DESIGN section 9): validation, types and OpenAPI.
// The shapes other plugins read (agents, commands, the UCF, rituals, the catalog) are the kernel's
// contract (core/contracts/orchestrator.ts); the requests and the plugin's own answers are here.
import { Type } from 'typebox'
import { AgentStatus, Command, CommandCatalog, CommandStatus, literals, Nullable, RITUAL_NAMES, Tier, UcfDeltas, UcfMetrics } from '../../core/contracts/orchestrator.js'
import { CATALOG } from './command-catalog.js'

export { Agent, AgentStatus, AgentSummary, Command, CommandStatus, Page, Ritual, Tier, UcfState } from '../../core/contracts/orchestrator.js'

const DateTime = Type.String({ format: 'date-time' })

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true })

/**
 * Text without control characters (NUL among them: PostgreSQL cannot store one), for names, reasons
 * and path parameters; the kernel refuses a NUL anywhere first, these hold on their own.
 */
const PLAIN_TEXT = '^[^\\u0000-\\u001f\\u007f]*$'
const Text = (options: { minLength?: number; maxLength: number; description?: string }) => Type.String({ ...options, pattern: PLAIN_TEXT })

const Slug = Type.String({ pattern: '^(?!status$)[a-z0-9][a-z0-9_-]{0,63}$', description: 'lowercase; "status" is reserved' })
export const CommandName = Type.String({ pattern: '^[A-Z][A-Z_]{0,39}$' })
const Personality = Type.Record(Type.String({ pattern: '^[a-z_]{1,32}$' }), Type.Number({ minimum: 0, maximum: 1 }), { maxProperties: 32 })
const Voice = Type.Object({ languageCode: Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$' }), name: Text({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false })
const Capability = Type.String({ pattern: '^[a-z0-9_-]{1,40}$' })
const Capabilities = Type.Array(Capability, { maxItems: 50, uniqueItems: true })
const Commands = Type.Array(CommandName, { maxItems: 50, uniqueItems: true })

export const AgentCreate = Type.Object({
  slug: Slug,
  name: Text({ minLength: 1, maxLength: 100 }),
  emoji: Type.Optional(Text({ minLength: 1, maxLength: 16 })),
  tier: Tier,
  role: Text({ minLength: 1, maxLength: 200 }),
  capabilities: Type.Optional(Capabilities),
  commands: Type.Optional(Commands),
  personality: Type.Optional(Personality),
  voice: Type.Optional(Voice),
  status: Type.Optional(AgentStatus)
}, { additionalProperties: false })

export const AgentPatch = Type.Object({
  name: Type.Optional(Text({ minLength: 1, maxLength: 100 })),
  emoji: Type.Optional(Text({ minLength: 1, maxLength: 16 })),
  tier: Type.Optional(Tier),
  role: Type.Optional(Text({ minLength: 1, maxLength: 200 })),
  capabilities: Type.Optional(Capabilities),
  commands: Type.Optional(Commands),
  personality: Type.Optional(Personality),
  voice: Type.Optional(Voice),
  status: Type.Optional(AgentStatus),
  statusReason: Type.Optional(Nullable(Text({ maxLength: 500 })))
}, { additionalProperties: false, minProperties: 1 })

const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 }))
/** Cursors are what a page's `nextCursor` gave: base64url or digits. */
const Cursor = Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$' }))

export const AgentQuery = Type.Object({
  status: Type.Optional(AgentStatus),
  tier: Type.Optional(Tier),
  capability: Type.Optional(Capability),
  cursor: Cursor,
  limit: Limit
}, { additionalProperties: false })

export const AgentParams = Type.Object({ idOrSlug: Text({ minLength: 1, maxLength: 64 }) })
export const IdParams = Type.Object({ id: Text({ minLength: 1, maxLength: 64 }) })

export const CommandCreate = Type.Object({
  command: CommandName,
  args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 }))
}, { additionalProperties: false })

export const UcfAdjust = Type.Object({
  deltas: UcfDeltas,
  reason: Type.Optional(Text({ minLength: 1, maxLength: 200 }))
}, { additionalProperties: false })

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Text({ minLength: 1, maxLength: 128 }))
})

export const CommandQuery = Type.Object({ status: Type.Optional(CommandStatus), cursor: Cursor, limit: Limit }, { additionalProperties: false })

export const Orchestrate = Type.Object({
  command: CommandName,
  args: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000 })),
  tier: Type.Optional(Tier),
  capability: Type.Optional(Capability),
  agents: Type.Optional(Type.Array(Text({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 200, uniqueItems: true }))
}, { additionalProperties: false })

export const OrchestrateResult = Type.Object({
  items: Type.Array(Command),
  skipped: Type.Array(Type.Object({ agent: Type.String(), reason: Type.String() }))
})

/** The catalog's answer, with the catalog as its example: /docs shows every command's args schema. */
export const CommandCatalogResponse = Type.Object(CommandCatalog.properties, { examples: [CATALOG] })

export const UcfHistoryEntry = Type.Object({
  id: Type.String(),
  metrics: UcfMetrics,
  phase: Type.String(),
  consciousnessLevel: Type.Number(),
  updatedAt: DateTime,
  cause: Type.String()
})

export const UcfHistoryQuery = Type.Object({
  since: Type.Optional(Text({ minLength: 1, maxLength: 40, description: 'ISO date-time or epoch milliseconds, from 1970 to 9999' })),
  cursor: Cursor,
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 }))
}, { additionalProperties: false })

export const RitualCreate = Type.Object({
  name: literals(RITUAL_NAMES),
  steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
  seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }))
}, { additionalProperties: false })

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
