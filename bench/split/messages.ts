// What the orchestrating script and its load processes say to each other over IPC.

/**
 * One steady-rate HTTP load: `rate` requests per second of the given kind, each through `url`.
 * `discord`: signed `discord_notification` webhooks, each a numbered post (`bench post #<n> <runId>`).
 */
export interface HttpLoadSpec {
  kind: 'api' | 'dashboard' | 'zapier' | 'voice' | 'discord'
  url: string
  token: string
  rate: number
  /** zapier, discord: the webhook signing key (base64). */
  webhookKey?: string
  /** api: the agent to command. */
  agentId?: string
  /** discord: the channel each post names, and the run id that tells this run's posts apart. */
  channelId?: string
  runId?: string
  /**
   * Follow the owner of this plugin as a client reading discovery would: `url` is the owner's URL at the
   * start, re-read from the monolith's `/.well-known/helix.json` every few seconds and at once when a
   * former owner answers `503 not_owner` naming the new one (the request is then sent there again).
   */
  follow?: { plugin: string; discoveryUrl: string }
}

/** WebSocket subscribers and a publisher of numbered events through the monolith. */
export interface WsLoadSpec {
  kind: 'ws'
  /** The monolith: events are published through it, and discovery is read from it. */
  url: string
  token: string
  clients: number
  /** Events published per second. */
  rate: number
  channel: string
  /** Where client i connects: `discover` (the stream URL from /.well-known/helix.json) or these ws:// URLs, round robin. */
  connect: 'discover' | string[]
}

export type LoadSpec = HttpLoadSpec | WsLoadSpec

export type ToLoad =
  | { op: 'start'; spec: LoadSpec }
  /** Starts the measured window: everything recorded so far is warm-up. */
  | { op: 'mark' }
  | { op: 'report' }
  /** Stops sending, waits for the answers in flight (each ends by its deadline), and (ws) for the subscribers to catch up. */
  | { op: 'stop' }

export interface LabelReport {
  label: string
  ok: number
  errors: number
  p50: number
  p99: number
  max: number
}

/** Per second of the run (`second`: Unix time in seconds, a clock every process shares): the p99 and count of each label, for the charts. */
export interface SecondReport { second: number; label: string; p99: number; count: number; errors: number }

export interface LoadReport {
  kind: LoadSpec['kind']
  seconds: number
  labels: LabelReport[]
  series: SecondReport[]
  /** Error answers by `label status code`. */
  reasons: Record<string, number>
  /** Ids the server accepted (command ids, webhook event ids; discord: the post numbers), for the lost-work checks. */
  accepted: string[]
  /** Requests not sent because `MAX_IN_FLIGHT` were outstanding (the server fell behind the rate). */
  skipped: number
  /** Requests a former owner answered `503 not_owner` (nothing done), sent again to the owner it named; not failed. */
  redirected: number
  ws?: WsReport
}

export interface WsReport {
  connected: number
  published: number
  deliveries: number
  /** Published events some subscriber never received (summed over subscribers). */
  missed: number
  reconnects: number
  refused: number
  otherCloses: number
  notRecovered: number
}

export type FromLoad = { op: 'started' } | { op: 'report'; report: LoadReport }

/** The label of the `discord` load's webhooks (apart from the other webhooks). */
export const DISCORD_LABEL = 'POST /api/zapier/hooks/:source (discord_notification)'

/** The text of Discord post `n` of a run; the load sends it, the lost-post check finds it in the channel. */
export const postText = (n: number, runId: string) => `bench post #${n} ${runId}`

/** The number of a post of this run found in an embed's text, or null for any other text. */
export function postNumber(text: string | undefined, runId: string): number | null {
  const m = /^bench post #(\d+) (\S+)$/.exec(text ?? '')
  return m && m[2] === runId ? Number(m[1]) : null
}
