// Who serves each dedicated plugin right now, read from the processes' own /metrics every POLL_MS:
// stream by the open WebSocket connections each process holds (helix_stream_connections); zapier and
// voice by the requests each answered (the service's route counter, and the monolith's minus what it
// proxied), so a flip is over when the old owner served nothing for a while.
import type { Dedicated, Deployment } from './deployment.js'
import { scrape, total, type Sample } from './prometheus.js'

const POLL_MS = 100
const ROUTES: Record<Exclude<Dedicated, 'stream'>, string> = { zapier: '/api/zapier/hooks/:source', voice: '/api/voice/synthesize' }

export interface Served { at: number; monolith: number; dedicated: number }

/** Per poll: what the monolith and the plugin's service served since the previous poll (stream: connections held). */
export class OwnerObserver {
  private readonly listeners = new Set<(plugin: Dedicated, s: Served) => void>()
  private previous: Map<string, Sample[]> | null = null
  private timer: NodeJS.Timeout | null = null

  constructor(private readonly deployment: Deployment) {}

  start(): void {
    const tick = async () => {
      const at = Date.now()
      const samples = new Map(await Promise.all(this.deployment.nodes.map(async (n) => [n.name, await scrape(n.url).catch(() => [])] as const)))
      if (this.previous) for (const plugin of ['stream', 'zapier', 'voice'] as const) this.emit(plugin, { at, ...this.served(plugin, samples, this.previous) })
      this.previous = samples
      this.timer = setTimeout(() => void tick(), POLL_MS)
    }
    void tick()
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer)
  }

  on(fn: (plugin: Dedicated, s: Served) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private emit(plugin: Dedicated, s: Served): void {
    for (const fn of this.listeners) fn(plugin, s)
  }

  private served(plugin: Dedicated, now: Map<string, Sample[]>, before: Map<string, Sample[]>): { monolith: number; dedicated: number } {
    const mono = now.get('all') ?? []
    const ded = now.get(plugin) ?? []
    if (plugin === 'stream') return { monolith: total(mono, 'helix_stream_connections'), dedicated: total(ded, 'helix_stream_connections') }
    const route = { route: ROUTES[plugin], status: /^2/ }
    const delta = (node: string, name: string, where: Record<string, string | RegExp>) => total(now.get(node) ?? [], name, where) - total(before.get(node) ?? [], name, where)
    const proxied = delta('all', 'helix_ownership_proxied_requests_total', { plugin, transport: 'http', outcome: 'proxied' })
    return {
      monolith: Math.max(0, delta('all', 'helix_http_request_duration_seconds_count', route) - proxied),
      dedicated: delta(plugin, 'helix_http_request_duration_seconds_count', route)
    }
  }
}
