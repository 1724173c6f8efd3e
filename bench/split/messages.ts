// What the orchestrating script and its load processes say to each other over IPC.

/** One steady-rate HTTP load: `rate` requests per second of the given kind, each through `url`. */
export interface HttpLoadSpec {
  kind: 'api' | 'dashboard' | 'zapier' | 'voice'
  url: string
  token: string
  rate: number
  /** zapier: the webhook signing key (base64). */
  webhookKey?: string
  /** api: the agent to command. */
  agentId?: string
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
  /** Stops sending, waits for the answers in flight, and (ws) for the subscribers to catch up. */
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
  /** Ids the server accepted (command ids, webhook event ids), for the lost-work checks. */
  accepted: string[]
  /** Requests not sent because `MAX_IN_FLIGHT` were outstanding (the server fell behind the rate). */
  skipped: number
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
