// The live event feed with category filters. A command or a ritual is one row updated in place as
// its events arrive; every other event is its own row. Rows are capped and inserted once per frame.
// The feed starts from the bus history, so an event can arrive twice (history, then live): each is
// shown once, by channel and id.
import { clock, el, perFrame } from './dom.js'
import { icon } from './icons.js'
import type { StreamEvent } from '../../../core/clients/stream-client.js'

export const CATEGORIES = [
  { key: 'commands', label: 'Commands' },
  { key: 'rituals', label: 'Rituals' },
  { key: 'alerts', label: 'Alerts' },
  { key: 'zapier', label: 'Zapier' },
  { key: 'voice', label: 'Voice' },
  { key: 'system', label: 'System' }
] as const

export type Category = (typeof CATEGORIES)[number]['key']

/** The channels whose events the feed shows (one per category). */
export const FEED_CHANNELS: readonly Category[] = CATEGORIES.map((c) => c.key)

const MAX_ROWS = 200
/** Ids remembered to drop repeats: far more than a history load and a reconnect's replay can overlap. */
const MAX_SEEN = 2000

function categoryOf(event: StreamEvent<any>): Category | null {
  switch (event.channel) {
    case 'commands': return 'commands'
    case 'rituals': return 'rituals'
    case 'alerts': return 'alerts'
    case 'zapier': return 'zapier'
    case 'voice': return 'voice'
    case 'system': return 'system'
    default: return null
  }
}

interface Line {
  /** Rows with the same key are one thing (a command, a ritual) and update in place. */
  key?: string
  title: string
  detail: string
  tone: 'ok' | 'warn' | 'bad' | 'info'
  progress?: number
}

function short(value: unknown): string {
  if (value === undefined || value === null) return ''
  const text = typeof value === 'string' ? value : JSON.stringify(value)
  return text.length > 140 ? `${text.slice(0, 139)}…` : text
}

function describe(event: StreamEvent<any>, agentName: (id: string) => string | undefined): Line {
  const d = event.data ?? {}
  switch (event.type) {
    case 'command.updated': {
      const tone = d.status === 'succeeded' ? 'ok' : d.status === 'failed' || d.status === 'timed_out' ? 'bad' : d.status === 'cancelled' ? 'warn' : 'info'
      const who = agentName(d.agentId) ?? d.agentSlug ?? 'agent'
      return { key: `command:${d.id}`, title: `${d.command} → ${who}`, detail: [d.status, short(d.error ?? d.result?.summary ?? d.result?.text ?? d.result)].filter(Boolean).join(' · '), tone }
    }
    case 'ritual.progress': {
      const steps = Number(d.steps ?? d.total ?? 0)
      const step = Number(d.step ?? d.completed ?? 0)
      return {
        key: `ritual:${d.ritualId ?? d.id}`,
        title: `Ritual ${d.name ?? d.ritual ?? 'Z-88'}`,
        detail: steps ? `step ${step} of ${steps}` : 'in progress',
        tone: 'info',
        progress: steps ? step / steps : undefined
      }
    }
    case 'ritual.completed': {
      const deltas = d.deltas && typeof d.deltas === 'object'
        ? Object.entries(d.deltas as Record<string, number>).filter(([, v]) => v).map(([k, v]) => `${k} ${v > 0 ? '+' : ''}${Number(v).toFixed(3)}`).join(', ')
        : ''
      return { key: `ritual:${d.ritualId ?? d.id}`, title: `Ritual ${d.name ?? d.ritual ?? 'Z-88'} completed`, detail: deltas || 'done', tone: 'ok', progress: 1 }
    }
    case 'alert.raised':
      return { title: `Alert · ${d.severity ?? 'raised'}`, detail: short(d.message ?? d.key), tone: 'bad' }
    case 'alert.resolved':
      return { title: 'Alert resolved', detail: short(d.message ?? d.key), tone: 'ok' }
    case 'voice.degraded':
      return { title: 'Voice degraded', detail: short(d.reason ?? d.message ?? d.provider), tone: 'warn' }
    case 'zapier.failed':
      return { title: `Zapier ${d.type ?? d.source ?? 'event'} failed`, detail: short(d.error ?? d.eventId), tone: 'bad' }
    case 'system.owner_changed':
      return { title: `${d.plugin ?? 'plugin'} now owned by ${d.owner ?? '?'}`, detail: '', tone: 'warn' }
    case 'ownership.no_owner':
      return { title: `${d.plugin ?? 'A plugin'} has no ready owner`, detail: short(d.message ?? d.flag), tone: 'bad' }
    default:
      return {
        title: event.type.replace('.', ' · '),
        detail: short(d.transcript ?? d.text ?? d.message ?? d.summary ?? d.type ?? d.source ?? (Object.keys(d).length ? d : '')),
        tone: 'info'
      }
  }
}

export class EventFeed {
  private readonly hidden = new Set<Category>()
  private readonly keyed = new Map<string, HTMLElement>()
  /** Insertion-ordered, so the oldest id is the one forgotten. */
  private readonly seen = new Set<string>()
  private pending: HTMLElement[] = []
  private readonly flush = perFrame(() => this.insert())

  constructor(private readonly list: HTMLElement, filters: HTMLElement, private readonly agentName: (id: string) => string | undefined) {
    filters.replaceChildren(...CATEGORIES.map((c) => {
      const box = el('input', { type: 'checkbox', id: `filter-${c.key}`, 'data-filter': c.key })
      box.checked = true
      box.addEventListener('change', () => {
        if (box.checked) this.hidden.delete(c.key)
        else this.hidden.add(c.key)
        this.list.dataset.hidden = [...this.hidden].join(' ')
      })
      return el('label', { class: `chip chip-${c.key}`, for: `filter-${c.key}` }, box, icon(c.key), ` ${c.label}`)
    }))
  }

  add(event: StreamEvent<any>): void {
    const category = categoryOf(event)
    if (!category || this.repeated(event)) return
    const line = describe(event, this.agentName)
    const row = (line.key && this.keyed.get(line.key)) || el('li', { class: 'feed-row' })
    row.className = `feed-row tone-${line.tone}`
    row.dataset.category = category
    row.dataset.type = event.type
    row.dataset.eventId = `${event.channel}:${event.id}`
    const parts: (Node | string)[] = [
      el('span', { class: 'feed-icon', 'aria-hidden': 'true' }, icon(category)),
      el('span', { class: 'feed-main' },
        el('span', { class: 'feed-title' }, line.title),
        el('span', { class: 'feed-detail' }, line.detail)),
      el('time', { class: 'feed-time', datetime: new Date(event.ts).toISOString() }, clock(event.ts))
    ]
    if (line.progress !== undefined) {
      const bar = el('span', { class: 'feed-progress', role: 'presentation' })
      bar.style.setProperty('--p', String(Math.max(0, Math.min(1, line.progress))))
      parts.push(bar)
    }
    row.replaceChildren(...parts)
    if (line.key && !this.keyed.has(line.key)) {
      this.keyed.set(line.key, row)
      row.dataset.key = line.key
    }
    if (!row.isConnected && !this.pending.includes(row)) {
      this.pending.push(row)
      // A hidden tab gets no animation frames: keep only what could be shown once it is visible.
      if (this.pending.length > MAX_ROWS) this.forget(this.pending.shift()!)
      this.flush()
    }
  }

  private repeated(event: StreamEvent<unknown>): boolean {
    const id = `${event.channel}:${event.id}`
    if (this.seen.has(id)) return true
    this.seen.add(id)
    if (this.seen.size > MAX_SEEN) this.seen.delete(this.seen.values().next().value!)
    return false
  }

  private insert(): void {
    if (this.pending.length === 0) return
    this.list.prepend(...this.pending.reverse())
    this.pending = []
    while (this.list.childElementCount > MAX_ROWS) {
      const last = this.list.lastElementChild as HTMLElement
      this.forget(last)
      last.remove()
    }
  }

  private forget(row: HTMLElement): void {
    if (row.dataset.key) this.keyed.delete(row.dataset.key)
  }
}
