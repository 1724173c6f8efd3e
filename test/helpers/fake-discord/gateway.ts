// The gateway side of the fake: Discord's WebSocket protocol in JSON without compression (what
// discord.js 14 asks for when zlib-sync is absent): Hello, Identify -> READY and GUILD_CREATE,
// heartbeats, Resume with replay, Reconnect, voice state updates and member requests; and the
// sessions it has opened, so a test can count the bot's logins.
import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { GatewayDispatchEvents, GatewayOpcodes, type APIUser } from 'discord.js'
import { WebSocket, WebSocketServer } from 'ws'
import { findMember, guildCreate, type FakeGuild } from './guild.js'

export const GATEWAY_PATH = '/gateway'

export interface GatewayPayload {
  op: number
  d: any
  s?: number | null
  t?: string | null
}

/**
 * `open` while a connection holds it; `resumable` after a connection dropped without a normal close
 * (a crash, a Reconnect); `closed` after a normal close (1000/1001), as Discord ends sessions.
 */
export type SessionStatus = 'open' | 'resumable' | 'closed'

export interface GatewaySession {
  id: string
  token: string
  intents: number
  status: SessionStatus
  /** The close code of its last connection; null while open. */
  closeCode: number | null
  identifiedAt: number
  resumes: number
  heartbeats: number
  /** What the client sent once identified, heartbeats aside: presence, voice state and member requests. */
  received: GatewayPayload[]
  /** The last sequence number sent to it. */
  seq: number
}

interface Dispatch {
  t: string
  s: number
  d: unknown
}

export interface GatewayOptions {
  token: string
  url: string
  guild: FakeGuild
  botUser: APIUser
  applicationId: string
  heartbeatIntervalMs: number
  /** Sessions changed state (identified, resumed, closed). */
  onChange(): void
}

/** Dispatches kept per session for a Resume to replay. */
const BACKLOG = 1000

export function createGateway(options: GatewayOptions) {
  const { token, guild, botUser } = options
  const wss = new WebSocketServer({ noServer: true })
  const sessions: GatewaySession[] = []
  const sockets = new Map<GatewaySession, WebSocket>()
  const backlogs = new Map<GatewaySession, Dispatch[]>()
  let identifies = 0

  function send(socket: WebSocket, payload: GatewayPayload): void {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(payload))
  }

  function dispatchTo(session: GatewaySession, t: string, d: unknown): void {
    const event = { t, s: ++session.seq, d }
    const backlog = backlogs.get(session)!
    backlog.push(event)
    if (backlog.length > BACKLOG) backlog.shift()
    const socket = sockets.get(session)
    if (socket) send(socket, { op: GatewayOpcodes.Dispatch, ...event })
  }

  /** Sends an event to every session that has not ended; a resumable one gets it on Resume. */
  function dispatch(t: string, d: unknown): number {
    for (const session of sessions) if (session.status !== 'closed') dispatchTo(session, t, d)
    return sessions.filter((s) => s.status === 'open').length
  }

  function identify(socket: WebSocket, d: any): GatewaySession | null {
    if (d?.token !== token) {
      socket.close(4004, 'Authentication failed.')
      return null
    }
    const [shardId, shardCount] = d.shard ?? [0, 1]
    if (shardId !== 0 || shardCount !== 1) {
      socket.close(4010, 'Invalid shard.')
      return null
    }
    identifies++
    const session: GatewaySession = {
      id: randomBytes(16).toString('hex'), token, intents: d.intents, status: 'open', closeCode: null,
      identifiedAt: Date.now(), resumes: 0, heartbeats: 0, received: [], seq: 0
    }
    sessions.push(session)
    sockets.set(session, socket)
    backlogs.set(session, [])
    dispatchTo(session, GatewayDispatchEvents.Ready, {
      v: 10,
      user: { ...botUser, verified: true, mfa_enabled: false },
      guilds: [{ id: guild.id, unavailable: true }],
      session_id: session.id,
      resume_gateway_url: options.url,
      shard: [0, 1],
      application: { id: options.applicationId, flags: 0 }
    })
    dispatchTo(session, GatewayDispatchEvents.GuildCreate, guildCreate(guild, botUser.id))
    options.onChange()
    return session
  }

  function resume(socket: WebSocket, d: any): GatewaySession | null {
    const session = sessions.find((s) => s.id === d?.session_id)
    if (!session || d.token !== token || session.status !== 'resumable') {
      send(socket, { op: GatewayOpcodes.InvalidSession, d: false })
      return null
    }
    session.status = 'open'
    session.closeCode = null
    session.resumes++
    sockets.set(session, socket)
    for (const event of backlogs.get(session)!) if (event.s > d.seq) send(socket, { op: GatewayOpcodes.Dispatch, ...event })
    dispatchTo(session, GatewayDispatchEvents.Resumed, {})
    options.onChange()
    return session
  }

  /** Op 4: the bot joins or leaves a voice channel; Discord answers with its new voice state. */
  function voiceStateUpdate(session: GatewaySession, d: any): void {
    guild.voiceStates = guild.voiceStates.filter((v) => v.user_id !== botUser.id)
    const state = {
      channel_id: d.channel_id ?? null, user_id: botUser.id, session_id: session.id, deaf: false, mute: false,
      self_deaf: Boolean(d.self_deaf), self_mute: Boolean(d.self_mute), self_video: false, suppress: false,
      request_to_speak_timestamp: null
    }
    if (state.channel_id) guild.voiceStates.push(state)
    dispatch(GatewayDispatchEvents.VoiceStateUpdate, { ...state, guild_id: guild.id, member: findMember(guild, botUser.id) })
  }

  /** Op 8: the members asked for, by id or username prefix, in one chunk. */
  function requestMembers(session: GatewaySession, d: any): void {
    const ids: string[] | null = d.user_ids === undefined ? null : [d.user_ids].flat()
    const query = String(d.query ?? '').toLowerCase()
    let members = guild.members.filter((m) => (ids ? ids.includes(m.user.id) : m.user.username.toLowerCase().startsWith(query)))
    if (d.limit) members = members.slice(0, d.limit)
    const notFound = ids?.filter((id) => !findMember(guild, id)) ?? []
    dispatchTo(session, GatewayDispatchEvents.GuildMembersChunk, {
      guild_id: guild.id, members, chunk_index: 0, chunk_count: 1, nonce: d.nonce, ...(notFound.length ? { not_found: notFound } : {})
    })
  }

  function accept(socket: WebSocket, req: IncomingMessage): void {
    const params = new URL(req.url ?? '/', 'ws://fake-discord').searchParams
    if (params.get('v') !== '10') return void socket.close(4012, 'Invalid API version.')
    if ((params.get('encoding') ?? 'json') !== 'json' || params.has('compress')) {
      return void socket.close(4002, 'fake-discord speaks encoding=json without compress.')
    }
    let session: GatewaySession | null = null
    send(socket, { op: GatewayOpcodes.Hello, d: { heartbeat_interval: options.heartbeatIntervalMs }, s: null, t: null })

    socket.on('message', (raw) => {
      let payload: GatewayPayload
      try {
        payload = JSON.parse(raw.toString())
      } catch {
        return socket.close(4002, 'Error while decoding payload.')
      }
      if (payload.op === GatewayOpcodes.Heartbeat) {
        send(socket, { op: GatewayOpcodes.HeartbeatAck, d: null })
        if (session) {
          session.heartbeats++
          options.onChange()
        }
        return
      }
      if (payload.op === GatewayOpcodes.Identify || payload.op === GatewayOpcodes.Resume) {
        if (session) return socket.close(4005, 'Already authenticated.')
        session = payload.op === GatewayOpcodes.Identify ? identify(socket, payload.d) : resume(socket, payload.d)
        return
      }
      if (!session) return socket.close(4003, 'Not authenticated.')
      switch (payload.op) {
        case GatewayOpcodes.PresenceUpdate:
          break
        case GatewayOpcodes.VoiceStateUpdate:
          voiceStateUpdate(session, payload.d)
          break
        case GatewayOpcodes.RequestGuildMembers:
          requestMembers(session, payload.d)
          break
        default:
          return socket.close(4001, 'Unknown opcode.')
      }
      session.received.push(payload)
      options.onChange()
    })

    socket.on('close', (code) => {
      if (!session || sockets.get(session) !== socket) return
      sockets.delete(session)
      session.status = code === 1000 || code === 1001 ? 'closed' : 'resumable'
      session.closeCode = code
      options.onChange()
    })
  }

  return {
    sessions,
    identifies: () => identifies,
    dispatch,

    /** Takes over an HTTP upgrade on the gateway path; false when the path is not the gateway's. */
    upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
      if (new URL(req.url ?? '/', 'ws://fake-discord').pathname !== GATEWAY_PATH) return false
      wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req))
      return true
    },

    /** Op 7 to every open session: Discord asking the client to reconnect and resume. */
    reconnect(): void {
      for (const socket of sockets.values()) send(socket, { op: GatewayOpcodes.Reconnect, d: null })
    },

    /** Drops every connection at once, as a crash of Discord's side would. */
    close(): void {
      for (const client of wss.clients) client.terminate()
      wss.close()
    }
  }
}

export type Gateway = ReturnType<typeof createGateway>
