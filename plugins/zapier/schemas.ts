// TypeBox schemas of the Zapier plugin: the inbound bodies by event type, and its REST API's
// requests and answers (validation, types and OpenAPI at once).
import { Type, type Static } from 'typebox'
import { AgentStatus, RITUAL_NAMES, literals, Nullable } from '../../core/contracts/orchestrator.js'
import { EVENT_STATUSES } from './event-store.js'
import { UcfDeltas } from '../../core/contracts/orchestrator.js'

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true })

/** Every inbound body: an event type and its data. */
export const InboundBody = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9_.:-]+$' }),
  data: Type.Optional(Type.Record(Type.String(), Type.Unknown()))
}, { additionalProperties: true })

/** `ucf_update` data is the orchestrator's adjustment: a partial metrics delta. */
export const UcfUpdateData = UcfDeltas
export const AgentActivationData = Type.Object({
  agent: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }),
  status: Type.Optional(AgentStatus)
}, { additionalProperties: false })
export const RitualTriggerData = Type.Object({
  name: literals(RITUAL_NAMES),
  steps: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 }))
}, { additionalProperties: false })
export const EmergencyBoostData = Type.Object({}, { additionalProperties: false })
export const DiscordNotificationData = Type.Object({
  message: Type.String({ minLength: 1, maxLength: 2000 }),
  channelId: Type.Optional(Type.String({ pattern: '^\\d{1,25}$' }))
}, { additionalProperties: false })

/** The data schema of each type a handler acts on; any other type is stored as a generic event. */
export const DATA_SCHEMAS = {
  ucf_update: UcfUpdateData,
  agent_activation: AgentActivationData,
  ritual_trigger: RitualTriggerData,
  emergency_boost: EmergencyBoostData,
  discord_notification: DiscordNotificationData
} as const

export const HookParams = Type.Object({ source: Type.String({ maxLength: 64 }) })
export const Queued = Type.Object({ status: Type.Literal('queued'), eventId: Type.String() })
export const Duplicate = Type.Object({ status: Type.Literal('duplicate'), eventId: Type.Optional(Type.String()) })

const DateTime = Type.String({ format: 'date-time' })
export const EventStatus = literals(EVENT_STATUSES)
export const InboundEvent = Type.Object({
  id: Type.String(),
  source: Type.String(),
  externalId: Type.String(),
  type: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  status: EventStatus,
  attempts: Type.Integer(),
  result: Type.Unknown(),
  error: Nullable(Type.String()),
  receivedAt: DateTime,
  finishedAt: Nullable(DateTime)
})
const Cursor = Type.Optional(Type.String({ maxLength: 200 }))
const Limit = Type.Optional(Type.Integer({ minimum: 1, maximum: 200 }))
export const EventQuery = Type.Object({ status: Type.Optional(EventStatus), cursor: Cursor, limit: Limit }, { additionalProperties: false })
export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) })
export const Page = <T extends Parameters<typeof Type.Array>[0]>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) })

export const ApiKeyCreate = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) }, { additionalProperties: false })
export const ApiKey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  prefix: Type.String({ description: 'The first characters of the key, to recognise it' }),
  createdAt: DateTime,
  lastUsedAt: Nullable(DateTime),
  revokedAt: Nullable(DateTime)
})
export const ApiKeyCreated = Type.Object({ id: Type.String(), key: Type.String({ description: 'Shown once; only its hash is kept' }), name: Type.String() })

export const OUTBOUND_EVENTS = ['agent.updated', 'command.updated', 'ritual.completed', 'alert.raised', 'ucf.phase_changed'] as const
export type OutboundEvent = (typeof OUTBOUND_EVENTS)[number]
export const OutboundEventName = literals(OUTBOUND_EVENTS)
export const SubscriptionCreate = Type.Object({
  target_url: Type.String({ minLength: 8, maxLength: 2000 }),
  event: OutboundEventName
}, { additionalProperties: false })
export const SubscriptionCreated = Type.Object({ id: Type.String(), secret: Type.String({ description: 'The whsec_ key signing this subscription\'s deliveries' }) })
export const TriggerParams = Type.Object({ event: OutboundEventName })
export const Me = Type.Object({ id: Type.String(), name: Type.String(), subscriptions: Type.Integer() })

/** What a target receives, and what a trigger's sample lists. */
export const DeliveryPayload = Type.Object({ id: Type.String(), event: Type.String(), ts: Type.Integer(), data: Type.Unknown() })
export type DeliveryPayload = Static<typeof DeliveryPayload>

export const DELIVERY_STATUSES = ['pending', 'sending', 'delivered', 'failed'] as const
export const DeliveryStatus = literals(DELIVERY_STATUSES)
export const Delivery = Type.Object({
  id: Type.String(),
  subscriptionId: Type.String(),
  event: Type.String(),
  status: DeliveryStatus,
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(DateTime),
  lastStatus: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  createdAt: DateTime,
  finishedAt: Nullable(DateTime)
})
export const DeliveryQuery = Type.Object({ status: Type.Optional(DeliveryStatus), cursor: Cursor, limit: Limit }, { additionalProperties: false })
export const Attempt = Type.Object({ attempt: Type.Integer(), at: DateTime, statusCode: Nullable(Type.Integer()), error: Nullable(Type.String()), durationMs: Type.Integer() })
export const DeliveryDetail = Type.Intersect([Delivery, Type.Object({ attempts_log: Type.Array(Attempt) })])
