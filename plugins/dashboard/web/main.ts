// The dashboard's entry: reads the token (URL once, then the session), checks it, loads the
// snapshot over REST (the feed from the bus history, the charts from the UCF history) and keeps it
// live over the stream URL that discovery names.
import './styles.css'
import { Api, ApiError, tokenClaims, type Discovery } from './api.js'
import { MetricCharts } from './charts.js'
import { Controls } from './controls.js'
import { byId } from './dom.js'
import { EventFeed, FEED_CHANNELS } from './feed.js'
import { GaugePanel } from './gauges.js'
import { Roster, type Agent } from './roster.js'
import { StreamClient, type StreamEvent, type StreamPosition, type StreamState } from '../../../core/clients/stream-client.js'
import { readHistory, readState, type UcfSample, type UcfState } from './ucf.js'
import { VoicePanel } from './voice.js'

const TOKEN_KEY = 'helix.token'
const CHANNELS = ['ucf', 'agents', 'commands', 'rituals', 'alerts', 'voice', 'zapier', 'system']
const AGENT_PAGE = 100
const HOUR_MS = 3_600_000
const HISTORY_PAGE = 1000
/** The chart keeps one point per second, so more than an hour's worth of pages adds nothing. */
const HISTORY_PAGES = 4
/** Events the feed starts with. */
const FEED_HISTORY = 50
/** Events on these channels refresh the flags card. */
const OWNERSHIP_EVENTS = new Set(['system.flags', 'system.owner_changed', 'ownership.no_owner'])

/** A token in the address bar is taken once and removed, so it is not bookmarked or shared. */
function takeToken(): string | null {
  const url = new URL(location.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl)
    url.searchParams.delete('token')
    history.replaceState(history.state, '', `${url.pathname}${url.search}${url.hash}`)
  }
  return sessionStorage.getItem(TOKEN_KEY)
}

function showLogin(message?: string): void {
  byId('main').hidden = true
  byId('sign-out').hidden = true
  byId('login').hidden = false
  const error = byId('login-error')
  error.hidden = !message
  error.textContent = message ?? ''
  setConnection('signed-out')
  byId('login-token').focus()
}

function setConnection(state: StreamState | 'signed-out', attempt = 0): void {
  const node = byId('connection')
  node.dataset.state = state
  node.textContent =
    state === 'open' ? 'Live'
      : state === 'connecting' ? 'Connecting…'
        : state === 'reconnecting' ? `Reconnecting${attempt > 1 ? ` (attempt ${attempt})` : ''}…`
          : 'Offline'
}

function agentFrom(data: any): Agent | null {
  const agent = data?.slug ? data : data?.agent
  return agent?.id ? (agent as Agent) : null
}

async function loadAgents(api: Api): Promise<Agent[]> {
  const agents: Agent[] = []
  let cursor: string | null = null
  do {
    const query: string = cursor ? `?limit=${AGENT_PAGE}&cursor=${encodeURIComponent(cursor)}` : `?limit=${AGENT_PAGE}`
    const page: { items: Agent[]; nextCursor: string | null } = await api.get(`/api/agents${query}`)
    agents.push(...page.items)
    cursor = page.nextCursor
  } while (cursor && agents.length < 1000)
  return agents
}

/** The last hour of UCF changes, oldest first, in bounded pages. */
async function loadHistory(api: Api): Promise<UcfSample[]> {
  const samples: UcfSample[] = []
  let query = `since=${encodeURIComponent(new Date(Date.now() - HOUR_MS).toISOString())}&limit=${HISTORY_PAGE}`
  for (let page = 0; page < HISTORY_PAGES; page++) {
    const body: { items: unknown[]; nextCursor: string | null } = await api.get(`/api/ucf/history?${query}`)
    samples.push(...readHistory(body))
    if (!body.nextCursor) break
    query = `cursor=${encodeURIComponent(body.nextCursor)}&limit=${HISTORY_PAGE}`
  }
  return samples
}

/**
 * The feed's recent events, oldest first, and where each channel's live feed should resume so
 * nothing published between this read and the subscribe is missed. An empty start when the history
 * cannot be read: the live feed still works.
 */
async function loadFeedHistory(api: Api): Promise<{ events: StreamEvent<unknown>[]; positions: Record<string, StreamPosition> }> {
  try {
    const body = await api.get<{ events: StreamEvent<unknown>[] }>(`/api/stream/recent?channels=${FEED_CHANNELS.join(',')}&limit=${FEED_HISTORY}`)
    const positions: Record<string, StreamPosition> = {}
    for (const e of body.events) positions[e.channel] = { id: e.id, epoch: e.epoch }
    return { events: body.events, positions }
  } catch {
    return { events: [], positions: {} }
  }
}

async function open(token: string): Promise<void> {
  const claims = tokenClaims(token)
  if (!claims) {
    showLogin('That is not a Helix access token. Paste the whole token (it starts with eyJ).')
    return
  }
  const api = new Api(() => token)
  let state: UcfState | null
  let discovery: Discovery
  try {
    ;[state, discovery] = await Promise.all([api.get('/api/ucf').then(readState), api.discovery()])
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY)
      showLogin(err.code === 'token_expired'
        ? 'Your token has expired. Paste a fresh one to continue.'
        : 'Helix rejected this token: it is not valid for this server. Paste a valid token to continue.')
    } else if (err instanceof ApiError && err.status === 403) {
      showLogin('This token cannot read the collective (it needs the agents:read scope).')
    } else {
      showLogin(`Helix could not be reached: ${(err as Error).message}. Is the server running?`)
    }
    return
  }

  byId('login').hidden = true
  byId('main').hidden = false
  byId('sign-out').hidden = false
  byId('deployment').textContent = `${claims.sub ?? 'signed in'} · v${discovery.version} · ${discovery.role}`

  const gauges = new GaugePanel(byId('gauges'), byId('summary'))
  const charts = new MetricCharts(byId('charts'))
  const controls = new Controls(api, claims.scopes)
  const roster = new Roster(byId('roster'), byId('agent-count'), (a) => controls.pick(a))
  const feed = new EventFeed(byId('feed'), byId('filters'), (id) => roster.agents.get(id)?.name)
  const feedHistory = loadFeedHistory(api)
  const voice = new VoicePanel(api, claims.scopes)
  roster.onChange((agents) => {
    controls.setAgents(agents)
    voice.setAgents(agents)
  })

  let current: UcfState | null = null
  function applyState(next: UcfState | null): void {
    if (!next || (current && Date.parse(next.updatedAt) < Date.parse(current.updatedAt))) return
    if (!current) performance.mark('helix:first-value')
    current = next
    gauges.render(next)
    charts.add({ t: Date.parse(next.updatedAt) / 1000, metrics: next.metrics })
  }
  applyState(state)

  const reloadAgents = () => loadAgents(api).then((agents) => {
    byId('roster-error').hidden = true
    roster.replaceAll(agents)
  }, (err: Error) => {
    byId('roster-error').hidden = false
    byId('roster-error').textContent = `Agents could not be loaded: ${err.message}`
  })
  void reloadAgents()
  void loadHistory(api).then((samples) => charts.seed(samples), () => undefined)

  const recent = await feedHistory
  for (const event of recent.events) feed.add(event)
  const stream = new StreamClient({
    // Same origin: the client reads discovery there before every connect and follows 1012 hints.
    url: location.origin,
    token,
    channels: CHANNELS,
    positions: recent.positions,
    onState(state, detail) {
      if (state === 'open' && performance.getEntriesByName('helix:live').length === 0) performance.mark('helix:live')
      if (state === 'closed' && detail.code === 4001) showLogin('Your token has expired. Paste a fresh one to continue.')
      else setConnection(state, detail.attempt)
    },
    onSubscribed(info) {
      if (!info.resumed || info.recovered) return
      if (info.channel === 'ucf') void api.get('/api/ucf').then((s) => applyState(readState(s)), () => undefined)
      else if (info.channel === 'agents') void reloadAgents()
    },
    onEvent(event: StreamEvent<any>) {
      switch (event.type) {
        case 'ucf.updated':
        case 'ucf.heartbeat':
          applyState(readState(event.data))
          return
        case 'agent.created':
        case 'agent.updated': {
          const agent = agentFrom(event.data)
          if (agent) roster.upsert(agent)
          return
        }
        case 'agent.deleted':
          roster.remove(event.data?.id ?? event.data?.agent?.id)
          return
      }
      if (OWNERSHIP_EVENTS.has(event.type)) controls.refreshFlags()
      feed.add(event)
    }
  })
  stream.connect()

  byId('sign-out').onclick = () => {
    stream.close()
    sessionStorage.removeItem(TOKEN_KEY)
    location.replace(location.pathname)
  }
}

function boot(): void {
  byId('login-form').addEventListener('submit', (e) => {
    e.preventDefault()
    const token = byId<HTMLInputElement>('login-token').value.trim()
    if (!token) return
    sessionStorage.setItem(TOKEN_KEY, token)
    location.reload()
  })
  const token = takeToken()
  if (token) void open(token)
  else showLogin()
}

boot()
