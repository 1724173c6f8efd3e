// TypeBox schemas of the stream plugin: the REST routes and the WebSocket protocol (DESIGN section 8).
// Client frames are validated with the compiled ClientMessage; the REST ones feed OpenAPI.
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'

/** A base channel (`ucf`) or a sub-channel of one (`agents:kael`); the token's scope is checked per base. */
export const CHANNEL_PATTERN = '^[a-z]+(:[A-Za-z0-9_.-]{1,64})?$'
const ChannelName = Type.String({ pattern: CHANNEL_PATTERN, maxLength: 80 })
const StreamId = Type.String({ pattern: '^\\d{1,20}-\\d{1,20}$' })

export const Position = Type.Object({ id: StreamId, epoch: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false })

const Subscribe = Type.Object({
  op: Type.Literal('subscribe'),
  channels: Type.Array(ChannelName, { minItems: 1, maxItems: 128 }),
  since: Type.Optional(Type.Record(Type.String({ maxLength: 80 }), Position))
})
const Unsubscribe = Type.Object({
  op: Type.Literal('unsubscribe'),
  channels: Type.Array(ChannelName, { minItems: 1, maxItems: 128 })
})
const Publish = Type.Object({
  op: Type.Literal('publish'),
  channel: ChannelName,
  type: Type.String({ minLength: 1, maxLength: 100 }),
  data: Type.Optional(Type.Unknown()),
  ref: Type.Optional(Type.Union([Type.Integer(), Type.String({ maxLength: 64 })]))
})
const Ping = Type.Object({ op: Type.Literal('ping') })

export const ClientMessage = Type.Union([Subscribe, Unsubscribe, Publish, Ping])
export type ClientMessage = Static<typeof ClientMessage>
export type SubscribeMessage = Static<typeof Subscribe>
export type PublishMessage = Static<typeof Publish>
export const clientMessage = Compile(ClientMessage)

export const OPS = ['subscribe', 'unsubscribe', 'publish', 'ping'] as const

export const PublishBody = Type.Object({
  channel: ChannelName,
  type: Type.String({ minLength: 1, maxLength: 100 }),
  data: Type.Optional(Type.Unknown())
}, { additionalProperties: false })
export type PublishBody = Static<typeof PublishBody>

export const PublishedEvent = Type.Object({
  channel: Type.String(),
  id: Type.String(),
  epoch: Type.String(),
  type: Type.String(),
  ts: Type.Number(),
  source: Type.String(),
  data: Type.Unknown()
})

export const Stats = Type.Object({
  connections: Type.Integer(),
  subscriptions: Type.Record(Type.String(), Type.Integer()),
  eventsIn: Type.Integer({ description: 'Events received from the bus' }),
  eventsOut: Type.Integer({ description: 'Event frames written to sockets' }),
  bytesOut: Type.Integer(),
  dropped: Type.Object({
    slowConsumer: Type.Integer({ description: 'Sockets closed with 4008' }),
    heartbeat: Type.Integer({ description: 'Sockets terminated after a silent period' }),
    tokenExpired: Type.Integer({ description: 'Sockets closed with 4001' })
  })
})
export type Stats = Static<typeof Stats>

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { additionalProperties: true })

export const RECENT_LIMIT = { default: 50, max: 200 }
export const RecentQuery = Type.Object({
  channels: Type.String({ minLength: 1, maxLength: 200, description: 'Comma-separated base channels, e.g. `ucf,agents,alerts`' }),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: RECENT_LIMIT.max, default: RECENT_LIMIT.default, description: 'Most events returned, across all the channels' }))
}, { additionalProperties: false })
export type RecentQuery = Static<typeof RecentQuery>

export const RecentEvents = Type.Object({
  events: Type.Array(PublishedEvent, { description: 'The newest events of the channels\' history merged, oldest first; each as it was published' })
})
