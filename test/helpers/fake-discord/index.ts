// A fake Discord on loopback for the real discord.js client: REST (`rest: { api: fake.restUrl }`) and
// the gateway it finds through `/gateway/bot`, one guild with test users, interactions on demand, and
// a record of every REST call and gateway session for the bot's tests and benchmark.
import { EventEmitter } from 'node:events'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { APIApplicationCommand, APIMessage, APIUser } from 'discord.js'
import { createCommandRegistry } from './commands.js'
import { createGateway, GATEWAY_PATH, type GatewaySession } from './gateway.js'
import { createGuild, user, type FakeGuild } from './guild.js'
import { snowflakes } from './ids.js'
import { createInteractions, type AutocompleteInput, type InteractionInput, type InteractionState } from './interactions.js'
import { createMessageStore } from './messages.js'
import { API_BASE, createRest, matchesRoute, type FailureOptions, type RecordedCall } from './rest.js'
import { botRoutes } from './routes.js'

export type { AutocompleteInput, GatewaySession, InteractionInput, RecordedCall }
export type { FakeGuild } from './guild.js'
export type { UploadedFile } from './messages.js'
export { renderMessageHtml } from './render.js'

export interface FakeDiscordOptions {
  /** The bot token the fake accepts (default: a made-up one). */
  token?: string
  /** The heartbeat interval in Hello (Discord's is 41.25 s; shorter makes heartbeats happen in a test). */
  heartbeatIntervalMs?: number
  /** How long an interaction waits for its callback before Discord forgets it (Discord: 3 s). */
  ackDeadlineMs?: number
}

/** A call by route (`PATCH /webhooks/:app/:token/messages/@original`) or by predicate. */
export type CallMatch = string | ((call: RecordedCall) => boolean)

/** An interaction the fake sent: what it was, and waits for the bot's answers to it. */
export interface SentInteraction {
  id: string
  token: string
  /** When the fake dispatched it (`Date.now()`), to time the bot's first answer against `call.at`. */
  sentAt: number
  /** The INTERACTION_CREATE data as sent. */
  payload: unknown
  /** The bot's callback (reply, deferral, autocomplete choices) once accepted. */
  response(timeoutMs?: number): Promise<RecordedCall>
  /** The first accepted edit of the original reply matching `accept` (default: any; match a later one by its body). */
  edit(accept?: (body: any) => boolean, timeoutMs?: number): Promise<RecordedCall>
  /** The first accepted follow-up message matching `accept` (default: any). */
  followUp(accept?: (body: any) => boolean, timeoutMs?: number): Promise<RecordedCall>
  /** The original reply as it stands now (after edits); undefined before the bot answered. */
  reply(): APIMessage | undefined
}

export interface FakeDiscord {
  /** The REST base for discord.js's `rest.api` (and `DISCORD_API_URL`); discord.js appends `/v10`. */
  restUrl: string
  gatewayUrl: string
  token: string
  applicationId: string
  botUser: APIUser
  guild: FakeGuild
  /** Every REST call so far, in arrival order, failed ones included. */
  calls: RecordedCall[]
  /** Every gateway session so far, ended ones included. */
  sessions: GatewaySession[]
  /** The sessions a connection holds now: one per logged-in bot. */
  openSessions(): GatewaySession[]
  /** Calls matching a route or predicate. */
  callsTo(match: CallMatch): RecordedCall[]
  /** The first call matching (one already made counts), or a rejection after `timeoutMs`. */
  waitForCall(match: CallMatch, timeoutMs?: number): Promise<RecordedCall>
  /** The first session matching (one already there counts), or a rejection after `timeoutMs`. */
  waitForSession(match: (session: GatewaySession) => boolean, timeoutMs?: number): Promise<GatewaySession>
  /** A channel's messages that still exist, oldest first (posts, replies, follow-ups). */
  messages(channelId: string): APIMessage[]
  /** Registered commands: global, or a guild's. */
  commands(guildId?: string): APIApplicationCommand[]
  /** Sends a chat-input command interaction to every open session; throws when no bot is logged in. */
  sendInteraction(input: InteractionInput): SentInteraction
  /** Sends an autocomplete interaction for the focused option. */
  sendAutocomplete(input: AutocompleteInput): SentInteraction
  /** Sends any dispatch event (`MESSAGE_CREATE`, `GUILD_MEMBER_UPDATE`...); the number of open sessions reached. */
  dispatch(event: string, data: unknown): number
  /** Asks every open session to reconnect and resume (op 7). */
  requestReconnect(): void
  /**
   * The next matching REST calls answer `status` (429 with Discord's rate-limit headers, or 500...):
   * `failNext('POST /channels/:id/messages', 429, { retryAfter: 0.3 })`.
   */
  failNext(route: string, status: number, options?: FailureOptions): void
  /** Stops the servers and drops every connection; destroy clients first, or they keep reconnecting. */
  close(): Promise<void>
}

const DEFAULT_TIMEOUT_MS = 5000

function describe(call: RecordedCall): string {
  return `${call.method} ${call.path} -> ${call.status}`
}

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const nextId = snowflakes()
  const applicationId = nextId()
  const token = options.token ?? `${Buffer.from(applicationId).toString('base64url')}.fake.${nextId()}`
  const botUser = user(applicationId, 'Helix', true)
  const guild = createGuild(nextId, botUser)
  const messages = createMessageStore(nextId)
  const commands = createCommandRegistry(nextId, applicationId)
  const interactions = createInteractions({
    nextId, guild, botUser, applicationId, messages, commands, ackDeadlineMs: options.ackDeadlineMs ?? 3000
  })
  const changes = new EventEmitter().setMaxListeners(0)
  const calls: RecordedCall[] = []

  const server = http.createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  const gatewayUrl = `ws://127.0.0.1:${port}${GATEWAY_PATH}`

  const gateway = createGateway({
    token, url: gatewayUrl, guild, botUser, applicationId,
    heartbeatIntervalMs: options.heartbeatIntervalMs ?? 41_250,
    onChange: () => changes.emit('change')
  })
  const rest = createRest({
    token,
    routes: [...botRoutes({ guild, botUser, applicationId, gatewayUrl, messages, commands, identifies: gateway.identifies }), ...interactions.routes],
    onCall(call) {
      calls.push({ index: calls.length, ...call })
      changes.emit('change')
    }
  })
  server.on('request', (req, res) => void rest.handle(req, res))
  server.on('upgrade', (req, socket, head) => {
    if (!gateway.upgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\n\r\n')
  })

  const matches = (match: CallMatch) => (call: RecordedCall) => typeof match === 'string' ? matchesRoute(match, call.method, call.path) : match(call)

  /** A predicate that throws (`body.embeds[0]` on a body without embeds) counts as no match, and is reported. */
  function tolerant<A>(predicate: (value: A) => boolean) {
    const state = { thrown: null as Error | null }
    const test = (value: A) => {
      try {
        return predicate(value)
      } catch (err) {
        state.thrown = err as Error
        return false
      }
    }
    return { test, note: () => (state.thrown ? ` (the predicate threw: ${state.thrown.message})` : '') }
  }

  /** Resolves with the first value `find` returns, re-checked whenever a call or session changes. */
  function until<T>(find: () => T | undefined, what: () => string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = find()
        if (found === undefined) return
        done()
        resolve(found)
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`fake-discord: timed out after ${timeoutMs} ms waiting for ${what()}`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        changes.off('change', check)
      }
      changes.on('change', check)
      check()
    })
  }

  function waitForCall(match: CallMatch, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RecordedCall> {
    const accept = tolerant(matches(match))
    // Calls are only appended: each check looks at the new ones alone.
    let seen = 0
    const find = () => {
      for (; seen < calls.length; seen++) if (accept.test(calls[seen])) return calls[seen]
    }
    const what = () => `a call ${typeof match === 'string' ? match : 'matching'}${accept.note()}; calls so far: ${calls.map(describe).join(', ') || 'none'}`
    return until(find, what, timeoutMs)
  }

  function waitForSession(match: (session: GatewaySession) => boolean, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<GatewaySession> {
    const accept = tolerant(match)
    const what = () => `a matching gateway session${accept.note()}; sessions: ${gateway.sessions.map((s) => s.status).join(', ') || 'none'}`
    return until(() => gateway.sessions.find(accept.test), what, timeoutMs)
  }

  function sent({ payload, state }: { payload: unknown; state: InteractionState }): SentInteraction {
    if (gateway.dispatch('INTERACTION_CREATE', payload) === 0) throw new Error('fake-discord: no gateway session is open to send the interaction to')
    const accepted = (method: string, suffix: string, accept: (body: any) => boolean = () => true) => (call: RecordedCall) =>
      call.method === method && call.status < 300 && call.path.includes(`/${state.token}`) && call.path.endsWith(suffix) && accept(call.body)
    return {
      id: state.id,
      token: state.token,
      sentAt: state.sentAt,
      payload,
      response: (timeoutMs) => waitForCall(accepted('POST', '/callback'), timeoutMs),
      edit: (accept, timeoutMs) => waitForCall(accepted('PATCH', '/messages/@original', accept), timeoutMs),
      followUp: (accept, timeoutMs) => waitForCall(accepted('POST', `/${state.token}`, accept), timeoutMs),
      reply: () => (state.originalId ? messages.get(state.originalId) : undefined)
    }
  }

  return {
    restUrl: `http://127.0.0.1:${port}${API_BASE}`,
    gatewayUrl,
    token,
    applicationId,
    botUser,
    guild,
    calls,
    sessions: gateway.sessions,
    openSessions: () => gateway.sessions.filter((s) => s.status === 'open'),
    callsTo: (match) => calls.filter(matches(match)),
    waitForCall,
    waitForSession,
    messages: (channelId) => messages.inChannel(channelId),
    commands: (guildId) => commands.list(guildId),
    sendInteraction: (input) => sent(interactions.command(input)),
    sendAutocomplete: (input) => sent(interactions.autocomplete(input)),
    dispatch: (event, data) => gateway.dispatch(event, data),
    requestReconnect: () => gateway.reconnect(),
    failNext: (route, status, failure) => rest.failNext(route, status, failure),
    async close() {
      gateway.close()
      if (!server.listening) return
      const closed = new Promise((resolve) => server.close(resolve))
      server.closeAllConnections()
      await closed
    }
  }
}
